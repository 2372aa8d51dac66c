"""Where the bundled Miso lives inside the installed package."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def bundled_model_dir() -> Path:
    """The model directory shipped with meow-chat (a regular directory inside the wheel)."""
    return Path(str(files("meow_chat") / "miso"))
