"""The persona schema: a character as data, loaded and validated from a TOML file.

A persona holds everything that defines a character's voice contract: the voice limits, banned
assistant-speak, code drift tokens, the world vocabulary, per-category required keywords and the
held-out evaluation suites. Loading never guesses: a missing or mistyped field is a
`PersonaError` naming the file and the key.

The held-out prompts come in four suites (`SUITES`), so that no published figure is measured on
the prompts that chose the checkpoint:

- ``selection`` — what training uses to pick its best checkpoint;
- ``report`` — the persona's `[eval_prompts]`, used only for published figures;
- ``unseen`` — phrasings in styles and frames the data generator never produces;
- ``unknown_words`` — prompts built around words that appear nowhere in training, judged on
  graceful fallback (in character, not the assistant-trap dismissal) with topic reported apart.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

from meow_rules.patterns import CompiledRules

SCHEMA_VERSION = 1
HARD_NEGATIVE = "hard_negative"
"""Built-in category of assistant-trap eval prompts; scored like an exempt category."""

_NON_WORD = re.compile(r"[\W_]+")

SELECTION, REPORT, UNSEEN, UNKNOWN_WORDS = "selection", "report", "unseen", "unknown_words"
SUITES = (SELECTION, REPORT, UNSEEN, UNKNOWN_WORDS)
"""Names of the held-out suites; `REPORT_SUITES` are the ones figures are published from."""
REPORT_SUITES = (REPORT, UNSEEN, UNKNOWN_WORDS)


class PersonaError(ValueError):
    """A persona file is missing, malformed, or breaks the schema."""


class EvalPrompt(NamedTuple):
    """One held-out prompt and the category its reply is scored against."""

    prompt: str
    category: str


def normalize_prompt(text: str) -> str:
    """Case-, punctuation- and whitespace-insensitive key for comparing prompts."""
    return " ".join(_NON_WORD.sub(" ", text.casefold()).split())


@dataclass(frozen=True, eq=False)
class Persona:
    """A character's voice contract. Build one with `load_persona`; instances are immutable."""

    name: str
    display_name: str
    description: str
    max_sentences: int
    max_words: int
    lowercase: bool
    allow_digits: bool
    short_reply_words: int
    repeat_allowlist: tuple[str, ...] = field(repr=False)
    dangling_words: frozenset[str] = field(repr=False)
    determiners: frozenset[str] = field(repr=False)
    function_words: frozenset[str] = field(repr=False)
    banned_phrases: tuple[str, ...] = field(repr=False)
    drift_tokens: tuple[str, ...] = field(repr=False)
    world_vocabulary: frozenset[str] = field(repr=False)
    category_keywords: dict[str, tuple[str, ...]] = field(repr=False)
    exempt_categories: frozenset[str] = field(repr=False)
    eval_prompts: tuple[EvalPrompt, ...] = field(repr=False)
    selection_prompts: tuple[EvalPrompt, ...] = field(default=(), repr=False)
    unseen_prompts: tuple[EvalPrompt, ...] = field(default=(), repr=False)
    unknown_word_prompts: tuple[EvalPrompt, ...] = field(default=(), repr=False)
    unknown_words: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)
    dismissals: tuple[str, ...] = field(default=(), repr=False)
    source: str = "<memory>"

    @property
    def categories(self) -> tuple[str, ...]:
        """The persona's own categories, in file order (without the built-in hard_negative)."""
        return tuple(self.category_keywords)

    @property
    def known_categories(self) -> frozenset[str]:
        """Every category `check` accepts: the persona's own plus `hard_negative`."""
        return frozenset(self.category_keywords) | {HARD_NEGATIVE}

    def is_exempt(self, category: str) -> bool:
        """True when replies in `category` need no category keyword."""
        return category == HARD_NEGATIVE or category in self.exempt_categories

    def suite(self, name: str) -> tuple[EvalPrompt, ...]:
        """The held-out prompts of one suite (see `SUITES`); `report` is `eval_prompts`."""
        suites = {
            SELECTION: self.selection_prompts,
            REPORT: self.eval_prompts,
            UNSEEN: self.unseen_prompts,
            UNKNOWN_WORDS: self.unknown_word_prompts,
        }
        if name not in suites:
            raise ValueError(f"unknown eval suite {name!r} (choose from {', '.join(SUITES)})")
        return suites[name]

    @property
    def held_out_prompts(self) -> tuple[EvalPrompt, ...]:
        """Every held-out prompt of every suite: what a data generator must never emit."""
        return tuple(p for name in SUITES for p in self.suite(name))

    @cached_property
    def normalized_eval_prompts(self) -> frozenset[str]:
        """Normalized held-out prompts of every suite, for leak checks by data generators."""
        return frozenset(normalize_prompt(p.prompt) for p in self.held_out_prompts)

    @cached_property
    def all_unknown_words(self) -> frozenset[str]:
        """Every held-out unknown word: no training prompt or reply may contain one."""
        return frozenset(w for words in self.unknown_words.values() for w in words)

    def unknown_word_in(self, text: str) -> str | None:
        """The first held-out unknown word `text` contains (case-insensitive), or None."""
        pattern = self.rules.unknown_words
        m = pattern.search(text.lower()) if pattern else None
        return m.group(0) if m else None

    def is_dismissal(self, text: str) -> bool:
        """True when `text` contains one of the persona's assistant-trap dismissal phrases."""
        pattern = self.rules.dismissals
        return bool(pattern and pattern.search(text.lower().replace("\u2019", "'")))

    @cached_property
    def rules(self) -> CompiledRules:
        """The persona's patterns, compiled once on first use and reused by every `check`."""
        return CompiledRules(self)

    def has_keyword(self, text: str, category: str) -> bool:
        """True when `text` names one of `category`'s required keywords (inflections allowed)."""
        pattern = self.rules.keywords.get(category)
        return bool(pattern and pattern.search(text.lower().replace("\u2019", "'")))

    def eval_prompts_for(self, category: str) -> tuple[str, ...]:
        """The held-out prompts of one category."""
        return tuple(p.prompt for p in self.eval_prompts if p.category == category)


def load_persona(path: str | Path) -> Persona:
    """Load and validate a persona TOML file; raise `PersonaError` naming the file and key."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PersonaError(f"{path}: persona file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PersonaError(f"{path}: cannot read persona file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PersonaError(f"{path}: invalid TOML: {exc}") from None
    return persona_from_dict(raw, source=str(path))


def persona_from_dict(raw: dict[str, Any], source: str = "<memory>") -> Persona:
    """Validate an already-parsed persona mapping (the TOML schema) into a `Persona`."""
    r = _Reader(raw, source)
    version = r.get("schema_version", int)
    if version != SCHEMA_VERSION:
        raise PersonaError(
            f"{source}: schema_version = {version} is not supported "
            f"(this meow-rules reads schema_version {SCHEMA_VERSION})"
        )
    keywords_raw = r.get("categories", dict)
    if not keywords_raw:
        raise PersonaError(f"{source}: [categories] must name at least one category")
    keywords = {
        str(cat): _lower_words(r.str_list(f"categories.{cat}", allow_empty=True))
        for cat in keywords_raw
    }
    exempt = frozenset(r.str_list("rules.exempt_categories", allow_empty=True))
    for cat in sorted(exempt):
        if cat not in keywords:
            raise PersonaError(f"{source}: rules.exempt_categories names unknown category {cat!r}")
    for cat, words in keywords.items():
        if not words and cat not in exempt:
            raise PersonaError(
                f"{source}: categories.{cat} has no keywords and is not in rules.exempt_categories"
            )
    known = set(keywords) | {HARD_NEGATIVE}
    prompts = _prompt_table(r, "eval_prompts", known)
    if "selection_prompts" in raw:
        selection = _prompt_table(r, "selection_prompts", known)
    else:
        # An older persona has one held-out set: carve a selection set out of it (every second
        # prompt of each category) rather than let training choose on the published prompts.
        selection, prompts = _alternate_split(prompts)
    unseen = _prompt_table(r, "unseen_prompts", known) if "unseen_prompts" in raw else ()
    unknown_words, unknown_prompts = _unknown_words(r, known)
    _check_disjoint(
        source,
        {"selection_prompts": selection, "eval_prompts": prompts, "unseen_prompts": unseen},
    )
    return Persona(
        name=r.get("name", str),
        display_name=r.get("display_name", str, default=r.get("name", str)),
        description=r.get("description", str, default=""),
        max_sentences=r.positive_int("voice.max_sentences"),
        max_words=r.positive_int("voice.max_words"),
        lowercase=r.get("voice.lowercase", bool),
        allow_digits=r.get("voice.allow_digits", bool, default=True),
        short_reply_words=r.get("voice.short_reply_words", int, default=0),
        repeat_allowlist=tuple(
            s.lower() for s in r.str_list("coherence.repeat_allowlist", allow_empty=True)
        ),
        dangling_words=frozenset(
            _lower_words(r.str_list("coherence.dangling_words", allow_empty=True))
        ),
        determiners=frozenset(_lower_words(r.str_list("coherence.determiners", allow_empty=True))),
        function_words=frozenset(
            _lower_words(r.str_list("coherence.function_words", allow_empty=True))
        ),
        banned_phrases=tuple(s.lower() for s in r.str_list("banned.phrases", allow_empty=True)),
        drift_tokens=tuple(r.str_list("banned.drift_tokens", allow_empty=True)),
        world_vocabulary=frozenset(_lower_words(r.str_list("world.vocabulary"))),
        category_keywords=keywords,
        exempt_categories=exempt,
        eval_prompts=prompts,
        selection_prompts=selection,
        unseen_prompts=unseen,
        unknown_word_prompts=unknown_prompts,
        unknown_words=unknown_words,
        dismissals=tuple(
            s.lower() for s in r.str_list("rules.dismissals", allow_empty=True, default=[])
        ),
        source=source,
    )


def _prompt_table(r: _Reader, table: str, known: set[str]) -> tuple[EvalPrompt, ...]:
    prompts: list[EvalPrompt] = []
    for cat in r.get(table, dict):
        if cat not in known:
            raise PersonaError(f"{r.source}: {table}.{cat} is not a category of this persona")
        prompts.extend(EvalPrompt(text, cat) for text in r.str_list(f"{table}.{cat}"))
    return tuple(prompts)


def _alternate_split(
    prompts: tuple[EvalPrompt, ...],
) -> tuple[tuple[EvalPrompt, ...], tuple[EvalPrompt, ...]]:
    seen: dict[str, int] = {}
    selection: list[EvalPrompt] = []
    report: list[EvalPrompt] = []
    for p in prompts:
        index = seen[p.category] = seen.get(p.category, -1) + 1
        (selection if index % 2 else report).append(p)
    return tuple(selection), tuple(report)


def _unknown_words(
    r: _Reader, known: set[str]
) -> tuple[dict[str, tuple[str, ...]], tuple[EvalPrompt, ...]]:
    words: dict[str, tuple[str, ...]] = {}
    prompts: list[EvalPrompt] = []
    for cat in r.get("unknown_words", dict, default={}):
        key = f"unknown_words.{cat}"
        if cat not in known:
            raise PersonaError(f"{r.source}: {key} is not a category of this persona")
        words[cat] = _lower_words(r.str_list(f"{key}.words"))
        pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, words[cat])) + r")(?:s|es)?\b")
        for i, text in enumerate(r.str_list(f"{key}.prompts")):
            if not pattern.search(text.lower()):
                raise PersonaError(
                    f"{r.source}: {key}.prompts[{i}] {text!r} contains none of {key}.words"
                )
            prompts.append(EvalPrompt(text, cat))
    return words, tuple(prompts)


def _check_disjoint(source: str, tables: dict[str, tuple[EvalPrompt, ...]]) -> None:
    """A prompt in two suites would let one suite's score leak into another's."""
    owner: dict[str, str] = {}
    for table, prompts in tables.items():
        for p in prompts:
            key = normalize_prompt(p.prompt)
            if key in owner and owner[key] != table:
                raise PersonaError(
                    f"{source}: {table}.{p.category} prompt {p.prompt!r} is also in {owner[key]}; "
                    "held-out suites must be disjoint"
                )
            owner[key] = table


def _lower_words(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(s.strip().lower() for s in items if s.strip()))


_MISSING = object()


class _Reader:
    """Typed access to dotted keys of a parsed TOML document, with errors naming file and key."""

    def __init__(self, raw: dict[str, Any], source: str) -> None:
        self.raw = raw
        self.source = source

    def get(self, dotted: str, kind: type, default: Any = _MISSING) -> Any:
        node: Any = self.raw
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                if default is not _MISSING:
                    return default
                raise PersonaError(f"{self.source}: missing required key {dotted!r}")
            node = node[part]
        # bool is a subclass of int; a persona saying max_words = true is a typo, not 1.
        if not isinstance(node, kind) or (kind is int and isinstance(node, bool)):
            raise PersonaError(
                f"{self.source}: key {dotted!r} must be {_type_name(kind)}, "
                f"got {_type_name(type(node))} {node!r}"
            )
        return node

    def positive_int(self, dotted: str) -> int:
        value = self.get(dotted, int)
        if value <= 0:
            raise PersonaError(f"{self.source}: key {dotted!r} must be positive, got {value}")
        return value

    def str_list(
        self, dotted: str, allow_empty: bool = False, default: Any = _MISSING
    ) -> list[str]:
        items = self.get(dotted, list, default)
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise PersonaError(
                    f"{self.source}: key {dotted!r}[{i}] must be a string, got {item!r}"
                )
        if not items and not allow_empty:
            raise PersonaError(f"{self.source}: key {dotted!r} must not be empty")
        return items


def _type_name(kind: type) -> str:
    return {
        str: "a string",
        int: "an integer",
        bool: "true/false",
        list: "a list",
        dict: "a table",
    }.get(kind, kind.__name__)
