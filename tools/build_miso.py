#!/usr/bin/env python3
"""Reproduce the Miso bundled with meow-chat, from a fixed seed, with one command.

    python tools/build_miso.py --force

Generates the dataset, fits the tokenizer, trains for a fixed number of steps (best/ chosen on
the persona's selection suite), evaluates the chosen checkpoint on the three report suites
(report, unseen phrasings, unknown words) at meow-chat's default sampling, in fp32 and as the
fp16 copy that ships, and writes the fp16 model directory plus MODEL_CARD.md into meow-chat's
package data. Every figure on the card is read from those eval reports. `tools/sweep.py` calls
this with other shapes, data sizes and `--out` directories. Needs the five packages installed
(the dev environment of the README).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch
from model_card import CURVES, model_card

from meow_data import GenerateConfig, generate, write_dataset
from meow_model import Pretrained, SamplingConfig, generate_batch
from meow_model.pytorch import load_pretrained, save_pretrained
from meow_train import (
    PlotError,
    TrainConfig,
    evaluate_suites,
    format_report,
    load_dataset,
    plot_run,
    train,
)

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "packages" / "meow-chat" / "src" / "meow_chat" / "miso"
CHAT_SAMPLING = SamplingConfig()  # meow-chat samples with meow-model's defaults
SHOWCASE = [
    "hi miso", "are you hungry", "grandma is coming to visit this weekend", "what's your favourite toy",
    "stop scratching the sofa", "what do you think of the economy", "write me a python function", "are you an ai",
]  # fmt: skip
# The recipe chosen from tools/sweep.py's table (meow-train README): the 1.6M shape on 120,000
# samples with the topic head, for the 3213 steps its 10-minute sweep run scheduled and reached.
# The bundled Miso is this script's fixed-step build of it (its meta.json records the command);
# a run with another --seed lands within about a point of it on each report suite.
RECIPE = {"n": 120_000, "steps": 3213, "d_model": 160, "n_layers": 4, "n_heads": 4, "ffn_dim": 448,
          "topic_loss_weight": 1.0, "prompt_loss_weight": 0.0, "prompt_noise": 0.0, "lr": 3e-3, "batch_size": 64,
          "vocab_size": 2048}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--work", type=Path, default=ROOT / "runs" / "build_miso", help="scratch directory"
    )
    parser.add_argument(
        "--out", type=Path, default=BUNDLE, help="where the bundled model directory goes"
    )
    parser.add_argument("--n", type=int, default=RECIPE["n"], help="dataset size (samples)")
    parser.add_argument(
        "--steps",
        type=int,
        default=RECIPE["steps"],
        help="optimizer steps (fixed, for reproducibility; 0: none)",
    )
    parser.add_argument(
        "--max-minutes", type=float, help="also stop after this much training (sweeps)"
    )
    for name in ("d_model", "n_layers", "n_heads", "ffn_dim"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=RECIPE[name])
    parser.add_argument(
        "--topic-loss-weight",
        type=float,
        default=RECIPE["topic_loss_weight"],
        help="weight of the training-only topic head (meow-train's topic_head.py)",
    )
    parser.add_argument(
        "--prompt-loss-weight",
        type=float,
        default=RECIPE["prompt_loss_weight"],
        help="weight of the next-token loss on the prompt's text (meow-train's topic_head.py)",
    )
    parser.add_argument(
        "--prompt-noise",
        type=float,
        default=RECIPE["prompt_noise"],
        help="share of prompt tokens swapped for random ones at each step (meow-train's word dropout)",
    )
    parser.add_argument("--lr", type=float, default=RECIPE["lr"], help="peak learning rate")
    parser.add_argument("--batch-size", type=int, default=RECIPE["batch_size"])
    parser.add_argument(
        "--vocab-size", type=int, default=RECIPE["vocab_size"], help="tokenizer vocabulary size"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samples", type=int, default=4, help="eval samples per held-out prompt")
    parser.add_argument(
        "--force", action="store_true", help="replace an existing output model and scratch dir"
    )
    args = parser.parse_args()
    if args.out.exists() and not args.force:
        print(f"{args.out} already holds a model; pass --force to replace it", file=sys.stderr)
        return 2
    build(args)
    return 0


def build(args: argparse.Namespace) -> dict:
    data_dir, run_dir = args.work / "data", args.work / "run"
    gen_cfg = GenerateConfig(n=args.n, seed=args.seed)
    manifest = write_dataset(generate(gen_cfg), gen_cfg, data_dir, force=args.force)
    print(f"dataset: {manifest['counts']['total']} samples -> {data_dir}")

    shape = {
        "d_model": args.d_model,
        "n_layers": args.n_layers,
        "n_heads": args.n_heads,
        "ffn_dim": args.ffn_dim,
    }
    cfg = TrainConfig(data=data_dir, out=run_dir, steps=args.steps or None, max_minutes=args.max_minutes, seed=args.seed,
                      eval_every=300, device="cpu", topic_loss_weight=args.topic_loss_weight,
                      prompt_loss_weight=args.prompt_loss_weight, prompt_noise=args.prompt_noise, lr=args.lr, batch_size=args.batch_size, vocab_size=args.vocab_size, **shape)  # fmt: skip
    start = time.perf_counter()
    result = train(cfg, force=args.force)
    wall = time.perf_counter() - start
    if result.interrupted:  # Ctrl-C / SIGTERM: a half-trained model never replaces the bundle
        print(f"training stopped at step {result.steps}; {args.out} is left as it was (the run "
              f"is saved in {run_dir}: `meow-train run --resume --data {data_dir} --out {run_dir}` "
              "finishes it)", file=sys.stderr)  # fmt: skip
        raise SystemExit(130)

    train_replies = [e.output for e in load_dataset(data_dir).train]
    best = load_pretrained(run_dir / "best")

    def suites(model_dir: Pretrained) -> dict:
        return evaluate_suites(model_dir.model, model_dir.tokenizer, samples=args.samples,
                               sampling=CHAT_SAMPLING, seed=args.seed, train_replies=train_replies)  # fmt: skip

    fp32 = suites(best)
    staged = save_pretrained(
        best.model, best.tokenizer, args.work / "fp16", meta=best.meta, dtype=torch.float16
    )
    half = load_pretrained(staged)
    fp16 = suites(half)
    print(format_report(fp16))

    showcase = generate_batch(half.model, half.tokenizer, SHOWCASE, replace(CHAT_SAMPLING, seed=0))
    meta = {
        **_portable(best.meta, ROOT),
        "bundled_as": "float16",
        "build": {
            "steps": result.steps,
            "training_wall_s": wall,  # train() as a whole: tokenizer fitting, encoding, final save
            "training_loop_s": result.elapsed_s,  # the training loop, periodic evaluations included
            "seed": args.seed,
            "n": args.n,
            "shape": shape,
            "topic_loss_weight": args.topic_loss_weight,
            "prompt_loss_weight": args.prompt_loss_weight,
            "prompt_noise": args.prompt_noise,
            "lr": args.lr,
            "batch_size": args.batch_size,
            "command": "python tools/build_miso.py --force",
        },
        "eval_fp32": _summary(fp32),
        "eval_bundled": _summary(fp16),
    }
    save_pretrained(half.model, half.tokenizer, args.out, meta=meta, dtype=torch.float16)
    try:
        plot_run(run_dir, args.out / CURVES)
        curves = True
    except PlotError as exc:
        print(f"no training curves on the card: {exc}", file=sys.stderr)
        curves = False
    card = model_card(
        meta, manifest, list(zip(SHOWCASE, (r.text for r in showcase), strict=True)), curves
    )
    (args.out / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    (args.work / "eval_bundled.json").write_text(
        json.dumps(fp16, indent=2) + "\n", encoding="utf-8"
    )
    size = (args.out / "model.safetensors").stat().st_size
    print(f"model: {args.out} ({size / 1e6:.2f} MB weights, {meta['parameters']:,} parameters); "
          + ", ".join(f"{name} {r['pass_rate']:.1%}" for name, r in fp16["suites"].items()))  # fmt: skip
    return meta


def _summary(report: dict) -> dict:
    """The eval report without its failure examples (kept in the scratch dir's JSON)."""
    return {
        **report,
        "suites": {
            name: {k: v for k, v in r.items() if k != "failures"}
            for name, r in report["suites"].items()
        },
    }


def _portable(meta: dict, root: Path) -> dict:
    """Shipped metadata names no machine path: paths under the repository become relative to it."""

    def fix(value):
        if isinstance(value, dict):
            return {k: fix(v) for k, v in value.items()}
        if isinstance(value, str) and value.startswith(str(root)):
            return str(Path(value).relative_to(root))
        return value

    return fix(meta)


if __name__ == "__main__":
    raise SystemExit(main())
