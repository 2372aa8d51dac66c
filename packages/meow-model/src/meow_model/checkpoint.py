"""The model directory format: config.json, model.safetensors, tokenizer.json, meta.json.

Nothing is ever unpickled: weights are safetensors, everything else is JSON. A directory is
written to a temporary sibling and swapped into place, so a crash never leaves a half-written
model. Every loading failure is a `CheckpointError` naming the offending file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from meow_model.__about__ import __version__
from meow_model.atomic_dir import interrupted_swap, staged_directory
from meow_model.config import ModelConfig
from meow_model.model import MeowForCausalLM
from meow_model.tokenizer import ChatTokenizer, TokenizerError

FORMAT_VERSION = 1
CONFIG_FILE, WEIGHTS_FILE, TOKENIZER_FILE, META_FILE = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "meta.json",
)
MODEL_FILES = (CONFIG_FILE, WEIGHTS_FILE, TOKENIZER_FILE, META_FILE)
PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".pkl", ".pickle")
TIED_KEY = "lm_head.weight"  # tied to model.embed_tokens.weight, stored once
WEIGHT_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


class CheckpointError(ValueError):
    """A model directory is missing, incomplete, corrupted or from an incompatible version."""


@dataclass
class Pretrained:
    """A loaded model directory."""

    model: MeowForCausalLM
    tokenizer: ChatTokenizer
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


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
    config = {
        "format_version": FORMAT_VERSION,
        "meow_model_version": __version__,
        "architecture": model.config.to_dict(),
        "weights_dtype": str(next(iter(state.values())).dtype).removeprefix("torch."),
    }
    with staged_directory(directory) as staging:
        save_file(
            state, str(staging / WEIGHTS_FILE), metadata={"format": "pt", "meow_model": __version__}
        )
        tokenizer.save(staging / TOKENIZER_FILE)
        _write_json(staging / CONFIG_FILE, config)
        _write_json(staging / META_FILE, {"meow_model_version": __version__, **(meta or {})})
    return directory


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def load_pretrained(
    directory: str | Path, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32
) -> Pretrained:
    """Load a model directory written by `save_pretrained`, checking every file on the way."""
    directory = Path(directory)
    if (leftover := interrupted_swap(directory)) is not None:
        raise CheckpointError(
            f"{directory}: not found, but {leftover.name} beside it is the copy a save that was "
            "cut off moved aside; the next save there restores it (or rename it yourself)"
        )
    if not directory.is_dir():
        raise CheckpointError(f"{directory}: model directory not found")
    _refuse_pickles(directory)
    config_path = directory / CONFIG_FILE
    config = _read_json(config_path)
    version = config.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise CheckpointError(
            f"{config_path}: 'format_version' must be a positive integer, got {version!r}"
        )
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{config_path}: format version {version} was written by a newer meow-model "
            f"({config.get('meow_model_version', '?')}); this meow-model {__version__} reads format {FORMAT_VERSION}"
        )
    made_by = str(config.get("meow_model_version", ""))
    if made_by.split(".")[0] != __version__.split(".")[0]:
        raise CheckpointError(
            f"{config_path}: written by meow-model {made_by or '(unknown)'}, incompatible with the installed "
            f"meow-model {__version__} (major versions differ)"
        )
    try:
        arch = ModelConfig.from_dict(config.get("architecture", {}))
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{config_path}: invalid architecture: {exc}") from None
    try:
        tokenizer = ChatTokenizer.from_file(directory / TOKENIZER_FILE)
    except TokenizerError as exc:
        raise CheckpointError(str(exc)) from None
    if tokenizer.vocab_size != arch.vocab_size:
        raise CheckpointError(
            f"{directory / TOKENIZER_FILE}: tokenizer has {tokenizer.vocab_size} tokens but "
            f"{CONFIG_FILE} says vocab_size {arch.vocab_size}"
        )
    # Shapes and dtypes are checked against the safetensors header before anything is allocated,
    # so a hostile config.json cannot make the loader reserve more memory than the file holds.
    with torch.device("meta"):
        shapes = _expected_shapes(MeowForCausalLM(arch, init_weights=False))
    _check_header(directory / WEIGHTS_FILE, shapes)
    model = MeowForCausalLM(arch, init_weights=False)
    _load_weights(model, directory / WEIGHTS_FILE)
    model.to(device=device, dtype=dtype).eval()
    meta_path = directory / META_FILE
    meta = _read_json(meta_path) if meta_path.exists() else {}
    return Pretrained(model, tokenizer, meta, directory)


def _refuse_pickles(directory: Path) -> None:
    if (directory / WEIGHTS_FILE).exists():
        return
    pickles = sorted(p.name for p in directory.iterdir() if p.suffix in PICKLE_SUFFIXES)
    if pickles:
        raise CheckpointError(
            f"{directory / pickles[0]}: pickled checkpoints are never loaded (they can run arbitrary code); "
            f"meow-model reads only {WEIGHTS_FILE}"
        )
    raise CheckpointError(f"{directory / WEIGHTS_FILE}: weights file not found")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a JSON object")
    return data


def _expected_shapes(model: MeowForCausalLM) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in model.state_dict().items() if k != TIED_KEY}


def _check_header(path: Path, expected: dict[str, tuple[int, ...]]) -> None:
    """Tensor names, shapes and dtypes from the file's header, without reading the data."""
    try:
        with safe_open(str(path), framework="pt") as f:
            slices = {name: f.get_slice(name) for name in f.keys()}  # noqa: SIM118 (not a dict)
            stored = {name: (tuple(sl.get_shape()), sl.get_dtype()) for name, sl in slices.items()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: unreadable or truncated safetensors file: {exc}") from None
    missing = sorted(set(expected) - set(stored))
    unexpected = sorted(set(stored) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{path}: tensors do not match the architecture (missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    for name, (shape, dtype) in stored.items():
        if shape != expected[name]:
            raise CheckpointError(
                f"{path}: tensor {name} has shape {shape}, config.json implies {expected[name]}"
            )
        if dtype not in WEIGHT_DTYPES:
            raise CheckpointError(
                f"{path}: tensor {name} is {dtype}; weights must be one of {', '.join(WEIGHT_DTYPES)}"
            )


def _load_weights(model: MeowForCausalLM, path: Path) -> None:
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: unreadable or truncated safetensors file: {exc}") from None
    for name, tensor in state.items():
        if not torch.isfinite(tensor).all():
            raise CheckpointError(f"{path}: tensor {name} holds NaN or infinite values")
    params = model.state_dict()
    with torch.no_grad():
        for name, tensor in state.items():
            params[name].copy_(tensor)
