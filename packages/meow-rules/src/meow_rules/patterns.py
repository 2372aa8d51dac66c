"""Compiled matchers for one persona, built once so that `check` never builds a regex per call."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from meow_rules.persona import Persona

# Words are runs of letters/digits with inner apostrophes ("i'm" is one word).
WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
# The same word twice with only whitespace between ("i i am"); "on you, you are" is fine.
REPEATED_WORD = re.compile(r"(?<![\w'])([^\W_]+(?:'[^\W_]+)*)\s+\1(?![\w'])")
SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")
STAGE_DIRECTION = re.compile(r"[*()\[\]{}~]")
DIGIT = re.compile(r"\d")
# Inflections a keyword of three or more letters may carry: "nap" matches "naps" and "napping".
# Shorter keywords match exactly, or "hi" would match "his".
_SUFFIX = r"(?:s|es|d|ly|[bdgmnprt]?(?:ing|ed|er|ers|y))?"
# Whole-phrase boundary: not preceded or followed by a letter, digit or apostrophe.
_LEFT = r"(?<![\w'])"
_RIGHT = r"(?![\w'])"


def _alternation(items: list[str] | tuple[str, ...] | frozenset[str]) -> str:
    # Longest first so that "i can help you" is reported rather than a shorter prefix.
    return "|".join(re.escape(s) for s in sorted(items, key=lambda s: (-len(s), s)))


def _word_pattern(words: tuple[str, ...] | frozenset[str]) -> re.Pattern[str] | None:
    if not words:
        return None
    short = [w for w in words if len(w) < 3]
    inflectable = [w for w in words if len(w) >= 3]
    branches = [f"(?:{_alternation(inflectable)}){_SUFFIX}"] if inflectable else []
    if short:
        branches.append(f"(?:{_alternation(short)})")
    return re.compile(f"{_LEFT}(?:{'|'.join(branches)}){_RIGHT}")


class CompiledRules:
    """Regexes and sets derived from a persona. Immutable after construction."""

    def __init__(self, persona: Persona) -> None:
        self.banned = (
            re.compile(f"{_LEFT}(?:{_alternation(persona.banned_phrases)}){_RIGHT}")
            if persona.banned_phrases
            else None
        )
        self.drift = (
            re.compile(_alternation(persona.drift_tokens)) if persona.drift_tokens else None
        )
        self.world = _word_pattern(persona.world_vocabulary)
        self.keywords = {
            cat: _word_pattern(words) for cat, words in persona.category_keywords.items()
        }
        self.repeat_allowlist = frozenset(persona.repeat_allowlist)
        self.dismissals = (
            re.compile(f"{_LEFT}(?:{_alternation(persona.dismissals)}){_RIGHT}")
            if persona.dismissals
            else None
        )
        # Held-out unknown words, plurals included: "prosciuttos" leaks "prosciutto".
        self.unknown_words = (
            re.compile(f"{_LEFT}(?:{_alternation(persona.all_unknown_words)})(?:s|es)?{_RIGHT}")
            if persona.all_unknown_words
            else None
        )
