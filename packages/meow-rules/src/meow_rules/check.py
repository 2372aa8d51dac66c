"""`check`: score one reply against a persona's voice contract.

Each check is a boolean on the returned `Verdict`; `reason` explains the first failure in the
order the fields are declared. `check` never raises, whatever the string, so a generator or an
evaluator can run it over anything a model emits.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from itertools import pairwise

from meow_rules.patterns import DIGIT, REPEATED_WORD, SENTENCE_END, STAGE_DIRECTION, WORD
from meow_rules.persona import HARD_NEGATIVE, Persona

CHECKS = ("lowercase", "length", "no_banned", "no_emoji_or_stage_direction", "topic", "coherence")
"""Names of the individual checks, in the order `reason` reports them."""

# Symbol categories (emoji, dingbats, arrows), private use and surrogates; plus the joiners and
# variation selectors that glue emoji sequences together.
_SYMBOL_CATEGORIES = frozenset({"So", "Sk", "Co", "Cs"})
_EMOJI_GLUE = frozenset({"\u200d", "\ufe0e", "\ufe0f", "\u20e3"})


@dataclass(frozen=True)
class Verdict:
    """The outcome of `check`: `ok` is the conjunction of the six checks."""

    ok: bool
    reason: str
    lowercase: bool
    length: bool
    no_banned: bool
    no_emoji_or_stage_direction: bool
    topic: bool
    coherence: bool

    def failed_checks(self) -> tuple[str, ...]:
        """Names of the checks that failed, in `CHECKS` order."""
        return tuple(name for name in CHECKS if not getattr(self, name))


def check(text: str, category: str | None = None, persona: Persona | None = None) -> Verdict:
    """Score `text` as a reply of `persona` (default Miso) in `category` (None: any topic)."""
    if persona is None:
        from meow_rules.miso import MISO

        persona = MISO
    if not isinstance(text, str):
        return _verdict(
            {name: f"reply must be a string, got {type(text).__name__}" for name in CHECKS}
        )
    folded = text.lower().replace("\u2019", "'")
    words = WORD.findall(folded)
    sentences = [s for s in SENTENCE_END.split(folded) if WORD.search(s)]
    failures: dict[str, str] = {}

    if persona.lowercase and text != text.lower():
        failures["lowercase"] = "reply contains uppercase letters"

    if not words:
        failures["length"] = "reply is empty"
    elif len(words) > persona.max_words:
        failures["length"] = f"{len(words)} words (max {persona.max_words})"
    elif len(sentences) > persona.max_sentences:
        failures["length"] = f"{len(sentences)} sentences (max {persona.max_sentences})"

    banned = _banned(folded, persona)
    if banned:
        failures["no_banned"] = banned

    decoration = _decoration(text)
    if decoration:
        failures["no_emoji_or_stage_direction"] = decoration

    topic = _topic(folded, words, category, persona)
    if topic:
        failures["topic"] = topic

    incoherent = _incoherent(folded, words, sentences, persona)
    if incoherent:
        failures["coherence"] = incoherent

    return _verdict(failures)


def _verdict(failures: dict[str, str]) -> Verdict:
    first = next((name for name in CHECKS if name in failures), None)
    reason = f"{first}: {failures[first]}" if first else "ok"
    return Verdict(not failures, reason, *(name not in failures for name in CHECKS))


def _banned(folded: str, persona: Persona) -> str | None:
    rules = persona.rules
    if rules.banned and (m := rules.banned.search(folded)):
        return f"banned phrase {m.group(0)!r}"
    if rules.drift and (m := rules.drift.search(folded)):
        return f"drift token {m.group(0)!r}"
    if not persona.allow_digits and (m := DIGIT.search(folded)):
        return f"digit {m.group(0)!r}"
    return None


def _decoration(text: str) -> str | None:
    if m := STAGE_DIRECTION.search(text):
        return f"stage direction or markup character {m.group(0)!r}"
    if not text.isascii():
        for ch in text:
            if ch in _EMOJI_GLUE or unicodedata.category(ch) in _SYMBOL_CATEGORIES:
                return f"emoji or symbol {ch!r}"
    return None


def _topic(folded: str, words: list[str], category: str | None, persona: Persona) -> str | None:
    if category is None:
        if len(words) <= persona.short_reply_words:
            return None
        world = persona.rules.world
        if world is None or world.search(folded):
            return None
        return f"no {persona.display_name} world word (not in character)"
    if category not in persona.category_keywords and category != HARD_NEGATIVE:
        return f"unknown category {category!r} for persona {persona.name!r}"
    if persona.is_exempt(category) or len(words) <= persona.short_reply_words:
        return None
    pattern = persona.rules.keywords[category]
    if pattern is None or pattern.search(folded):
        return None
    return f"no {category} keyword"


def _incoherent(
    folded: str, words: list[str], sentences: list[str], persona: Persona
) -> str | None:
    allow = persona.rules.repeat_allowlist
    for m in REPEATED_WORD.finditer(folded):
        if f"{m.group(1)} {m.group(1)}" not in allow:
            return f"repeated word {m.group(1)!r}"
    for prev, word in pairwise(words):
        if prev in persona.determiners and word in persona.function_words:
            return f"{prev!r} followed by {word!r}"
    for sentence in sentences:
        last = WORD.findall(sentence)[-1]
        if last in persona.dangling_words:
            return f"sentence ends on {last!r}"
    return None
