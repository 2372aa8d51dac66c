"""Replace a directory by a fully written staging copy, surviving a kill at any point.

Two renames move the old directory aside and the new one in; the old copy is deleted only after.
A process killed between the renames leaves `.NAME-old-PID` beside a missing NAME, which
`recover_directory` (called before every read and every swap) puts back.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


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
    """Undo a swap interrupted between its two renames: bring the previous copy back."""
    if target.exists():
        return
    leftovers = sorted(target.parent.glob(f".{target.name}-old-*"), key=lambda p: p.stat().st_mtime)
    if leftovers:
        os.replace(leftovers[-1], target)
