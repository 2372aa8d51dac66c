#!/usr/bin/env python3
"""Sweep model shapes and data sizes under one training budget; print the table Miso is chosen from.

    python tools/sweep.py [--minutes 10] [--only NAME ...]

Each configuration is one `tools/build_miso.py` run in its own process (same seed, same recipe,
its own scratch and output directory under runs/sweep/), stopped by the time budget rather than a
step count, then evaluated on the report suites at meow-chat's default sampling. A run's directory
is named after the configuration and the meow-data version whose banks it trained on
(runs/sweep/NAME-dataX.Y.Z/), so a sweep on new banks never replaces the rows of older ones.
The table of every finished run is written to runs/sweep/table.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import meow_data

ROOT = Path(__file__).resolve().parent.parent
SWEEP = ROOT / "runs" / "sweep"
CONFIGS = {
    "1.6M-60k": {"n": 60_000, "d_model": 160, "n_layers": 4, "n_heads": 4, "ffn_dim": 448},
    "1.6M-120k": {"n": 120_000, "d_model": 160, "n_layers": 4, "n_heads": 4, "ffn_dim": 448},
    "2.2M-60k": {"n": 60_000, "d_model": 192, "n_layers": 4, "n_heads": 4, "ffn_dim": 512},
    "2.2M-120k": {"n": 120_000, "d_model": 192, "n_layers": 4, "n_heads": 4, "ffn_dim": 512},
    "2.2M-120k-topic": {
        "n": 120_000,
        "d_model": 192,
        "n_layers": 4,
        "n_heads": 4,
        "ffn_dim": 512,
        "topic_loss_weight": 1.0,
    },
    "1.6M-120k-topic": {
        "n": 120_000,
        "d_model": 160,
        "n_layers": 4,
        "n_heads": 4,
        "ffn_dim": 448,
        "topic_loss_weight": 1.0,
    },
    "1.0M-120k-topic": {
        "n": 120_000,
        "d_model": 128,
        "n_layers": 4,
        "n_heads": 4,
        "ffn_dim": 352,
        "topic_loss_weight": 1.0,
    },
    "1.6M-200k-topic": {
        "n": 200_000,
        "d_model": 160,
        "n_layers": 4,
        "n_heads": 4,
        "ffn_dim": 448,
        "topic_loss_weight": 1.0,
    },
    "3.5M-20k": {"n": 20_000, "d_model": 256, "n_layers": 4, "n_heads": 4, "ffn_dim": 640},
    "3.5M-60k": {"n": 60_000, "d_model": 256, "n_layers": 4, "n_heads": 4, "ffn_dim": 640},
    "7.5M-60k": {"n": 60_000, "d_model": 320, "n_layers": 6, "n_heads": 5, "ffn_dim": 768},
    "17M-60k": {"n": 60_000, "d_model": 512, "n_layers": 5, "n_heads": 8, "ffn_dim": 1408},
}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--minutes", type=float, default=10.0, help="training budget per configuration"
    )
    parser.add_argument(
        "--only", nargs="*", choices=sorted(CONFIGS), help="run only these configurations"
    )
    parser.add_argument(
        "--table-only", action="store_true", help="rebuild the table from finished runs"
    )
    args = parser.parse_args()
    for name in args.only or ([] if args.table_only else list(CONFIGS)):
        run(name, CONFIGS[name], args.minutes)
    table = format_table()
    (SWEEP / "table.md").write_text(table + "\n", encoding="utf-8")
    print(table)
    return 0


def run(name: str, config: dict, minutes: float) -> None:
    work = SWEEP / f"{name}-data{meow_data.__version__}"
    flags = [f"--{key.replace('_', '-')}={value}" for key, value in config.items()]
    command = [sys.executable, str(ROOT / "tools" / "build_miso.py"), "--force", "--steps=0", f"--max-minutes={minutes}",
               f"--work={work}", f"--out={work / 'model'}", *flags]  # fmt: skip
    print(f"== {name}: {' '.join(command[2:])}", flush=True)
    start = time.perf_counter()
    subprocess.run(command, check=True)
    print(f"== {name}: {time.perf_counter() - start:.0f} s", flush=True)


def format_table() -> str:
    rows = [
        "| configuration | banks (meow-data) | topic head | parameters | samples | steps in budget | report | unseen | unseen, worst category | unknown words: fallback / topic | fp16 size |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for meta_path in sorted(SWEEP.glob("*/model/meta.json")):
        name = meta_path.parent.parent.name.split("-data")[0]
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        suites = meta["eval_bundled"]["suites"]
        unseen = suites["unseen"]
        worst = min(unseen["categories"].items(), key=lambda kv: kv[1]["pass_rate"])
        unknown = suites["unknown_words"]
        size = (meta_path.parent / "model.safetensors").stat().st_size / 1e6
        rows.append(
            f"| {name} | {meta['dataset']['versions']['meow-data']} | {meta['build'].get('topic_loss_weight', 0.0)} "
            f"| {meta['parameters'] / 1e6:.1f}M | {meta['build']['n']:,} | {meta['build']['steps']} "
            f"| {suites['report']['pass_rate']:.1%} | {unseen['pass_rate']:.1%} | {worst[0]} {worst[1]['pass_rate']:.0%} "
            f"| {unknown['fallback_rate']:.1%} / {unknown['topic_rate']:.1%} | {size:.1f} MB |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    raise SystemExit(main())
