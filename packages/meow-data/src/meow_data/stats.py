"""Diversity and balance statistics of a dataset directory."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from meow_data.dataset import SPLITS, read_manifest, read_samples
from meow_rules import normalize_prompt


@dataclass(frozen=True)
class Stats:
    """What `meow-data stats` prints."""

    split_sizes: dict[str, int]
    categories: dict[str, int]
    unique_prompts: int
    unique_normalized_prompts: int
    unique_replies: int
    distinct_1: float
    distinct_2: float
    top_replies: list[tuple[str, int]]
    manifest: dict


def distinct_n(texts: list[str], n: int) -> float:
    """Distinct-n: unique word n-grams over all word n-grams (1.0 = no n-gram repeats)."""
    total = 0
    unique: set[tuple[str, ...]] = set()
    for text in texts:
        words = text.split()
        grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
        total += len(grams)
        unique.update(grams)
    return len(unique) / total if total else 0.0


def dataset_stats(directory: str | Path, top: int = 10) -> Stats:
    """Compute the statistics of a dataset directory."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    splits = {split: read_samples(directory / f"{split}.jsonl") for split in SPLITS}
    samples = [s for split in SPLITS for s in splits[split]]
    replies = [s.output for s in samples]
    return Stats(
        split_sizes={split: len(rows) for split, rows in splits.items()},
        categories=dict(sorted(Counter(s.category for s in samples).items())),
        unique_prompts=len({s.input for s in samples}),
        unique_normalized_prompts=len({normalize_prompt(s.input) for s in samples}),
        unique_replies=len(set(replies)),
        distinct_1=distinct_n(replies, 1),
        distinct_2=distinct_n(replies, 2),
        top_replies=Counter(replies).most_common(top),
        manifest=manifest,
    )
