"""The model directory format: config.json, model.safetensors, tokenizer.json, meta.json.

Nothing is ever unpickled: weights are safetensors, everything else is JSON. Reading a directory
checks every file before anything large is allocated: config.json's fields, format and version,
then the tensor names, shapes and dtypes in the safetensors header against what config.json
implies, then the values (no NaN or infinity). Every failure is a `CheckpointError` naming the
file. This module needs no PyTorch: both runtimes (`load_pretrained` here for NumPy,
`meow_model.pytorch.load_pretrained`) read directories through it, and
`meow_model.pytorch.save_pretrained` writes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError, safe_open

from meow_model.__about__ import __version__
from meow_model.atomic_dir import interrupted_swap
from meow_model.config import ModelConfig
from meow_model.tokenizer import CHAT_FORMATS, ChatTokenizer, TokenizerError

# 2 (meow-model 2.2): config.json names the tokenizer's chat format (`chat_format`); a format-1
# directory has none and its prompts are encoded as typed (chat format 1). A meow-model older than
# 2.2 refuses format 2 rather than feed such a model prompts in a format it never saw.
FORMAT_VERSION = 2
CONFIG_FILE, WEIGHTS_FILE, TOKENIZER_FILE, META_FILE = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "meta.json",
)
MODEL_FILES = (CONFIG_FILE, WEIGHTS_FILE, TOKENIZER_FILE, META_FILE)
PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".pkl", ".pickle")
TIED_KEY = "lm_head.weight"  # tied to model.embed_tokens.weight, stored once
WEIGHT_DTYPES = ("F32", "F16", "BF16")


class CheckpointError(ValueError):
    """A model directory is missing, incomplete, corrupted or from an incompatible version."""


@dataclass
class Pretrained:
    """A loaded model directory: the model (NumPy or PyTorch runtime), its tokenizer and metadata."""

    model: Any
    tokenizer: ChatTokenizer
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


@dataclass
class ModelDirectory:
    """A checked model directory, read into memory: float32 NumPy weights by tensor name."""

    config: ModelConfig
    tokenizer: ChatTokenizer
    weights: dict[str, np.ndarray]
    meta: dict[str, Any]
    path: Path


def expected_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every stored tensor's name and shape for an architecture (Hugging Face Llama names)."""
    d, f = config.d_model, config.ffn_dim
    shapes: dict[str, tuple[int, ...]] = {
        "model.embed_tokens.weight": (config.vocab_size, d),
        "model.norm.weight": (d,),
    }
    for i in range(config.n_layers):
        p = f"model.layers.{i}."
        shapes |= {
            p + "input_layernorm.weight": (d,),
            p + "post_attention_layernorm.weight": (d,),
            **{p + f"self_attn.{n}_proj.weight": (d, d) for n in "qkvo"},
            p + "mlp.gate_proj.weight": (f, d),
            p + "mlp.up_proj.weight": (f, d),
            p + "mlp.down_proj.weight": (d, f),
        }
    return shapes


def read_directory(directory: str | Path) -> ModelDirectory:
    """Read and check a model directory written by `meow_model.pytorch.save_pretrained`."""
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
    header = _read_header(config_path)
    arch = _architecture(header, config_path)
    try:
        tokenizer = ChatTokenizer.from_file(
            directory / TOKENIZER_FILE, _chat_format(header, config_path)
        )
    except TokenizerError as exc:
        raise CheckpointError(str(exc)) from None
    if tokenizer.vocab_size != arch.vocab_size:
        raise CheckpointError(
            f"{directory / TOKENIZER_FILE}: tokenizer has {tokenizer.vocab_size} tokens but "
            f"{CONFIG_FILE} says vocab_size {arch.vocab_size}"
        )
    weights = read_weights(directory / WEIGHTS_FILE, expected_shapes(arch))
    meta_path = directory / META_FILE
    meta = _read_json(meta_path) if meta_path.exists() else {}
    return ModelDirectory(arch, tokenizer, weights, meta, directory)


def load_pretrained(directory: str | Path) -> Pretrained:
    """Load a model directory into the NumPy runtime (no PyTorch needed)."""
    from meow_model.numpy_model import NumpyModel

    read = read_directory(directory)
    return Pretrained(NumpyModel(read.config, read.weights), read.tokenizer, read.meta, read.path)


def read_config(path: Path) -> ModelConfig:
    """config.json's format, version and architecture, every field checked."""
    return _architecture(_read_header(path), path)


def read_chat_format(directory: str | Path) -> int:
    """The chat format of a model directory's tokenizer (1 for a format-1 directory)."""
    path = Path(directory) / CONFIG_FILE
    return _chat_format(_read_header(path), path)


def _architecture(config: dict[str, Any], path: Path) -> ModelConfig:
    try:
        return ModelConfig.from_dict(config.get("architecture", {}))
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: invalid architecture: {exc}") from None


def _chat_format(config: dict[str, Any], path: Path) -> int:
    if config["format_version"] == 1:
        return 1
    chat_format = config.get("chat_format")
    if isinstance(chat_format, bool) or chat_format not in CHAT_FORMATS:
        raise CheckpointError(
            f"{path}: 'chat_format' must be one of {CHAT_FORMATS}, got {chat_format!r}"
        )
    return chat_format


def _read_header(path: Path) -> dict[str, Any]:
    """config.json with its format version and the meow-model that wrote it checked."""
    config = _read_json(path)
    version = config.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise CheckpointError(
            f"{path}: 'format_version' must be a positive integer, got {version!r}"
        )
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: format version {version} was written by a newer meow-model "
            f"({config.get('meow_model_version', '?')}); this meow-model {__version__} reads format {FORMAT_VERSION}"
        )
    made_by = str(config.get("meow_model_version", ""))
    if not _compatible(made_by):
        raise CheckpointError(
            f"{path}: written by meow-model {made_by or '(unknown)'}, incompatible with the installed "
            f"meow-model {__version__} (major versions differ)"
        )
    return config


def _compatible(made_by: str) -> bool:
    """Format 1 is read as it was written, so 1.x directories load in 2.x too."""
    major = made_by.split(".")[0]
    return major.isdigit() and 1 <= int(major) <= int(__version__.split(".")[0])


def read_weights(path: Path, expected: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """Float32 arrays by name, after checking names, shapes and dtypes from the header alone."""
    try:
        with safe_open(str(path), framework="numpy") as f:
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
    weights = _read_arrays(path, {name: dtype for name, (_, dtype) in stored.items()})
    for name, array in weights.items():
        if not np.isfinite(array).all():
            raise CheckpointError(f"{path}: tensor {name} holds NaN or infinite values")
    return weights


def _read_arrays(path: Path, dtypes: dict[str, str]) -> dict[str, np.ndarray]:
    """Every tensor widened to float32, read straight from the file's data section.

    One code path for F32, F16 and BF16 (which NumPy lacks: its bits are the top half of a
    float32); the header was already validated by safetensors in `read_weights`.
    """
    try:
        raw = path.read_bytes()
        size = int.from_bytes(raw[:8], "little")
        header = json.loads(raw[8 : 8 + size])
        out = {}
        for name, dtype in dtypes.items():
            begin, end = (8 + size + o for o in header[name]["data_offsets"])
            kind = {"F32": "<f4", "F16": "<f2", "BF16": "<u2"}[dtype]
            array = np.frombuffer(raw[begin:end], dtype=kind).reshape(header[name]["shape"])
            if dtype == "BF16":
                array = (array.astype(np.uint32) << 16).view(np.float32)
            out[name] = array.astype(np.float32)
        return out
    except (OSError, ValueError, KeyError) as exc:
        raise CheckpointError(f"{path}: unreadable or truncated safetensors file: {exc}") from None


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


def save_arrays(
    directory: str | Path,
    config: ModelConfig,
    weights: dict[str, np.ndarray],
    tokenizer: ChatTokenizer,
    meta: dict[str, Any] | None = None,
) -> Path:
    """Write a model directory from NumPy arrays (float32 or float16) without PyTorch, atomically.

    `weights` holds every tensor of `expected_shapes(config)` by name: what an exporter, a
    converter or a test needs. `meow_model.pytorch.save_pretrained` writes the same format.
    """
    from safetensors.numpy import save_file

    from meow_model.atomic_dir import staged_directory

    directory = Path(directory)
    expected = expected_shapes(config)
    if tokenizer.vocab_size != config.vocab_size:
        raise CheckpointError(
            f"tokenizer has {tokenizer.vocab_size} tokens but vocab_size is {config.vocab_size}"
        )
    if set(weights) != set(expected):
        raise CheckpointError(
            f"weights must be exactly the {len(expected)} tensors of the architecture"
        )
    for name, array in weights.items():
        if array.shape != expected[name] or array.dtype not in (np.float32, np.float16):
            raise CheckpointError(
                f"{name}: expected float32/float16 {expected[name]}, got {array.dtype} {array.shape}"
            )
    header = config_header(config, tokenizer.chat_format, str(next(iter(weights.values())).dtype))
    directory.parent.mkdir(parents=True, exist_ok=True)
    with staged_directory(directory) as staging:
        arrays = {k: np.ascontiguousarray(v) for k, v in weights.items()}
        save_file(
            arrays,
            str(staging / WEIGHTS_FILE),
            metadata={"format": "np", "meow_model": __version__},
        )
        tokenizer.save(staging / TOKENIZER_FILE)
        write_json(staging / CONFIG_FILE, header)
        write_json(staging / META_FILE, {"meow_model_version": __version__, **(meta or {})})
    return directory


def config_header(config: ModelConfig, chat_format: int, weights_dtype: str) -> dict[str, Any]:
    """config.json's content. A chat-format-1 model is written as format 1, which every 2.x reads."""
    header: dict[str, Any] = {
        "format_version": 1 if chat_format == 1 else FORMAT_VERSION,
        "meow_model_version": __version__,
        "architecture": config.to_dict(),
        "weights_dtype": weights_dtype,
    }
    if chat_format != 1:
        header["chat_format"] = chat_format
    return header


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
