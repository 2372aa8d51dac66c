"""Where the bundled Miso lives inside the installed package."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

DEFAULT_TEMPERATURE = 0.7
DEFAULT_TOP_K = 40
DEFAULT_TOP_P = 0.95
DEFAULT_MAX_NEW_TOKENS = 64


def bundled_model_dir() -> Path:
    """The model directory shipped with meow-chat (a regular directory inside the wheel)."""
    return Path(str(files("meow_chat") / "miso"))
