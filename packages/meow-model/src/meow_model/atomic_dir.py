"""Replace a directory by a fully written staging copy, surviving a kill at any point.

`staged_directory(target)` is the one way MeowLLM writes a directory (model directories, training
state): the caller fills a private sibling, which gets the user's usual permissions (umask) and
then replaces `target` in two renames; the old copy is deleted only after. A process killed
between the renames leaves `.NAME-old-PID` beside a missing NAME, which the next writer puts back
(`recover_directory`). Readers never rename anything: loading stays read-only.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def staged_directory(target: Path) -> Iterator[Path]:
    """Yield an empty staging directory; on success it becomes `target`, on error it is removed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-new-", dir=target.parent))
    try:
        yield staging
        _apply_umask(staging)
        swap_directory(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _apply_umask(staging: Path) -> None:
    """mkdtemp makes a private (0700) directory; give the result the user's usual permissions."""
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)
    for path in staging.iterdir():
        path.chmod(0o666 & ~umask)


def interrupted_swap(target: Path) -> Path | None:
    """The copy an interrupted swap moved aside, when `target` itself is missing."""
    if target.exists():
        return None
    leftovers = sorted(target.parent.glob(f".{target.name}-old-*"), key=lambda p: p.stat().st_mtime)
    return leftovers[-1] if leftovers else None


def swap_directory(staging: Path, target: Path) -> None:
    """Make `staging` (a sibling of `target`) become `target`, replacing any existing copy."""
    recover_directory(target)
    if not target.exists():
        os.replace(staging, target)
        return
    old = target.with_name(f".{target.name}-old-{os.getpid()}")
    os.replace(target, old)
    os.replace(staging, target)
    shutil.rmtree(old, ignore_errors=True)


def recover_directory(target: Path) -> None:
    """Undo a swap interrupted between its two renames: bring the previous copy back (writers only)."""
    if (leftover := interrupted_swap(target)) is not None:
        os.replace(leftover, target)
