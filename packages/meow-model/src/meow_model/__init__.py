"""meow-model: a tiny Llama-layout transformer with a chat tokenizer, KV-cache generation and
safe (pickle-free) model directories.

    >>> from meow_model import load_pretrained, generate, SamplingConfig
    >>> miso = load_pretrained("path/to/model")
    >>> generate(miso.model, miso.tokenizer, "hi miso", SamplingConfig(seed=0)).text
"""

from meow_model.__about__ import __version__
from meow_model.atomic_dir import recover_directory, staged_directory, swap_directory
from meow_model.checkpoint import (
    FORMAT_VERSION,
    MODEL_FILES,
    CheckpointError,
    Pretrained,
    load_pretrained,
    save_pretrained,
)
from meow_model.config import ModelConfig
from meow_model.device import pick_device
from meow_model.generate import Reply, generate, generate_batch, generate_ids, prompt_ids, stream
from meow_model.kv_cache import KVCache
from meow_model.model import IGNORE_INDEX, MeowForCausalLM
from meow_model.rope import apply_rope, rope_tables, rotate_half
from meow_model.sampling import SamplingConfig, next_token
from meow_model.tokenizer import (
    BOS_ID,
    EOS_ID,
    MISO_ID,
    PAD_ID,
    SPECIAL_TOKENS,
    USER_ID,
    ChatEncoding,
    ChatTokenizer,
    StreamDecoder,
    TokenizerError,
)

__all__ = [
    "BOS_ID",
    "EOS_ID",
    "FORMAT_VERSION",
    "IGNORE_INDEX",
    "MISO_ID",
    "MODEL_FILES",
    "PAD_ID",
    "SPECIAL_TOKENS",
    "USER_ID",
    "ChatEncoding",
    "ChatTokenizer",
    "CheckpointError",
    "KVCache",
    "MeowForCausalLM",
    "ModelConfig",
    "Pretrained",
    "Reply",
    "SamplingConfig",
    "StreamDecoder",
    "TokenizerError",
    "__version__",
    "apply_rope",
    "generate",
    "generate_batch",
    "generate_ids",
    "load_pretrained",
    "next_token",
    "pick_device",
    "prompt_ids",
    "recover_directory",
    "rope_tables",
    "rotate_half",
    "save_pretrained",
    "staged_directory",
    "stream",
    "swap_directory",
]
