"""Bench `chat`: the bundled Miso from a user's point of view, on the NumPy and PyTorch runtimes.

Cold start: wall time of `meow-chat "hi miso"` as a fresh process (interpreter, imports, model
load, one reply) on the default NumPy backend against `--backend torch`, alternated run by run.
Decode (ms per KV-cache step) and latency (p50/p95 of one reply per held-out report prompt at
meow-chat's default sampling) are measured in a fresh worker process per backend and round,
alternating backends round by round: in one process the two runtimes' idle thread pools
(OpenBLAS, OpenMP) spin against each other and slow both. `--baseline DIR` also times another
model directory on the NumPy runtime and prints the ratio of the p50s (how a new bundled Miso is
held to 1.5x the latency of the one it replaces). Needs meow-model[torch] for the torch side.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from common import percentile, report

from meow_chat import ChatSession, bundled_model_dir
from meow_model import NumpyModel, SamplingConfig, prompt_ids
from meow_rules import MISO


def _wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def _spread(values: list[float]) -> str:
    return f"min {min(values):.2f} / median {statistics.median(values):.2f} / max {max(values):.2f}"


def _decode_ms(session: ChatSession, prompt: str, steps: int) -> float:
    """Milliseconds per one-token KV-cache decode step after the prompt's prefill."""
    model, tokenizer = session.pretrained.model, session.pretrained.tokenizer
    ids = prompt_ids(tokenizer, prompt, model.config.max_seq_len, steps)
    cache = model.new_cache(1, len(ids) + steps)
    if isinstance(model, NumpyModel):
        model.decode(np.array([ids]), cache)
        token = np.array([[ids[-1]]])
        start = time.perf_counter()
        for _ in range(steps):
            model.decode(token, cache)
        return (time.perf_counter() - start) * 1000 / steps
    import torch

    with torch.inference_mode():
        model.decode(torch.tensor([ids]), cache)
        token = torch.tensor([[ids[-1]]])
        start = time.perf_counter()
        for _ in range(steps):
            model.decode(token, cache)
    return (time.perf_counter() - start) * 1000 / steps


def _worker(backend: str, model_dir: Path) -> dict:
    cmd = [sys.executable, str(Path(__file__).parent), "chat", "--worker", backend, str(model_dir)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _work(backend: str, model_dir: Path) -> int:
    """One worker: decode ms/token, then one reply per report prompt; JSON on stdout."""
    session = ChatSession.open(
        model_dir, SamplingConfig(seed=0), backend, "cpu"
    )  # meow-chat's defaults
    decode_ms = statistics.median(
        _decode_ms(session, "hi miso, are you hungry", 48) for _ in range(3)
    )
    replies = [session.reply(p.prompt) for p in MISO.eval_prompts]
    print(
        json.dumps(
            {
                "decode_ms": decode_ms,
                "latencies": [r[2] for r in replies],
                "tokens": [r[1] for r in replies],
            }
        )
    )
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench chat")
    parser.add_argument("--model", type=Path, help="model dir (default: the bundled Miso)")
    parser.add_argument("--repeat", type=int, default=7, help="cold starts per backend")
    parser.add_argument("--baseline", type=Path, help="a model dir to compare reply latency with")
    parser.add_argument("--rounds", type=int, default=3, help="worker processes per backend")
    parser.add_argument(
        "--worker", nargs=2, metavar=("BACKEND", "MODEL_DIR"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.worker:
        return _work(args.worker[0], Path(args.worker[1]))
    model_dir = args.model or bundled_model_dir()
    exe = shutil.which("meow-chat", path=str(Path(sys.executable).parent)) or "meow-chat"

    cold: dict[str, list[float]] = {"numpy": [], "torch": []}
    for _ in range(args.repeat):  # alternated, so the machine's noise hits both alike
        for backend in cold:
            cold[backend].append(_wall([exe, "--model", str(model_dir), "--backend", backend,
                                        "--seed", "0", "hi miso"]))  # fmt: skip
    cold_ratio = [t / n for n, t in zip(cold["numpy"], cold["torch"], strict=True)]

    runs: dict[str, list[dict]] = {"numpy": [], "torch": [], "baseline": []}
    for _ in range(args.rounds):
        for backend in ("numpy", "torch"):
            runs[backend].append(_worker(backend, model_dir))
        if args.baseline:
            runs["baseline"].append(_worker("numpy", args.baseline))
    latency = {b: [ms for r in runs[b] for ms in r["latencies"]] for b in ("numpy", "torch")}
    tokens = {b: [n for r in runs[b] for n in r["tokens"]] for b in ("numpy", "torch")}
    decode = {b: [r["decode_ms"] for r in runs[b]] for b in ("numpy", "torch")}
    base_latencies = [ms for r in runs["baseline"] for ms in r["latencies"]]
    size = (model_dir / "model.safetensors").stat().st_size
    results = {
        "cold_start_s": {b: statistics.median(v) for b, v in cold.items()},
        "cold_start_speedup_median": statistics.median(cold_ratio),
        "decode_ms_per_token": {b: statistics.median(v) for b, v in decode.items()},
        "decode_ratio_numpy_over_torch": statistics.median(decode["numpy"]) / statistics.median(decode["torch"]),
        "latency_ms_p50": {b: percentile(v, 50) for b, v in latency.items()},
        "latency_ms_p95": {b: percentile(v, 95) for b, v in latency.items()},
        "mean_reply_tokens": {b: statistics.mean(v) for b, v in tokens.items()},
        "weights_bytes": size,
    }  # fmt: skip
    rows = [
        ('meow-chat "hi miso", numpy (s)', f"{_spread(cold['numpy'])}  over {args.repeat} fresh processes"),
        ('meow-chat "hi miso", torch (s)', _spread(cold["torch"])),
        ("cold start, torch / numpy", f"{_spread(cold_ratio)}x"),
        ("decode ms/token numpy / torch", f"{results['decode_ms_per_token']['numpy']:.2f} / "
         f"{results['decode_ms_per_token']['torch']:.2f}  ({results['decode_ratio_numpy_over_torch']:.2f}x)"),
        ("reply p50 / p95 numpy (ms)", f"{results['latency_ms_p50']['numpy']:.0f} / {results['latency_ms_p95']['numpy']:.0f}"
         f"  over {len(MISO.eval_prompts)} report prompts x {args.rounds} worker processes"),
        ("reply p50 / p95 torch (ms)", f"{results['latency_ms_p50']['torch']:.0f} / {results['latency_ms_p95']['torch']:.0f}"),
        ("bundled weights", f"{size / 1e6:.2f} MB"),
    ]  # fmt: skip
    if base_latencies:
        results["baseline"] = str(args.baseline)
        results["baseline_latency_ms_p50"] = percentile(base_latencies, 50)
        results["latency_p50_ratio"] = (
            results["latency_ms_p50"]["numpy"] / results["baseline_latency_ms_p50"]
        )
        rows.append((f"p50 vs {args.baseline.name} (numpy)",
                     f"{results['latency_ms_p50']['numpy']:.0f} vs {results['baseline_latency_ms_p50']:.0f} ms: "
                     f"{results['latency_p50_ratio']:.2f}x"))  # fmt: skip
    print(f"bench chat: {model_dir}")
    report("chat", rows, results)
    return 0
