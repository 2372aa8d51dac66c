"""`meow-data lint`: find the weak spots of a character's banks before any training.

Loading (`load_banks`) already refuses what cannot work: a reply core without a keyword, an
unknown slot, a held-out frame. Lint looks for what works but will train a weak character:
thin banks, keywords no reply uses, replies that break the persona's rules once an opener,
a sensory detail and a redirect are added, templates that produce another category's prompts or
a held-out eval prompt. Every finding names the file and the entry to change.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

from meow_data.banks import CategoryBank
from meow_rules import HARD_NEGATIVE, Persona, check, normalize_prompt

# Below these a category is thin: the model sees the same few sentences over and over and
# learns strings instead of a topic (Miso's banks have 40+ cores and 100+ templates).
MIN_CORES = 12
MIN_TEMPLATES = 15
MIN_SLOT_VALUES = 30
FILLS_PER_TEMPLATE = 40
_SLOT = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


@dataclass(frozen=True)
class Finding:
    """One weak spot: the file, the entry in it, what is wrong; `note`s are only worth a look."""

    path: str
    entry: str
    message: str
    level: str = "warning"

    def __str__(self) -> str:
        return f"{self.path}: {self.entry}: {self.level}: {self.message}"


def lint_banks(banks: list[CategoryBank], persona: Persona, seed: int = 0) -> list[Finding]:
    """Weak spots of loaded `banks` for `persona`, in bank order (empty: nothing to flag)."""
    findings: list[Finding] = []
    for bank in banks:
        findings += _thin(bank)
        findings += _unused_keywords(bank, persona)
        findings += _long_replies(bank, persona)
    findings += _colliding_prompts(banks, persona, random.Random(seed))
    return findings


def _thin(bank: CategoryBank) -> list[Finding]:
    """Too few distinct replies, prompt frames or slot values: (field, count, minimum, advice)."""
    values = {v for vs in bank.slots.values() for v in vs}
    checks = (
        ("reply.cores", len(set(bank.cores)), MIN_CORES, "distinct replies; write at least {n}"),
        ("prompt.templates", len(set(bank.templates)), MIN_TEMPLATES,
         "prompt frames; write at least {n} in different shapes (questions, statements, "
         "commands, long and short)"),
        ("prompt.slots", len(values), MIN_SLOT_VALUES,
         "distinct slot values; give at least {n} everyday words people use for this topic"),
    )  # fmt: skip
    return [
        Finding(bank.source, field, f"only {count} " + advice.format(n=minimum))
        for field, count, minimum, advice in checks
        if count < minimum
    ]


def _unused_keywords(bank: CategoryBank, persona: Persona) -> list[Finding]:
    if bank.category == HARD_NEGATIVE:
        return []
    replies = " ".join((*bank.cores, *bank.sensory)).lower()
    return [
        Finding(
            persona.source,
            f"categories.{bank.category}",
            f"keyword {word!r} appears in no reply of {Path(bank.source).name}: "
            "the model never learns to say it (add replies that use it, or drop it)",
        )
        for word in persona.category_keywords.get(bank.category, ())
        if not re.search(rf"\b{re.escape(word)}\b", replies)
    ]


def _long_replies(bank: CategoryBank, persona: Persona) -> list[Finding]:
    """Cores that fail the rules once the longest opener, sensory detail and redirect join them."""
    longest = lambda items: max(items, key=len) if items else ""  # noqa: E731
    opener, sensory, redirect = (longest(x) for x in (bank.openers, bank.sensory, bank.redirects))
    out = []
    for i, core in enumerate(bank.cores):
        parts = [
            f"{opener}." if opener else "",
            f"{core} {sensory}".strip() + ".",
            f"{redirect}." if redirect else "",
        ]
        reply = " ".join(p for p in parts if p)
        verdict = check(reply, bank.category, persona)
        if not verdict.ok:
            out.append(
                Finding(
                    bank.source,
                    f"reply.cores[{i}]",
                    f"{core!r} fails the persona's rules with the longest opener, "
                    f"sensory detail and redirect ({reply!r}): {verdict.reason}",
                )
            )
    return out


def _colliding_prompts(
    banks: list[CategoryBank], persona: Persona, rng: random.Random
) -> list[Finding]:
    """Prompts two categories both produce, and templates that produce held-out prompts."""
    owner: dict[str, tuple[CategoryBank, int]] = {}
    held_out = persona.normalized_eval_prompts
    out, reported = [], set()
    for bank in banks:
        for i, template in enumerate(bank.templates):
            for prompt in _fills(template, bank, rng):
                key = normalize_prompt(prompt)
                if key in held_out and (bank.source, i, "held") not in reported:
                    reported.add((bank.source, i, "held"))
                    out.append(
                        Finding(
                            bank.source,
                            f"prompt.templates[{i}]",
                            f"{template!r} can produce the held-out prompt {prompt!r}; "
                            "the generator skips that one prompt; make sure the "
                            "template is not a copy of the eval suite",
                            level="note",
                        )
                    )
                first = owner.setdefault(key, (bank, i))
                if first[0].category != bank.category and (bank.source, i) not in reported:
                    reported.add((bank.source, i))
                    out.append(
                        Finding(
                            bank.source,
                            f"prompt.templates[{i}]",
                            f"{template!r} produces {prompt!r}, which "
                            f"{Path(first[0].source).name} prompt.templates[{first[1]}] "
                            f"also produces for {first[0].category!r}: the model "
                            "cannot tell the two topics apart",
                        )
                    )
    return out


def _fills(template: str, bank: CategoryBank, rng: random.Random) -> set[str]:
    names = _SLOT.findall(template)
    if not names:
        return {template}
    return {
        _SLOT.sub(lambda m: rng.choice(bank.slots[m.group(1)]), template)
        for _ in range(FILLS_PER_TEMPLATE)
    }
