"""meow-model: run MeowLLM character models with NumPy; train and serve them with PyTorch.

The core needs only numpy, tokenizers and safetensors (`import meow_model` never imports
PyTorch): the chat tokenizer, the model-directory format, sampling and a NumPy inference runtime.

    >>> from meow_model import load_pretrained, generate, SamplingConfig
    >>> miso = load_pretrained("path/to/model")
    >>> generate(miso.model, miso.tokenizer, "hi miso", SamplingConfig(seed=0)).text

`export_hf` and `export_gguf` (with the `gguf` extra) write a model directory for transformers
and llama.cpp; `meow-model export` does the same from the command line.

The PyTorch model, `save_pretrained` and device placement are in `meow_model.pytorch`
(`pip install meow-model[torch]`); the functions here accept its models too.
"""

from meow_model.__about__ import __version__
from meow_model.atomic_dir import recover_directory, staged_directory
from meow_model.config import ModelConfig
from meow_model.directory import (
    FORMAT_VERSION,
    MODEL_FILES,
    CheckpointError,
    Pretrained,
    expected_shapes,
    load_pretrained,
    read_chat_format,
    save_arrays,
)
from meow_model.export.gguf_file import export_gguf
from meow_model.export.hf import export_hf
from meow_model.export.output import ExportError
from meow_model.export.template import CHAT_TEMPLATE, chat_template
from meow_model.generation import ReplyStream, generate, generate_batch, stream
from meow_model.numpy_model import NumpyModel
from meow_model.replies import Reply, prompt_ids
from meow_model.sampling import SamplingConfig
from meow_model.tokenizer import (
    BOS_ID,
    CHAT_FORMAT,
    CHAT_FORMATS,
    EOS_ID,
    MISO_ID,
    PAD_ID,
    PLAIN_PUNCTUATION,
    SPECIAL_TOKENS,
    USER_ID,
    ChatTokenizer,
    TokenizerError,
    format_prompt,
)

__all__ = [
    "BOS_ID",
    "CHAT_FORMAT",
    "CHAT_FORMATS",
    "CHAT_TEMPLATE",
    "EOS_ID",
    "FORMAT_VERSION",
    "MISO_ID",
    "MODEL_FILES",
    "PAD_ID",
    "PLAIN_PUNCTUATION",
    "SPECIAL_TOKENS",
    "USER_ID",
    "ChatTokenizer",
    "CheckpointError",
    "ExportError",
    "ModelConfig",
    "NumpyModel",
    "Pretrained",
    "Reply",
    "ReplyStream",
    "SamplingConfig",
    "TokenizerError",
    "__version__",
    "chat_template",
    "expected_shapes",
    "export_gguf",
    "export_hf",
    "format_prompt",
    "generate",
    "generate_batch",
    "load_pretrained",
    "prompt_ids",
    "read_chat_format",
    "recover_directory",
    "save_arrays",
    "staged_directory",
    "stream",
]
