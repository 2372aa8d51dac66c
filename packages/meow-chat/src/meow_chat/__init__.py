"""meow-chat: the `meow-chat` command and a bundled, trained Miso that works out of the box.

Runs on meow-model's NumPy runtime: no PyTorch needed (`--backend torch` uses it when installed).

>>> from meow_chat import bundled_model_dir
>>> from meow_model import load_pretrained, generate
>>> miso = load_pretrained(bundled_model_dir())
"""

from meow_chat.__about__ import __version__
from meow_chat.bundled import bundled_model_dir
from meow_chat.session import BACKENDS, BackendError, ChatSession

__all__ = ["BACKENDS", "BackendError", "ChatSession", "__version__", "bundled_model_dir"]
