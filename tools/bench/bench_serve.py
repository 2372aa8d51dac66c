"""Bench `serve`: `meow-chat serve` under load on loopback, against generating in-process.

Starts the real command (`meow-chat serve --port 0`) and times it to its first healthy /health
(three starts, median). Then 1, 8 and 32 concurrent clients each send `--requests` chat
completions (alternately streamed and not, max 64 tokens, meow-chat's default sampling, each
with its own seed) and the bench records errors, requests/s and p50/p95 latency of whole
replies. The baseline is the same replies generated one after another in this process with
`meow_model.generate` (no HTTP, no threads): "x direct" is the server's throughput over that.
Server memory is its peak resident set (VmHWM) after the load.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from common import percentile, report

from meow_chat import bundled_model_dir
from meow_model import SamplingConfig, generate, load_pretrained

PROMPTS = ["hi miso", "are you hungry", "the vacuum is out", "do you like boxes",
           "grandma is coming to visit", "what's your favourite toy"]  # fmt: skip


def start(exe: str) -> tuple[subprocess.Popen, str, float]:
    began = time.perf_counter()
    proc = subprocess.Popen([exe, "serve", "--port", "0"], stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().split("listening on ")[1].split()[0]
    while True:
        try:
            if httpx.get(f"{url}/health").status_code == 200:
                return proc, url, time.perf_counter() - began
        except httpx.TransportError:
            time.sleep(0.005)


def load(url: str, clients: int, requests: int) -> dict:
    def client(k: int) -> tuple[list[float], int]:
        latencies, errors = [], 0
        with httpx.Client(timeout=300) as http:
            for j in range(requests):
                body = {"model": "miso", "seed": k * 1000 + j, "stream": j % 2 == 1,
                        "messages": [{"role": "user", "content": PROMPTS[(k + j) % len(PROMPTS)]}]}  # fmt: skip
                began = time.perf_counter()
                if body["stream"]:
                    with http.stream("POST", f"{url}/v1/chat/completions", json=body) as r:
                        last = [line for line in r.iter_lines() if line][-1]
                        errors += r.status_code != 200 or last != "data: [DONE]"
                else:
                    r = http.post(f"{url}/v1/chat/completions", json=body)
                    errors += r.status_code != 200
                latencies.append(time.perf_counter() - began)
        return latencies, errors

    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(client, range(clients)))
    wall = time.perf_counter() - began
    latencies = [t for lat, _ in results for t in lat]
    return {
        "clients": clients,
        "requests": len(latencies),
        "errors": sum(e for _, e in results),
        "requests_per_s": len(latencies) / wall,
        "p50_ms": percentile(latencies, 50) * 1e3,
        "p95_ms": percentile(latencies, 95) * 1e3,
    }


def direct(requests: int) -> float:
    """Replies per second generating the same kind of replies in-process, one after another."""
    miso = load_pretrained(bundled_model_dir())
    began = time.perf_counter()
    for j in range(requests):
        generate(miso.model, miso.tokenizer, PROMPTS[j % len(PROMPTS)], SamplingConfig(seed=j))
    return requests / (time.perf_counter() - began)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench serve")
    parser.add_argument("--requests", type=int, default=20, help="requests per client")
    parser.add_argument("--clients", type=int, nargs="*", default=[1, 8, 32])
    args = parser.parse_args(argv)
    exe = shutil.which("meow-chat", path=str(Path(sys.executable).parent)) or "meow-chat"
    starts = []
    for _ in range(3):
        proc, url, seconds = start(exe)
        starts.append(seconds)
        proc.terminate()
        proc.wait()
    proc, url, _ = start(exe)
    try:
        runs = [load(url, clients, args.requests) for clients in args.clients]
        status = Path(f"/proc/{proc.pid}/status").read_text()
        peak_mb = (
            int(next(x for x in status.splitlines() if x.startswith("VmHWM")).split()[1]) / 1024
        )
    finally:
        proc.terminate()
        proc.wait()
    baseline = direct(max(40, args.requests * 2))
    rows = [("start to healthy /health", f"median {statistics.median(starts):.2f} s "
             f"(min {min(starts):.2f}, max {max(starts):.2f})")]  # fmt: skip
    for run in runs:
        run["vs_direct"] = run["requests_per_s"] / baseline
        rows.append((
            f"{run['clients']:>2} clients x {args.requests}",
            f"{run['requests_per_s']:.1f} req/s ({run['vs_direct']:.2f}x direct), "
            f"p50 {run['p50_ms']:.0f} ms, p95 {run['p95_ms']:.0f} ms, errors {run['errors']}",
        ))  # fmt: skip
    rows += [("direct, in-process", f"{baseline:.1f} replies/s"),
             ("server peak memory (VmHWM)", f"{peak_mb:.0f} MB")]  # fmt: skip
    report("serve", rows, {"start_s": starts, "runs": runs, "direct_per_s": baseline,
                           "peak_rss_mb": peak_mb})  # fmt: skip
    return 0
