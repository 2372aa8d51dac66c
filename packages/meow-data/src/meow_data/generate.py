"""The generator: balanced, rule-checked, leak-free samples, split by prompt.

Each category gets an equal share of the samples. A sample is rejected (and counted by reason)
when its prompt is a held-out eval prompt of any suite, contains a held-out frame or a held-out
unknown word, was already produced for another category, when the (prompt, reply) pair was
already produced, or when the reply fails `meow_rules.check` for its category. One seeded RNG drives everything,
so the same seed, banks and version give the same samples.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from meow_data.banks import BankError, CategoryBank, HoldoutMatcher, load_banks
from meow_data.compose import compose_prompt, compose_reply
from meow_rules import MISO, Persona, check, normalize_prompt

MAX_ATTEMPTS_PER_SAMPLE = 500
MAX_SAMPLES = 5_000_000  # ~1 KB each in memory while generating; far beyond what training needs
SOURCE = "slots"


@dataclass(frozen=True)
class Sample:
    """One training example in the dataset format."""

    input: str
    output: str
    category: str
    source: str = SOURCE

    def to_json(self) -> dict[str, str]:
        return {
            "input": self.input,
            "output": self.output,
            "category": self.category,
            "source": self.source,
        }


@dataclass(frozen=True)
class GenerateConfig:
    """What to generate. `banks_dir=None` uses the Miso banks bundled with meow-data."""

    n: int = 20_000
    seed: int = 0
    val_fraction: float = 0.05
    persona: Persona = MISO
    banks_dir: Path | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.n <= MAX_SAMPLES:
            raise ValueError(f"n must be from 1 to {MAX_SAMPLES:,}, got {self.n}")
        if not 0 < self.val_fraction < 1:
            raise ValueError(f"val_fraction must be in (0, 1), got {self.val_fraction}")


@dataclass
class Generated:
    """The result of `generate`: both splits and the bookkeeping the manifest records."""

    train: list[Sample]
    val: list[Sample]
    rejections: Counter[str] = field(default_factory=Counter)
    attempts: int = 0


def generate(config: GenerateConfig) -> Generated:
    """Generate `config.n` samples and split them into train and val by normalized prompt."""
    banks = load_banks(config.banks_dir, config.persona)
    rng = random.Random(config.seed)
    quotas = _quotas(config.n, len(banks))
    rejections: Counter[str] = Counter()
    seen = _Seen()
    samples: list[Sample] = []
    attempts = 0
    for bank, quota in zip(banks, quotas, strict=True):
        holdout = HoldoutMatcher(bank.holdout)
        for _ in range(quota):
            sample, tries = _one_sample(bank, config.persona, holdout, rng, seen, rejections)
            attempts += tries
            samples.append(sample)
    train, val = split_by_prompt(samples, config.val_fraction, config.seed)
    if not train or not val:
        raise ValueError(
            f"{config.n} samples at val_fraction {config.val_fraction} leave the "
            f"{'train' if not train else 'val'} split empty, and training needs both: "
            "generate more samples (or change the val fraction)"
        )
    rng.shuffle(train)
    rng.shuffle(val)
    return Generated(train, val, rejections, attempts)


def _quotas(n: int, k: int) -> list[int]:
    base, extra = divmod(n, k)
    return [base + (i < extra) for i in range(k)]


@dataclass
class _Seen:
    """What generation has produced so far: pairs, and the category that owns each prompt."""

    pairs: set[tuple[str, str]] = field(default_factory=set)
    owner: dict[str, str] = field(default_factory=dict)


def _one_sample(
    bank: CategoryBank,
    persona: Persona,
    holdout: HoldoutMatcher,
    rng: random.Random,
    seen: _Seen,
    rejections: Counter[str],
) -> tuple[Sample, int]:
    local: Counter[str] = Counter()
    for attempt in range(1, MAX_ATTEMPTS_PER_SAMPLE + 1):
        prompt = compose_prompt(bank, rng)
        key = normalize_prompt(prompt)
        if key in persona.normalized_eval_prompts:
            local["eval_prompt"] += 1
            continue
        if holdout.find(prompt):
            local["holdout_frame"] += 1
            continue
        if seen.owner.get(key, bank.category) != bank.category:
            local["other_category_prompt"] += 1
            continue
        reply = compose_reply(bank, rng)
        verdict = check(reply, bank.category, persona)
        if not verdict.ok:
            local[verdict.failed_checks()[0]] += 1
            continue
        if persona.unknown_word_in(prompt) or persona.unknown_word_in(reply):
            local["unknown_word"] += 1
            continue
        if (prompt, reply) in seen.pairs:
            local["duplicate_pair"] += 1
            continue
        seen.pairs.add((prompt, reply))
        seen.owner[key] = bank.category
        rejections.update(local)
        return Sample(prompt, reply, bank.category), attempt
    reason, count = local.most_common(1)[0]
    raise BankError(
        f"{bank.source}: could not produce a valid {bank.category} sample in "
        f"{MAX_ATTEMPTS_PER_SAMPLE} attempts (most common rejection: {reason}, {count} times); "
        "the bank cannot produce enough valid, distinct replies"
    )


def split_by_prompt(
    samples: list[Sample], val_fraction: float, seed: int
) -> tuple[list[Sample], list[Sample]]:
    """Assign whole normalized prompts to val, so no prompt sits on both sides of the split."""
    train: list[Sample] = []
    val: list[Sample] = []
    for sample in samples:
        key = f"{seed}:{normalize_prompt(sample.input)}".encode()
        unit = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") / 2**64
        (val if unit < val_fraction else train).append(sample)
    return train, val
