"""Slot banks: the hand-written fragments replies and prompts are assembled from.

A bank directory holds one TOML file per category (`hunger.toml`, …) and an optional
`_shared.toml` whose reply slots, prompt address forms, frames (`so {body}`, `{context}. {body}`)
context sentences and topic frames ("does {topic} scare you", used by every category that has a
`topic` slot) every category may use. Loading validates every entry against the persona
up front, so a bad fragment is reported with its file and position instead of silently lowering
the pass rate of generation.

`holdout` lists prompt frames ("my mum says", "how come you") reserved for the unseen-phrasings
eval suite: no bank entry may contain one, and the generator rejects any prompt that does. Nor
may any entry contain one of the persona's held-out unknown words.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

from meow_rules import HARD_NEGATIVE, MISO, Persona, check, normalize_prompt

SHARED_FILE = "_shared.toml"
_FRAGMENT_KINDS = ("openers", "sensory", "redirects")
_SLOT = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_BRACE = re.compile(r"[{}]")
_FRAME_SLOTS = frozenset({"body", "context"})
TOPIC_SLOT = "topic"  # a category's noun phrases for the shared topic frames

# Inclusion probabilities of the optional reply slots, unless a bank sets its own.
P_OPENER, P_SENSORY, P_REDIRECT = 0.5, 0.45, 0.55


class BankError(ValueError):
    """A slot bank file is malformed or cannot produce valid replies."""


@dataclass(frozen=True)
class CategoryBank:
    """Everything needed to compose prompts and replies for one category."""

    category: str
    source: str
    openers: tuple[str, ...]
    cores: tuple[str, ...]
    sensory: tuple[str, ...]
    redirects: tuple[str, ...]
    p_opener: float
    p_sensory: float
    p_redirect: float
    templates: tuple[str, ...]
    slots: dict[str, tuple[str, ...]]
    prefixes: tuple[str, ...]
    suffixes: tuple[str, ...]
    frames: tuple[str, ...] = ()
    contexts: tuple[str, ...] = ()
    holdout: tuple[str, ...] = ()
    topic_frames: tuple[str, ...] = ()  # the shared ones, when this bank has a `topic` slot


class HoldoutMatcher:
    """Finds held-out frames in a prompt, case- and punctuation-insensitively, on word bounds."""

    def __init__(self, frames: tuple[str, ...] | list[str]) -> None:
        keys = sorted({normalize_prompt(f) for f in frames if normalize_prompt(f)}, key=len)
        self._pattern = (
            re.compile(r"(?:^| )(" + "|".join(map(re.escape, reversed(keys))) + r")(?= |$)")
            if keys
            else None
        )

    def find(self, text: str) -> str | None:
        """The held-out frame in `text`, or None."""
        if self._pattern is None:
            return None
        m = self._pattern.search(normalize_prompt(text))
        return m.group(1) if m else None


@dataclass(frozen=True)
class _Shared:
    """What `_shared.toml` gives every category."""

    path: Path
    reply: dict[str, list[str]]
    prefixes: tuple[str, ...]
    suffixes: tuple[str, ...]
    frames: tuple[str, ...]
    contexts: tuple[str, ...]
    holdout: tuple[str, ...]
    topic_frames: tuple[str, ...] = ()


def default_banks_dir() -> Path:
    """The Miso banks shipped inside this package."""
    with as_file(files("meow_data") / "banks" / "miso") as path:
        return Path(path)


def load_banks(directory: str | Path | None = None, persona: Persona = MISO) -> list[CategoryBank]:
    """Load and validate every category bank in `directory` (default: the bundled Miso banks).

    Every category of the persona needs a bank; `hard_negative` (assistant traps answered in
    character) is optional. Banks come back in persona category order.
    """
    directory = Path(directory) if directory is not None else default_banks_dir()
    if not directory.is_dir():
        raise BankError(f"{directory}: bank directory not found")
    shared = _load_shared(directory / SHARED_FILE, persona)
    by_category: dict[str, CategoryBank] = {}
    for path in sorted(directory.glob("*.toml")):
        if path.name == SHARED_FILE:
            continue
        bank = _load_category(path, persona, shared)
        if bank.category in by_category:
            raise BankError(
                f"{path}: category {bank.category!r} already defined in {by_category[bank.category].source}"
            )
        by_category[bank.category] = bank
    missing = [c for c in persona.categories if c not in by_category]
    if missing:
        raise BankError(
            f"{directory}: no bank for categor{'y' if len(missing) == 1 else 'ies'} "
            f"{', '.join(missing)} of persona {persona.name!r} (expected {missing[0]}.toml)"
        )
    order = [*persona.categories, HARD_NEGATIVE]
    return [by_category[c] for c in order if c in by_category]


def _load_shared(path: Path, persona: Persona) -> _Shared:
    raw = _read_toml(path) if path.exists() else {}
    reply = _Table(raw.get("reply", {}), path, "reply")
    prompt = _Table(raw.get("prompt", {}), path, "prompt")
    slots = {kind: reply.str_list(kind, required=False) for kind in _FRAGMENT_KINDS}
    _validate_fragments(slots, persona, path)
    frames = tuple(prompt.str_list("frames", required=False))
    for i, frame in enumerate(frames):
        used = set(_SLOT.findall(frame))
        if "body" not in used or not used <= _FRAME_SLOTS:
            raise BankError(
                f"{path}: prompt.frames[{i}] {frame!r} must contain {{body}} and may only use "
                "{body} and {context}"
            )
    topic_frames = tuple(prompt.str_list("topic_frames", required=False))
    for i, frame in enumerate(topic_frames):
        if set(_SLOT.findall(frame)) != {TOPIC_SLOT} or _BRACE.search(_SLOT.sub("", frame)):
            raise BankError(
                f"{path}: prompt.topic_frames[{i}] {frame!r} must use {{{TOPIC_SLOT}}} and no "
                "other slot"
            )
    contexts = tuple(prompt.str_list("contexts", required=False))
    if any("{context}" in f for f in frames) and not contexts:
        raise BankError(f"{path}: prompt.frames use {{context}} but prompt.contexts is empty")
    shared = _Shared(
        path=path,
        reply=slots,
        prefixes=tuple(prompt.str_list("prefixes", required=False)) or ("",),
        suffixes=tuple(prompt.str_list("suffixes", required=False)) or ("",),
        frames=frames,
        contexts=contexts,
        holdout=tuple(prompt.str_list("holdout", required=False)),
        topic_frames=topic_frames,
    )
    entries = [
        (f"{table}.{kind}[{i}]", text)
        for table, kinds in (
            ("reply", _FRAGMENT_KINDS),
            ("prompt", ("prefixes", "suffixes", "frames", "contexts", "topic_frames")),
        )
        for kind in kinds
        for i, text in enumerate(slots[kind] if table == "reply" else getattr(shared, kind))
    ]
    _reject_held_out(entries, HoldoutMatcher(shared.holdout), persona, path)
    return shared


def _load_category(path: Path, persona: Persona, shared: _Shared) -> CategoryBank:
    raw = _read_toml(path)
    top = _Table(raw, path, "")
    category = top.string("category")
    if category not in persona.known_categories:
        known = ", ".join(sorted(persona.known_categories))
        raise BankError(
            f"{path}: category {category!r} is not a category of persona {persona.name!r} ({known})"
        )
    reply = _Table(raw.get("reply", {}), path, "reply")
    prompt = _Table(raw.get("prompt", {}), path, "prompt")
    cores = reply.str_list("cores")
    slots = {name: tuple(prompt.str_list(f"slots.{name}")) for name in prompt.table("slots")}
    own = {kind: reply.str_list(kind, required=False) for kind in _FRAGMENT_KINDS}
    _validate_fragments(own, persona, path)
    parts = {kind: [*shared.reply[kind], *own[kind]] for kind in _FRAGMENT_KINDS}
    bank = CategoryBank(
        category=category,
        source=str(path),
        openers=tuple(parts["openers"]),
        cores=tuple(cores),
        sensory=tuple(parts["sensory"]),
        redirects=tuple(parts["redirects"]),
        p_opener=reply.probability("p_opener", P_OPENER),
        p_sensory=reply.probability("p_sensory", P_SENSORY),
        p_redirect=reply.probability("p_redirect", P_REDIRECT),
        templates=tuple(prompt.str_list("templates")),
        slots=slots,
        prefixes=shared.prefixes,
        suffixes=shared.suffixes,
        frames=shared.frames,
        contexts=shared.contexts,
        holdout=(*shared.holdout, *prompt.str_list("holdout", required=False)),
        topic_frames=shared.topic_frames if TOPIC_SLOT in slots else (),
    )
    _validate_entries(bank, persona, path)
    _validate_held_out(bank, persona, path)
    return bank


def _validate_fragments(fragments: dict[str, list[str]], persona: Persona, path: Path) -> None:
    """Openers, sensory details and redirects must pass the persona's voice rules on their own."""
    for kind, entries in fragments.items():
        for i, text in enumerate(entries):
            # hard_negative is always keyword-exempt: this checks the voice, not the topic
            verdict = check(f"{text}.", HARD_NEGATIVE, persona)
            if not verdict.ok:
                raise BankError(f"{path}: reply.{kind}[{i}] {text!r} is invalid: {verdict.reason}")


def _validate_entries(bank: CategoryBank, persona: Persona, path: Path) -> None:
    """Every core must pass the rules and carry a keyword; templates may only use known slots."""
    for i, core in enumerate(bank.cores):
        verdict = check(f"{core}.", bank.category, persona)
        if not verdict.ok:
            raise BankError(f"{path}: reply.cores[{i}] {core!r} is invalid: {verdict.reason}")
        if not persona.is_exempt(bank.category) and not persona.has_keyword(core, bank.category):
            raise BankError(
                f"{path}: reply.cores[{i}] {core!r} names no {bank.category} keyword of persona "
                f"{persona.name!r}, so replies built on it could fail the topic check"
            )
    for i, template in enumerate(bank.templates):
        used = _SLOT.findall(template)
        for name in used:
            if name not in bank.slots:
                raise BankError(
                    f"{path}: prompt.templates[{i}] {template!r} uses unknown slot {{{name}}}"
                )
        if _BRACE.search(_SLOT.sub("", template)):
            raise BankError(f"{path}: prompt.templates[{i}] {template!r} has an unmatched brace")


def _validate_held_out(bank: CategoryBank, persona: Persona, path: Path) -> None:
    """No entry may carry a held-out frame or a held-out unknown word into the training data."""
    entries = [(f"prompt.templates[{i}]", t) for i, t in enumerate(bank.templates)]
    for name, values in bank.slots.items():
        entries += [(f"prompt.slots.{name}[{i}]", v) for i, v in enumerate(values)]
    for kind in ("cores", *_FRAGMENT_KINDS):
        entries += [(f"reply.{kind}[{i}]", v) for i, v in enumerate(getattr(bank, kind))]
    _reject_held_out(entries, HoldoutMatcher(bank.holdout), persona, path)


def _reject_held_out(
    entries: list[tuple[str, str]], matcher: HoldoutMatcher, persona: Persona, path: Path
) -> None:
    for key, text in entries:
        plain = _SLOT.sub(" ", text)
        if frame := matcher.find(plain):
            raise BankError(
                f"{path}: {key} {text!r} contains the held-out frame {frame!r} "
                "(held-out frames are reserved for the unseen-phrasings eval suite)"
            )
        if word := persona.unknown_word_in(plain):
            raise BankError(
                f"{path}: {key} {text!r} contains {word!r}, a held-out unknown word of "
                f"persona {persona.name!r}"
            )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise BankError(f"{path}: cannot read bank file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise BankError(f"{path}: invalid TOML: {exc}") from None


class _Table:
    """Typed reads from one TOML table with errors naming the file and dotted key."""

    def __init__(self, raw: Any, path: Path, prefix: str) -> None:
        if not isinstance(raw, dict):
            raise BankError(f"{path}: [{prefix}] must be a table")
        self.raw, self.path, self.prefix = raw, path, prefix

    def _key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def _lookup(self, dotted: str) -> Any:
        node: Any = self.raw
        for part in dotted.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return node

    def string(self, name: str) -> str:
        value = self._lookup(name)
        if not isinstance(value, str) or not value:
            raise BankError(f"{self.path}: key {self._key(name)!r} must be a non-empty string")
        return value

    def table(self, name: str) -> dict[str, Any]:
        value = self._lookup(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise BankError(f"{self.path}: [{self._key(name)}] must be a table")
        return value

    def probability(self, name: str, default: float) -> float:
        value = self._lookup(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise BankError(
                f"{self.path}: key {self._key(name)!r} must be a number in [0, 1], got {value!r}"
            )
        return float(value)

    def str_list(self, name: str, required: bool = True) -> list[str]:
        value = self._lookup(name)
        if value is None and not required:
            return []
        if not isinstance(value, list):
            raise BankError(f"{self.path}: key {self._key(name)!r} must be a list of strings")
        if not value and required:
            raise BankError(f"{self.path}: key {self._key(name)!r} is empty")
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise BankError(
                    f"{self.path}: {self._key(name)}[{i}] must be a string, got {item!r}"
                )
        return value
