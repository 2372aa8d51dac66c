"""The PyTorch side of meow-model (`pip install meow-model[torch]`): training and GPU inference.

    >>> from meow_model.pytorch import MeowForCausalLM, load_pretrained, save_pretrained

`MeowForCausalLM` is the trainable model (Hugging Face Llama parameter names, packed-sequence
forward, KV-cache decode with a fast one-token path); `save_pretrained` writes the model
directory both runtimes read; `load_pretrained` loads one onto a device. `meow_model.generate`,
`generate_batch` and `stream` accept these models as well as NumPy ones.
"""

try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in the torch-free test environment
    raise ImportError("meow_model.pytorch needs PyTorch: pip install 'meow-model[torch]'") from exc

from meow_model.pytorch.checkpoint import load_pretrained, save_pretrained
from meow_model.pytorch.device import pick_device
from meow_model.pytorch.kv_cache import KVCache
from meow_model.pytorch.model import IGNORE_INDEX, MeowForCausalLM
from meow_model.pytorch.sampling import filtered_probs, next_token

__all__ = [
    "IGNORE_INDEX",
    "KVCache",
    "MeowForCausalLM",
    "filtered_probs",
    "load_pretrained",
    "next_token",
    "pick_device",
    "save_pretrained",
]
