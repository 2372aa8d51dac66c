"""Write a model directory as a GGUF file for llama.cpp (and llama-cpp-python, Ollama, LM Studio).

It follows llama.cpp's own converter for Llama checkpoints: `llama` architecture metadata, the
byte-level BPE vocabulary as a `gpt2` tokenizer with the `gpt-2` pre-tokenizer, and q/k
projections permuted from Hugging Face's rotate-half rotary layout to the interleaved pairs
llama.cpp rotates. Without that permutation the model still loads and talks fluently, but says
different things: the interop tests compare replies to catch exactly that. Norm weights stay
float32 in a float16 file, as llama.cpp's converter keeps them. meow-chat's default sampling
goes into the `general.sampling.*` keys, and an Ollama Modelfile is written beside the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from meow_model.__about__ import __version__
from meow_model.config import ModelConfig
from meow_model.directory import read_directory
from meow_model.export.output import (
    ExportError,
    check_file_output,
    check_source_apart,
    staged_file,
)
from meow_model.export.template import chat_template, ollama_template
from meow_model.sampling import SamplingConfig
from meow_model.tokenizer import (
    BOS_ID,
    EOS_ID,
    PAD_ID,
    SPECIAL_TOKENS,
    ChatTokenizer,
)

GGUF_MAGIC = b"GGUF"
EXPORT_KEY = "meowllm.export.meow_model_version"
MODELFILE_HEADER = "# Ollama Modelfile written by meow-model"
DTYPES = ("float32", "float16")


def export_gguf(
    model_dir: str | Path,
    out: str | Path,
    *,
    dtype: str = "float32",
    force: bool = False,
) -> Path:
    """Write `model_dir` to the GGUF file `out` and an Ollama Modelfile beside it; returns `out`.

    Needs the `gguf` package (`pip install meow-model[gguf]`). `out` must not exist unless
    `force`, and then only as a GGUF file (the Modelfile likewise only as one meow-model wrote).
    """
    try:
        import gguf
    except ImportError:
        raise ExportError(
            "GGUF export needs the gguf package: pip install 'meow-model[gguf]'"
        ) from None
    model_dir, out = Path(model_dir), Path(out)
    if dtype not in DTYPES:
        raise ExportError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if out.suffix != ".gguf":
        raise ExportError(f"{out}: a GGUF file name must end in .gguf")
    modelfile = modelfile_path(out)
    check_source_apart(out, model_dir)
    check_file_output(out, force, _is_our_gguf, "meow-model GGUF")
    check_file_output(modelfile, force, _is_our_modelfile, "meow-model Modelfile")
    source = read_directory(model_dir)
    config = source.config

    with staged_file(out) as staging:
        writer = gguf.GGUFWriter(str(staging), "llama")
        _write_metadata(writer, gguf, config, model_dir.resolve().name, dtype)
        _write_tokenizer(writer, gguf, source.tokenizer)
        for name, array in gguf_tensors(source.weights, config, dtype).items():
            writer.add_tensor(name, array)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
    with staged_file(modelfile) as staging:
        modelfile = ollama_modelfile(out, config, SamplingConfig(), source.tokenizer.chat_format)
        staging.write_text(modelfile, encoding="utf-8")
    return out


def modelfile_path(gguf_path: Path) -> Path:
    return gguf_path.with_name(gguf_path.stem + ".Modelfile")


def permute_for_llama_cpp(weight: np.ndarray, n_heads: int) -> np.ndarray:
    """Reorder a q or k projection's rows from rotate-half halves to interleaved pairs, per head."""
    rows, cols = weight.shape
    return weight.reshape(n_heads, 2, rows // n_heads // 2, cols).swapaxes(1, 2).reshape(rows, cols)


def gguf_tensors(
    weights: dict[str, np.ndarray], config: ModelConfig, dtype: str
) -> dict[str, np.ndarray]:
    """The model's tensors under llama.cpp's names, q/k permuted, matrices in `dtype`."""
    matrix = np.float16 if dtype == "float16" else np.float32
    out = {
        "token_embd.weight": weights["model.embed_tokens.weight"].astype(matrix),
        "output_norm.weight": weights["model.norm.weight"].astype(np.float32),
    }
    for i in range(config.n_layers):
        src, dst = f"model.layers.{i}.", f"blk.{i}."
        q, k = (
            permute_for_llama_cpp(weights[src + f"self_attn.{n}_proj.weight"], config.n_heads)
            for n in "qk"
        )
        out |= {
            dst + "attn_norm.weight": weights[src + "input_layernorm.weight"].astype(np.float32),
            dst + "attn_q.weight": q.astype(matrix),
            dst + "attn_k.weight": k.astype(matrix),
            dst + "attn_v.weight": weights[src + "self_attn.v_proj.weight"].astype(matrix),
            dst + "attn_output.weight": weights[src + "self_attn.o_proj.weight"].astype(matrix),
            dst + "ffn_norm.weight": weights[src + "post_attention_layernorm.weight"].astype(
                np.float32
            ),
            dst + "ffn_gate.weight": weights[src + "mlp.gate_proj.weight"].astype(matrix),
            dst + "ffn_up.weight": weights[src + "mlp.up_proj.weight"].astype(matrix),
            dst + "ffn_down.weight": weights[src + "mlp.down_proj.weight"].astype(matrix),
        }
    return {name: np.ascontiguousarray(a) for name, a in out.items()}


def _write_metadata(writer: Any, gguf: Any, config: ModelConfig, name: str, dtype: str) -> None:
    writer.add_name(name)
    writer.add_description(f"MeowLLM character model, exported by meow-model {__version__}")
    writer.add_string(EXPORT_KEY, __version__)  # how --force knows a file is one of ours
    writer.add_context_length(config.max_seq_len)
    writer.add_embedding_length(config.d_model)
    writer.add_block_count(config.n_layers)
    writer.add_feed_forward_length(config.ffn_dim)
    writer.add_head_count(config.n_heads)
    writer.add_head_count_kv(config.n_heads)
    writer.add_key_length(config.head_dim)
    writer.add_value_length(config.head_dim)
    writer.add_rope_dimension_count(config.head_dim)
    writer.add_rope_freq_base(config.rope_base)
    writer.add_layer_norm_rms_eps(config.norm_eps)
    writer.add_vocab_size(config.vocab_size)
    writer.add_file_type(
        gguf.LlamaFileType.MOSTLY_F16 if dtype == "float16" else gguf.LlamaFileType.ALL_F32
    )
    sampling = SamplingConfig()
    writer.add_sampling_temp(sampling.temperature)
    writer.add_sampling_top_k(sampling.top_k)
    writer.add_sampling_top_p(sampling.top_p)
    writer.add_sampling_min_p(sampling.min_p)
    writer.add_sampling_penalty_repeat(sampling.repetition_penalty)


def _write_tokenizer(writer: Any, gguf: Any, tokenizer: ChatTokenizer) -> None:
    backend = tokenizer.backend
    tokens = [backend.id_to_token(i) for i in range(tokenizer.vocab_size)]
    if any(t is None for t in tokens):
        raise ExportError("the tokenizer's ids are not contiguous; it cannot be written as GGUF")
    special = {t.content for t in backend.get_added_tokens_decoder().values() if t.special}
    merges = json.loads(backend.to_str())["model"]["merges"]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")  # byte-level BPE with GPT-2's split pattern, as fitted
    writer.add_token_list(tokens)
    writer.add_token_types(
        [gguf.TokenType.CONTROL if t in special else gguf.TokenType.NORMAL for t in tokens]
    )
    writer.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in merges])
    writer.add_bos_token_id(BOS_ID)
    writer.add_eos_token_id(EOS_ID)
    writer.add_pad_token_id(PAD_ID)
    writer.add_add_bos_token(False)  # the chat template writes <bos> itself
    writer.add_add_eos_token(False)
    writer.add_chat_template(chat_template(tokenizer.chat_format))


def ollama_modelfile(
    gguf_path: Path, config: ModelConfig, sampling: SamplingConfig, chat_format: int
) -> str:
    model = gguf_path.stem
    case_note = (
        "# This model reads prompts lowercased, trimmed and with plain quotes; Ollama's templates cannot\n"
        "# do that, so type in lowercase with the keyboard's ' and \" (not a phone's curly ones).\n"
        if chat_format == 2
        else ""
    )
    return (
        f"{MODELFILE_HEADER} {__version__} for {gguf_path.name}\n"
        f'# ollama create {model} -f {gguf_path.stem}.Modelfile && ollama run {model} "hi"\n'
        f"{case_note}"
        f"FROM ./{gguf_path.name}\n"
        f'TEMPLATE """{ollama_template(chat_format)}"""\n'
        f'PARAMETER stop "{SPECIAL_TOKENS[EOS_ID]}"\n'
        f"PARAMETER num_ctx {config.max_seq_len}\n"
        f"PARAMETER num_predict {sampling.max_new_tokens}\n"
        f"PARAMETER temperature {sampling.temperature}\n"
        f"PARAMETER top_k {sampling.top_k}\n"
        f"PARAMETER top_p {sampling.top_p}\n"
        f"PARAMETER min_p {sampling.min_p}\n"
        f"PARAMETER repeat_penalty {sampling.repetition_penalty}\n"
    )


def _is_our_gguf(path: Path) -> bool:
    """A GGUF file that meow-model wrote (not a downloaded model someone keeps here)."""
    with path.open("rb") as f:
        if f.read(4) != GGUF_MAGIC:
            return False
    try:
        from gguf import GGUFReader

        return EXPORT_KEY in GGUFReader(str(path)).fields
    except Exception:  # a truncated or foreign file the reader cannot parse is not ours
        return False


def _is_our_modelfile(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(len(MODELFILE_HEADER)) == MODELFILE_HEADER.encode()
