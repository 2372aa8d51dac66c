"""Assemble one prompt or one reply from a category bank with a seeded RNG.

Replies follow `[opener.] core [sensory][. redirect].`; prompts are a template with its slots
filled, an optional form of address around it, and a casing and punctuation variant, so the
model learns topics rather than exact strings.
"""

from __future__ import annotations

import random
import re

from meow_data.banks import CategoryBank

_SLOT = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_QUESTION_START = re.compile(
    r"^(?:are|is|do|does|did|can|could|would|will|should|what|what's|why|where|who|whose|how|have|am)\b"
)
_SPACES = re.compile(r"\s+")

# (weight, transform) for how a user might type: mostly lowercase, sometimes shouting.
_CASINGS = (0.62, 0.26, 0.06, 0.06)
_QUESTION_ENDINGS = ("?", "?", "?", "", "??", "?!")
_STATEMENT_ENDINGS = ("", "", ".", "!", "...", "!!")


def compose_reply(bank: CategoryBank, rng: random.Random) -> str:
    """One reply: a core with optional opener, sensory detail and redirect."""
    core = rng.choice(bank.cores)
    if bank.sensory and rng.random() < bank.p_sensory:
        core = f"{core} {rng.choice(bank.sensory)}"
    sentences = [core]
    if bank.openers and rng.random() < bank.p_opener:
        sentences.insert(0, rng.choice(bank.openers))
    if bank.redirects and rng.random() < bank.p_redirect:
        sentences.append(rng.choice(bank.redirects))
    return ". ".join(sentences) + "."


def compose_prompt(bank: CategoryBank, rng: random.Random) -> str:
    """One user prompt: a filled template, an optional address, a casing and an ending."""
    template = rng.choice(bank.templates)
    body = _SLOT.sub(lambda m: rng.choice(bank.slots[m.group(1)]), template)
    prefix = rng.choice(bank.prefixes)
    suffix = rng.choice(bank.suffixes) if not prefix.strip() else ""
    text = _SPACES.sub(" ", f"{prefix}{body}{suffix}").strip()
    if text[-1] not in "?!.":
        endings = _QUESTION_ENDINGS if _QUESTION_START.match(body) else _STATEMENT_ENDINGS
        text += rng.choice(endings)
    return _recase(text, rng)


def _recase(text: str, rng: random.Random) -> str:
    roll = rng.random()
    lower, sentence, upper, _ = _CASINGS
    if roll < lower:
        return text
    if roll < lower + sentence:
        return text[0].upper() + text[1:]
    if roll < lower + sentence + upper:
        return text.upper()
    return "".join(c.upper() if rng.random() < 0.5 else c for c in text)
