"""Fixtures: a small hand-written dataset directory in the meow-data format, and tiny configs."""

import hashlib
import itertools
import json
from pathlib import Path

import pytest

import meow_rules
from meow_train import TrainConfig

PROMPTS = {
    "hunger": [
        "are you hungry",
        "want food",
        "dinner time",
        "is your bowl empty",
        "do you want tuna",
    ],
    "naps": ["are you sleepy", "nap time", "did you sleep well", "you look tired", "wake up"],
    "greeting": ["hi miso", "hello cat", "i'm home", "good morning", "hey there"],
}
REPLIES = {
    "hunger": [
        "the bowl is empty.",
        "i want tuna now.",
        "feed me, human.",
        "dinner is late again.",
    ],
    "naps": [
        "i was asleep.",
        "the blanket is warm.",
        "do not wake me from my nap.",
        "i need another nap.",
    ],
    "greeting": [
        "hello, human.",
        "you are home at last.",
        "welcome back to my house.",
        "hi. i was in the sun spot.",
    ],
}
PREFIXES = ["", "miso, ", "hey ", "kitty, "]


def write_dataset(directory: Path, rules_version: str | None = None) -> Path:
    """A tiny, valid dataset directory; val prompts are disjoint from train prompts."""
    rows = []
    for category, prompts in PROMPTS.items():
        for prompt, prefix, reply in itertools.product(prompts, PREFIXES, REPLIES[category]):
            rows.append(
                {"input": prefix + prompt, "output": reply, "category": category, "source": "test"}
            )
    val_prompts = {"want food", "nap time", "hello cat"}
    train = [r for r in rows if not any(r["input"].endswith(p) for p in val_prompts)]
    val = [r for r in rows if any(r["input"].endswith(p) for p in val_prompts)]
    directory.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, split in (("train.jsonl", train), ("val.jsonl", val)):
        data = "".join(json.dumps(r) + "\n" for r in split).encode()
        (directory / name).write_bytes(data)
        files[name] = {"sha256": hashlib.sha256(data).hexdigest(), "lines": len(split)}
    manifest = {
        "format_version": 1,
        "persona": "miso",
        "versions": {"meow-data": "1.0.0", "meow-rules": rules_version or meow_rules.__version__},
        "seed": 0,
        "counts": {"train": len(train), "val": len(val), "total": len(rows)},
        "files": files,
    }
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return directory


@pytest.fixture
def dataset(tmp_path) -> Path:
    return write_dataset(tmp_path / "data")


@pytest.fixture
def make_dataset():
    """The dataset writer itself, for tests that need a variant (e.g. another meow-rules version)."""
    return write_dataset


@pytest.fixture
def tiny():
    """Build a tiny TrainConfig: tiny(data, out, **overrides)."""
    return tiny_config


def tiny_config(data: Path, out: Path, **overrides) -> TrainConfig:
    """A model small enough to train for a few dozen steps in seconds."""
    base = dict(
        data=data, out=out, steps=40, batch_size=16, lr=3e-3, warmup_steps=5, d_model=32, n_layers=2,
        n_heads=2, ffn_dim=64, max_seq_len=64, vocab_size=300, eval_every=20, eval_limit=8, log_every=1,
        device="cpu", precision="fp32",
    )  # fmt: skip
    return TrainConfig(**{**base, **overrides})
