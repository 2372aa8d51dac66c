"""Helpers shared by the bench modes: timing and result output."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

OUT_DIR = Path("bench-out")


def best_of(fn: Callable[[], object], repeat: int = 3) -> tuple[float, list[float]]:
    """Run `fn` `repeat` times; return the fastest wall time and all of them (seconds)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), times


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of `values`, by linear interpolation."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(sorted(values), n=100, method="inclusive")[
        max(0, min(98, round(q) - 1))
    ]


def report(mode: str, rows: list[tuple[str, str]], results: dict) -> None:
    """Print a two-column table and save `results` as bench-out/<mode>.json."""
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    OUT_DIR.mkdir(exist_ok=True)
    path = OUT_DIR / f"{mode}.json"
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"results written to {path}")
