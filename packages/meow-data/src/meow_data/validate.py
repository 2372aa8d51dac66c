"""Validate a dataset file or directory line by line, reporting every problem with its place.

A directory is also checked as a whole: the manifest's hashes and line counts, no normalized
prompt on both sides of the split, and no held-out eval prompt or unknown word anywhere.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from meow_data.dataset import MANIFEST, SPLITS, read_manifest
from meow_rules import MISO, Persona, check, normalize_prompt

REQUIRED_FIELDS = ("input", "output", "category")


@dataclass(frozen=True)
class Problem:
    """One validation failure: where (file, line; 0 for whole-file problems) and why."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return (
            f"{self.path}:{self.line}: {self.message}"
            if self.line
            else f"{self.path}: {self.message}"
        )


@dataclass(frozen=True)
class Report:
    """The outcome of `validate`: rows read and every problem found."""

    rows: int
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def validate(target: str | Path, persona: Persona = MISO) -> Report:
    """Validate a `.jsonl` file or a dataset directory against `persona`."""
    target = Path(target)
    if target.is_dir():
        return _validate_dir(target, persona)
    if not target.exists():
        return Report(0, (Problem(str(target), 0, "no such file or directory"),))
    rows, problems, _ = _validate_file(target, persona)
    return Report(rows, tuple(problems))


class _DuplicateKeyError(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    row: dict[str, object] = {}
    for key, value in pairs:
        if key in row:
            raise _DuplicateKeyError(key)
        row[key] = value
    return row


def _validate_file(path: Path, persona: Persona) -> tuple[int, list[Problem], set[str]]:
    problems: list[Problem] = []
    prompts: set[str] = set()
    first_seen: dict[bytes, int] = {}
    rows = 0
    try:
        lines = path.read_bytes().split(b"\n")
    except OSError as exc:
        return 0, [Problem(str(path), 0, f"cannot read: {exc}")], prompts
    if lines and lines[-1] == b"":
        lines.pop()
    if not lines:
        return 0, [Problem(str(path), 0, "file is empty (no rows)")], prompts
    for number, raw in enumerate(lines, start=1):
        rows += 1
        where = lambda message, n=number: problems.append(Problem(str(path), n, message))  # noqa: E731
        try:
            row = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicate_keys)
        except UnicodeDecodeError:
            where("not valid UTF-8")
            continue
        except _DuplicateKeyError as exc:
            where(f"field {exc.args[0]!r} appears twice in the row")
            continue
        except json.JSONDecodeError as exc:
            where(f"invalid JSON: {exc.msg} (column {exc.colno})")
            continue
        if (earlier := first_seen.setdefault(raw.strip(), number)) != number:
            where(f"duplicate of line {earlier}")
            continue
        if not isinstance(row, dict):
            where("row must be a JSON object")
            continue
        bad_field = next((f for f in REQUIRED_FIELDS if not isinstance(row.get(f), str)), None)
        if bad_field:
            where(f"field {bad_field!r} is {'missing' if bad_field not in row else 'not a string'}")
            continue
        category = row["category"]
        if category not in persona.known_categories:
            where(f"field 'category': unknown category {category!r} for persona {persona.name!r}")
            continue
        norm = normalize_prompt(row["input"])
        if not norm:
            where("field 'input' is empty")
            continue
        if norm in persona.normalized_eval_prompts:
            where(f"field 'input': {row['input']!r} is a held-out eval prompt")
        for name in ("input", "output"):
            if word := persona.unknown_word_in(row[name]):
                where(f"field {name!r} holds {word!r}, a held-out unknown word of the persona")
        verdict = check(row["output"], category, persona)
        if not verdict.ok:
            where(f"field 'output' fails the rules: {verdict.reason}")
        prompts.add(norm)
    return rows, problems, prompts


def _validate_dir(directory: Path, persona: Persona) -> Report:
    problems: list[Problem] = []
    rows = 0
    manifest: dict | None = None
    try:
        manifest = read_manifest(directory)
    except (FileNotFoundError, ValueError) as exc:
        problems.append(Problem(str(directory / MANIFEST), 0, str(exc).split(": ", 1)[-1]))
    if manifest and manifest.get("persona") not in (None, persona.name):
        problems.append(
            Problem(
                str(directory / MANIFEST),
                0,
                f"made for persona {manifest['persona']!r}, validating as {persona.name!r}",
            )
        )
    prompts_by_split: dict[str, set[str]] = {}
    for split in SPLITS:
        path = directory / f"{split}.jsonl"
        if not path.exists():
            problems.append(Problem(str(path), 0, "missing split file"))
            continue
        n, file_problems, prompts = _validate_file(path, persona)
        rows += n
        problems += file_problems
        prompts_by_split[split] = prompts
        if manifest:
            problems += _check_manifest_entry(manifest, path, n)
    shared = prompts_by_split.get("train", set()) & prompts_by_split.get("val", set())
    if shared:
        example = sorted(shared)[0]
        problems.append(
            Problem(
                str(directory),
                0,
                f"{len(shared)} normalized prompts are in both train and val (e.g. {example!r})",
            )
        )
    return Report(rows, tuple(problems))


def _check_manifest_entry(manifest: dict, path: Path, lines: int) -> list[Problem]:
    where = str(path.parent / MANIFEST)
    files = manifest.get("files")
    if not isinstance(files, dict):
        return [
            Problem(
                where,
                0,
                f"'files' must be an object mapping file names to hashes, got {type(files).__name__}",
            )
        ]
    entry = files.get(path.name)
    if not isinstance(entry, dict):
        return [Problem(where, 0, f"manifest lists no entry for {path.name}")]
    problems = []
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if entry.get("sha256") != digest:
        problems.append(
            Problem(where, 0, f"sha256 of {path.name} does not match the manifest (file changed)")
        )
    if entry.get("lines") != lines:
        problems.append(
            Problem(where, 0, f"{path.name} has {lines} lines, manifest says {entry.get('lines')}")
        )
    return problems
