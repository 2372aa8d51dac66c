"""meow-chat: the `meow-chat` command and a bundled, trained Miso that works out of the box.

Runs on meow-model's NumPy runtime: no PyTorch needed (`--backend torch` uses it when installed).

>>> from meow_chat import bundled_model_dir
>>> from meow_model import load_pretrained, generate
>>> miso = load_pretrained(bundled_model_dir())

`create_app(pretrained, ServeConfig(...))` builds the OpenAI-compatible server that
`meow-chat serve` runs; it needs the `serve` extra (starlette, uvicorn) and is imported only
when first used, so `import meow_chat` never needs them.
"""

from typing import Any

from meow_chat.__about__ import __version__
from meow_chat.bundled import bundled_model_dir
from meow_chat.serve.config import ServeConfig
from meow_chat.session import BACKENDS, BackendError, ChatSession

__all__ = [
    "BACKENDS",
    "BackendError",
    "ChatSession",
    "ServeConfig",
    "__version__",
    "bundled_model_dir",
    "create_app",
]


def __getattr__(name: str) -> Any:
    if name == "create_app":  # needs starlette: imported on first use only
        from meow_chat.serve.app import create_app

        return create_app
    raise AttributeError(f"module 'meow_chat' has no attribute {name!r}")
