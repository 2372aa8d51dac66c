"""MeowLLM benchmarks: `python tools/bench MODE [options]`, MODE one of data, model, train, chat, export, serve, typing.

Every mode measures the project against its naive baseline in the same run and prints ratios,
because this machine is shared and absolute timings drift. Results are also written as JSON to
bench-out/<mode>.json. Never used by tests: timing belongs here, not in asserts.
"""

from __future__ import annotations

import importlib
import sys

MODES = {
    "data": "bench_data",
    "model": "bench_model",
    "train": "bench_train",
    "chat": "bench_chat",
    "export": "bench_export",
    "serve": "bench_serve",
    "typing": "bench_typing",
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in MODES:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    module = importlib.import_module(MODES[argv[0]])
    return module.main(argv[1:])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
