"""Where an export goes: never over something the user made, and never half-written.

An existing output is replaced only with `force`, and only when it is what an export writes (a
directory holding `meow_export.json`, a GGUF file, a Modelfile meow-model wrote), so a mistyped
`--out ~/Documents --force` is refused instead of deleting the folder. Files are written beside
their destination and renamed into place, directories through `staged_directory`.
"""

from __future__ import annotations

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
    if not (out.exists() or out.is_symlink()):
        return
    if not force:
        raise ExportError(f"{out} already exists; pass --force to replace it")
    if out.is_symlink() or not out.is_dir() or not (out / MARKER_FILE).is_file():
        raise ExportError(
            f"{out} exists and is not an earlier MeowLLM export (it has no {MARKER_FILE}); "
            "refusing to replace it even with --force: choose another output or remove it yourself"
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
