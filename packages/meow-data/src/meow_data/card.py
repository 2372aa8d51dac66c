"""`meow-data card`: a DATASET_CARD.md with Hugging Face Hub front matter, from a dataset's manifest.

Every figure on the card is read from `manifest.json` (counts per split and category, unique
prompts and replies, the versions that made it) or computed from the split files it lists
(distinct-n of the replies, a few samples), so the card cannot drift from the data it describes.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from meow_data.dataset import read_manifest, read_samples
from meow_data.stats import distinct_n

CARD_FILE = "DATASET_CARD.md"
SAMPLES_SHOWN = 8


def dataset_card(directory: str | Path) -> str:
    """The card's Markdown for the dataset in `directory`."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    counts, unique = manifest["counts"], manifest.get("unique", {})
    train = read_samples(directory / "train.jsonl")
    replies = [s.output for s in train]
    persona = manifest.get("persona", "unknown")
    versions = manifest.get("versions", {})
    size = (
        "n<1K"
        if counts["total"] < 1000
        else "1K<n<10K"
        if counts["total"] < 10_000
        else ("10K<n<100K" if counts["total"] < 100_000 else "100K<n<1M")
    )
    rows = "\n".join(
        f"| {cat} | {split.get('train', 0):,} | {split.get('val', 0):,} |"
        for cat, split in manifest["categories"].items()
    )
    examples = random.Random(0).sample(train, min(SAMPLES_SHOWN, len(train)))
    shown = "\n".join(f"| {s.category} | {_cell(s.input)} | {_cell(s.output)} |" for s in examples)
    rejections = ", ".join(f"{k} {v}" for k, v in manifest.get("rejections", {}).items()) or "none"
    return f"""---
language:
- en
license: mit
pretty_name: {persona} character dialogues (MeowLLM)
size_categories:
- {size}
task_categories:
- text-generation
tags:
- meowllm
- character
- synthetic
configs:
- config_name: default
  data_files:
  - split: train
    path: train.jsonl
  - split: validation
    path: val.jsonl
---

# {persona}: single-turn character dialogues

A synthetic dataset that teaches a small language model to *be* the character **{persona}**:
each row is one user prompt and one in-character reply, composed from hand-written slot banks by
[meow-data](https://pypi.org/project/meow-data/) {versions.get("meow-data", "?")} and checked
reply by reply against the persona's rules (meow-rules {versions.get("meow-rules", "?")}).

## Contents

| split | rows |
|---|---|
| train | {counts["train"]:,} |
| validation | {counts["val"]:,} |
| total | {counts["total"]:,} |

Rows are JSON lines: `{{"input": prompt, "output": reply, "category": topic, "source": how it was made}}`. Prompts never
cross splits: train and validation share no prompt (after normalising case and punctuation).

| category | train | validation |
|---|---|---|
{rows}

## Diversity

- unique prompts: {unique.get("inputs", 0):,} ({unique.get("normalized_inputs", 0):,} after normalising case and punctuation)
- unique replies: {unique.get("outputs", 0):,}
- distinct-1 / distinct-2 of the training replies: {distinct_n(replies, 1):.4f} / {distinct_n(replies, 2):.4f}
- generation seed {manifest.get("seed")}, {manifest.get("attempts", 0):,} attempts for {manifest.get("requested", 0):,} requested rows; rejected: {rejections}

## Held-out policy

No row contains any prompt of the persona's held-out suites (selection, report, unseen
phrasings), none of its reserved unknown words, and no held-out prompt frame: the generator
refuses them, so the published evaluation measures prompts the model has never seen. Every reply
passes the persona's checks (lowercase, length, no banned assistant-speak, no emoji or stage
directions, a keyword of its category, coherence).

## Samples

| category | prompt | reply |
|---|---|---|
{shown}

## Files

{chr(10).join(f"- `{name}`: {info['lines']:,} lines, sha256 `{info['sha256']}`" for name, info in manifest["files"].items())}
- `manifest.json`: the figures above, as generated
"""


def write_dataset_card(directory: str | Path, force: bool = False) -> Path:
    """Write DIRECTORY/DATASET_CARD.md; an existing card is replaced only with `force`."""
    out = Path(directory) / CARD_FILE
    text = dataset_card(directory)
    if out.exists() and not force:
        raise FileExistsError(f"{out} already exists; pass --force to replace it")
    out.write_text(text, encoding="utf-8")
    return out


def _cell(text: str) -> str:
    return json.dumps(text)[1:-1].replace("|", "\\|")
