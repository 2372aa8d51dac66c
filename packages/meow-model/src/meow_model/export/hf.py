"""Write a model directory as a Hugging Face Llama checkpoint that transformers loads with no custom code.

MeowLLM already stores Llama's tensor names and rotate-half rotary layout, so the weights go over
unchanged (the output head stays tied to the embedding). The files are written directly rather
than through `save_pretrained`, so the export needs no PyTorch and loads in transformers 4.x and
5.x alike; `config.json` carries both generations' spelling of the dtype and rotary settings.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import save_file

from meow_model.__about__ import __version__
from meow_model.atomic_dir import staged_directory
from meow_model.config import ModelConfig
from meow_model.directory import read_directory
from meow_model.export.card import CURVES_FILE, model_card
from meow_model.export.output import (
    MARKER_FILE,
    ExportError,
    check_directory_output,
    check_source_apart,
)
from meow_model.export.template import chat_template
from meow_model.sampling import SamplingConfig
from meow_model.tokenizer import (
    BOS_ID,
    EOS_ID,
    MISO_ID,
    PAD_ID,
    SPECIAL_TOKENS,
    USER_ID,
)

DTYPES = {"float32": np.float32, "float16": np.float16}


def export_hf(
    model_dir: str | Path, out: str | Path, *, dtype: str = "float32", force: bool = False
) -> Path:
    """Write `model_dir` to `out` as a transformers `LlamaForCausalLM` directory; returns `out`.

    `out` must not exist unless `force`, and then only as an earlier export (it is replaced
    whole, atomically). Raises `ExportError` for those cases and `CheckpointError` for a model
    directory that fails to load.
    """
    model_dir, out = Path(model_dir), Path(out)
    if dtype not in DTYPES:
        raise ExportError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    check_source_apart(out, model_dir)
    check_directory_output(out, force)
    source = read_directory(model_dir)
    config = source.config
    weights = {name: w.astype(DTYPES[dtype]) for name, w in source.weights.items()}
    with staged_directory(out) as staging:
        save_file(weights, str(staging / "model.safetensors"), metadata={"format": "pt"})
        source.tokenizer.save(staging / "tokenizer.json")
        _write_json(staging / "config.json", hf_config(config, dtype))
        _write_json(staging / "generation_config.json", generation_config(SamplingConfig()))
        _write_json(
            staging / "tokenizer_config.json",
            tokenizer_config(config, source.tokenizer.chat_format),
        )
        _write_json(staging / "special_tokens_map.json", special_tokens_map())
        card = model_card(model_dir, config, source.meta, out.name)
        if (curves := model_dir / CURVES_FILE).is_file():  # the card shows the training curves
            shutil.copyfile(curves, staging / CURVES_FILE)
        (staging / "README.md").write_text(card, encoding="utf-8")
        _write_json(
            staging / MARKER_FILE,
            {
                "format": "hf",
                "dtype": dtype,
                "meow_model_version": __version__,
                "files": sorted(p.name for p in staging.iterdir()),
                "source_meta": source.meta,
            },
        )
    return out


def hf_config(config: ModelConfig, dtype: str) -> dict[str, Any]:
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": config.vocab_size,
        "hidden_size": config.d_model,
        "intermediate_size": config.ffn_dim,
        "num_hidden_layers": config.n_layers,
        "num_attention_heads": config.n_heads,
        "num_key_value_heads": config.n_heads,
        "head_dim": config.head_dim,
        "hidden_act": "silu",
        "max_position_embeddings": config.max_seq_len,
        "rms_norm_eps": config.norm_eps,
        "rope_theta": config.rope_base,  # transformers 4.x
        "rope_scaling": None,
        "rope_parameters": {"rope_type": "default", "rope_theta": config.rope_base},  # 5.x
        "tie_word_embeddings": True,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "mlp_bias": False,
        "pretraining_tp": 1,
        "initializer_range": 0.02,
        "use_cache": True,
        "bos_token_id": BOS_ID,
        "eos_token_id": EOS_ID,
        "pad_token_id": PAD_ID,
        "torch_dtype": dtype,  # transformers 4.x
        "dtype": dtype,  # 5.x
    }


def generation_config(sampling: SamplingConfig) -> dict[str, Any]:
    """meow-chat's default sampling, so `model.generate` samples as Miso does at home."""
    return {
        "bos_token_id": BOS_ID,
        "eos_token_id": EOS_ID,
        "pad_token_id": PAD_ID,
        "do_sample": True,
        "temperature": sampling.temperature,
        "top_k": sampling.top_k,
        "top_p": sampling.top_p,
        "min_p": sampling.min_p or None,
        "repetition_penalty": sampling.repetition_penalty,
        "max_new_tokens": sampling.max_new_tokens,
    }


def special_tokens_map() -> dict[str, Any]:
    return {
        "bos_token": SPECIAL_TOKENS[BOS_ID],
        "eos_token": SPECIAL_TOKENS[EOS_ID],
        "pad_token": SPECIAL_TOKENS[PAD_ID],
        "additional_special_tokens": [SPECIAL_TOKENS[USER_ID], SPECIAL_TOKENS[MISO_ID]],
    }


def tokenizer_config(config: ModelConfig, chat_format: int) -> dict[str, Any]:
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        **special_tokens_map(),
        "model_max_length": config.max_seq_len,
        "add_bos_token": False,  # the chat template writes <bos> itself
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "padding_side": "left",  # batched generation pads on the left
        "chat_template": chat_template(chat_format),
    }


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
