"""Bench `data`: generation speed and the dataset figures of the meow-data issue."""

from __future__ import annotations

import argparse
import tempfile

from common import best_of, report

from meow_data import GenerateConfig, dataset_stats, generate, validate, write_dataset
from meow_rules import MISO, normalize_prompt


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench data")
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    config = GenerateConfig(n=args.n, seed=args.seed)

    with tempfile.TemporaryDirectory() as tmp:
        gen_time, gen_all = best_of(lambda: generate(config))
        full_time, _ = best_of(lambda: write_dataset(generate(config), config, tmp, force=True))
        stats = dataset_stats(tmp)
        ok = validate(tmp).ok
    generated = generate(config)
    samples = generated.train + generated.val
    train_prompts = {normalize_prompt(s.input) for s in generated.train}
    val_prompts = {normalize_prompt(s.input) for s in generated.val}
    total = len(samples)
    results = {
        "n": total,
        "generate_s": gen_time,
        "generate_and_write_s": full_time,
        "generate_runs_s": gen_all,
        "unique_prompts": stats.unique_prompts,
        "unique_normalized_prompts": stats.unique_normalized_prompts,
        "unique_replies": stats.unique_replies,
        "min_category_share": min(stats.categories.values()) / total,
        "train_val_prompt_overlap": len(train_prompts & val_prompts),
        "eval_prompts_in_data": len((train_prompts | val_prompts) & MISO.normalized_eval_prompts),
        "distinct_1": stats.distinct_1,
        "distinct_2": stats.distinct_2,
        "validates": ok,
    }
    print(f"bench data: {total} samples, seed {args.seed}")
    report(
        "data",
        [
            ("generate (best of 3)", f"{gen_time:.2f} s   (target < 3 s)"),
            ("generate + write files", f"{full_time:.2f} s"),
            (
                "unique prompts",
                f"{stats.unique_prompts} ({stats.unique_normalized_prompts} normalized)  (target >= 3000)",
            ),
            ("unique replies", f"{stats.unique_replies}  (target >= 14000)"),
            (
                "smallest category share",
                f"{results['min_category_share']:.2%}  (target: an equal share, 1/categories)",
            ),
            ("train/val prompt overlap", str(results["train_val_prompt_overlap"])),
            ("eval prompts in data", str(results["eval_prompts_in_data"])),
            ("distinct-1 / distinct-2", f"{stats.distinct_1:.4f} / {stats.distinct_2:.4f}"),
            ("meow-data validate", "ok" if ok else "FAILED"),
        ],
        results,
    )
    return 0
