"""meow-chat: the `meow-chat` command and a bundled, trained Miso that works out of the box.

>>> from meow_chat import bundled_model_dir
>>> from meow_model import load_pretrained, generate
>>> miso = load_pretrained(bundled_model_dir())
"""

from meow_chat.__about__ import __version__
from meow_chat.bundled import (
    DEFAULT_MAX_NEW_TOKENS,
    DEFAULT_TEMPERATURE,
    DEFAULT_TOP_K,
    DEFAULT_TOP_P,
    bundled_model_dir,
)
from meow_chat.session import ChatSession

__all__ = [
    "DEFAULT_MAX_NEW_TOKENS",
    "DEFAULT_TEMPERATURE",
    "DEFAULT_TOP_K",
    "DEFAULT_TOP_P",
    "ChatSession",
    "__version__",
    "bundled_model_dir",
]
