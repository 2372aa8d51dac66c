"""Helpers for the integration suite: run the real console scripts of the installed packages.

Importable from the tests because the root pytest config puts tests-integration/ on sys.path.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
BIN = Path(sys.executable).parent


def cli(
    name: str, *args: str | Path, timeout: int = 600, check: bool = True, **kwargs
) -> subprocess.CompletedProcess:
    """Run an installed console script (meow-data, meow-train, meow-chat, torchrun)."""
    exe = shutil.which(name, path=str(BIN)) or shutil.which(name)
    assert exe, f"{name} is not installed in {BIN}"
    env = {
        **os.environ,
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2"),
        **kwargs.pop("env", {}),
    }
    result = subprocess.run(
        [exe, *map(str, args)], capture_output=True, timeout=timeout, env=env, **kwargs
    )
    if check:
        assert result.returncode == 0, (
            f"{name} {args} failed ({result.returncode}):\n{result.stderr.decode(errors='replace')[-3000:]}"
        )
    return result


def metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def train_losses(run_dir: Path) -> dict[int, float]:
    return {m["step"]: m["loss"] for m in metrics(run_dir) if m["event"] == "train"}


# A small model keeps the suite within its time budget; the default size is exercised by tools/.
SMALL = (
    "--d-model",
    "96",
    "--layers",
    "2",
    "--heads",
    "2",
    "--ffn",
    "256",
    "--vocab-size",
    "1024",
    "--quiet",
)
