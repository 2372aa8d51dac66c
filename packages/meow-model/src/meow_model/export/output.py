"""Where an export goes: never over something the user made, and never half-written.

An existing output is replaced only with `force`, and only when it is exactly what an export
wrote: a directory holding `meow_export.json` and no file that export did not write (a `.git`,
a user's notes, a fine-tune saved into it are all reasons to refuse), a GGUF file meow-model
wrote, a Modelfile meow-model wrote. A mistyped `--out ~/Documents --force` is refused instead
of deleting the folder; an empty existing directory needs no `force`. Files are written beside
their destination and renamed into place, directories through `staged_directory`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

MARKER_FILE = "meow_export.json"


class ExportError(ValueError):
    """An export cannot be written: bad arguments, an output in the way, a missing extra."""


def check_source_apart(out: Path, model_dir: Path) -> None:
    """Refuse an output that is, contains or lies inside the model directory being exported."""
    a, b = out.resolve(), model_dir.resolve()
    if a == b or b in a.parents or a in b.parents:
        raise ExportError(
            f"{out}: the export must be written outside the model directory {model_dir}"
        )


def check_directory_output(out: Path, force: bool) -> None:
    if out.is_dir() and not out.is_symlink() and not any(out.iterdir()):
        return  # an empty directory: nothing to lose
    if not (out.exists() or out.is_symlink()):
        return
    if not force:
        raise ExportError(f"{out} already exists; pass --force to replace it")
    if out.is_symlink() or not out.is_dir() or not (out / MARKER_FILE).is_file():
        raise ExportError(
            f"{out} exists and is not an earlier MeowLLM export (it has no {MARKER_FILE}); "
            "refusing to replace it even with --force: choose another output or remove it yourself"
        )
    try:
        written = set(json.loads((out / MARKER_FILE).read_text(encoding="utf-8"))["files"])
    except (OSError, ValueError, KeyError, TypeError):
        written = set()
    foreign = sorted(p.name for p in out.iterdir() if p.name not in written | {MARKER_FILE})
    if foreign:
        raise ExportError(
            f"{out} holds {', '.join(foreign[:5])}{' ...' if len(foreign) > 5 else ''}, which "
            "no export wrote; refusing to replace it even with --force: move those files or "
            "choose another output"
        )


def check_file_output(out: Path, force: bool, ours: Callable[[Path], bool], kind: str) -> None:
    if out.is_dir():
        raise ExportError(f"{out} is a directory; give the path of the {kind} file to write")
    if not (out.exists() or out.is_symlink()):
        return
    if not force:
        raise ExportError(f"{out} already exists; pass --force to replace it")
    if out.is_symlink() or not ours(out):
        raise ExportError(
            f"{out} exists and is not a {kind} file; refusing to replace it even with --force"
        )


@contextmanager
def staged_file(out: Path) -> Iterator[Path]:
    """Yield a temporary path beside `out`; on success it replaces `out`, on error it is removed."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        yield staging
        os.replace(staging, out)
    finally:
        staging.unlink(missing_ok=True)
