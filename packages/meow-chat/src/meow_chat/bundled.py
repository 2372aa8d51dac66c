"""Where the bundled Miso lives inside the installed package."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from meow_model import SamplingConfig

# meow-chat samples with meow-model's defaults, the settings the bundled model is evaluated at
_DEFAULTS = SamplingConfig()
DEFAULT_TEMPERATURE = _DEFAULTS.temperature
DEFAULT_TOP_K = _DEFAULTS.top_k
DEFAULT_TOP_P = _DEFAULTS.top_p
DEFAULT_MAX_NEW_TOKENS = _DEFAULTS.max_new_tokens


def bundled_model_dir() -> Path:
    """The model directory shipped with meow-chat (a regular directory inside the wheel)."""
    return Path(str(files("meow_chat") / "miso"))
