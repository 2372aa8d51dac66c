"""Model directories for the PyTorch runtime: write them atomically, load them onto a device.

The format and every check on reading live in `meow_model.directory` (no PyTorch); this module
turns a `MeowForCausalLM` into a directory and a directory back into one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from meow_model.__about__ import __version__
from meow_model.atomic_dir import staged_directory
from meow_model.directory import (
    CONFIG_FILE,
    META_FILE,
    TIED_KEY,
    TOKENIZER_FILE,
    WEIGHTS_FILE,
    CheckpointError,
    Pretrained,
    config_header,
    read_directory,
    write_json,
)
from meow_model.pytorch.model import MeowForCausalLM
from meow_model.tokenizer import ChatTokenizer


def save_pretrained(
    model: MeowForCausalLM,
    tokenizer: ChatTokenizer,
    directory: str | Path,
    meta: dict[str, Any] | None = None,
    dtype: torch.dtype | None = None,
) -> Path:
    """Write a model directory atomically; `dtype` (e.g. torch.float16) shrinks stored weights."""
    directory = Path(directory)
    if tokenizer.vocab_size != model.config.vocab_size:
        raise CheckpointError(
            f"tokenizer has {tokenizer.vocab_size} tokens but the model's vocab_size is {model.config.vocab_size}"
        )
    directory.parent.mkdir(parents=True, exist_ok=True)
    state = {
        k: (v.detach().to(dtype) if dtype is not None else v.detach()).contiguous().cpu()
        for k, v in model.state_dict().items()
        if k != TIED_KEY
    }
    dtype_name = str(next(iter(state.values())).dtype).removeprefix("torch.")
    config = config_header(model.config, tokenizer.chat_format, dtype_name)
    with staged_directory(directory) as staging:
        save_file(
            state, str(staging / WEIGHTS_FILE), metadata={"format": "pt", "meow_model": __version__}
        )
        tokenizer.save(staging / TOKENIZER_FILE)
        write_json(staging / CONFIG_FILE, config)
        write_json(staging / META_FILE, {"meow_model_version": __version__, **(meta or {})})
    return directory


def load_pretrained(
    directory: str | Path, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32
) -> Pretrained:
    """Load a model directory into a `MeowForCausalLM` on `device`, checking every file first."""
    read = read_directory(directory)
    model = MeowForCausalLM(read.config, init_weights=False)
    params = model.state_dict()
    with torch.no_grad():
        for name, array in read.weights.items():
            params[name].copy_(torch.from_numpy(array))
    model.to(device=device, dtype=dtype).eval()
    return Pretrained(model, read.tokenizer, read.meta, read.path)
