"""Bench `chat`: the bundled Miso from a user's point of view.

Cold start: wall time of `meow-chat "hi miso"` as a fresh process (interpreter, imports, model
load, one reply), against `python -c "import torch"` in the same run. Latency: p50/p95 of one
reply per held-out prompt, in-process, at meow-chat's default sampling. `--baseline DIR` times
another model directory on the same prompts, alternating prompt by prompt, and prints the ratio
of the two p50s (how the bundled Miso was held to 1.5x the latency of the one it replaced).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import percentile, report

from meow_chat import ChatSession, bundled_model_dir
from meow_model import SamplingConfig
from meow_rules import MISO


def _wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench chat")
    parser.add_argument(
        "--model", type=Path, default=None, help="model dir (default: the bundled Miso)"
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline", type=Path, help="a model dir to compare reply latency with")
    args = parser.parse_args(argv)
    model_dir = args.model or bundled_model_dir()
    exe = shutil.which("meow-chat", path=str(Path(sys.executable).parent)) or "meow-chat"

    torch_s, chat_s = [], []
    for _ in range(args.repeat):  # interleaved, so noise hits both alike
        torch_s.append(_wall([sys.executable, "-W", "ignore", "-c", "import torch"]))
        chat_s.append(_wall([exe, "--model", str(model_dir), "--seed", "0", "hi miso"]))

    sampling = SamplingConfig(seed=0)  # meow-chat's defaults
    session = ChatSession.open(model_dir, sampling, "cpu")
    baseline = ChatSession.open(args.baseline, sampling, "cpu") if args.baseline else None
    latencies, tokens, base_latencies = [], [], []
    for prompt in [p.prompt for p in MISO.eval_prompts]:
        _, n, ms = session.reply(prompt)
        latencies.append(ms)
        tokens.append(n)
        if baseline is not None:
            base_latencies.append(baseline.reply(prompt)[2])
    size = (model_dir / "model.safetensors").stat().st_size
    results = {
        "cold_start_s": statistics.median(chat_s),
        "import_torch_s": statistics.median(torch_s),
        "latency_ms_p50": percentile(latencies, 50),
        "latency_ms_p95": percentile(latencies, 95),
        "mean_reply_tokens": statistics.mean(tokens),
        "ms_per_token": sum(latencies) / max(sum(tokens), 1),
        "weights_bytes": size,
    }
    rows = []
    if base_latencies:
        results["baseline"] = str(args.baseline)
        results["baseline_latency_ms_p50"] = percentile(base_latencies, 50)
        results["latency_p50_ratio"] = (
            results["latency_ms_p50"] / results["baseline_latency_ms_p50"]
        )
        rows.append((
            f"p50 vs {args.baseline.name}",
            f"{results['latency_ms_p50']:.0f} vs {results['baseline_latency_ms_p50']:.0f} ms: "
            f"{results['latency_p50_ratio']:.2f}x",
        ))  # fmt: skip
    print(f"bench chat: {model_dir}")
    report(
        "chat",
        [
            (
                'meow-chat "hi miso" (fresh process)',
                f"{results['cold_start_s']:.2f} s median of {args.repeat}  (import torch alone: {results['import_torch_s']:.2f} s)",
            ),
            (
                "reply latency p50 / p95",
                f"{results['latency_ms_p50']:.0f} / {results['latency_ms_p95']:.0f} ms  over {len(latencies)} held-out prompts",
            ),
            (
                "reply length",
                f"{results['mean_reply_tokens']:.1f} tokens on average, {results['ms_per_token']:.2f} ms/token",
            ),
            ("bundled weights", f"{size / 1e6:.2f} MB"),
            *rows,
        ],
        results,
    )
    return 0
