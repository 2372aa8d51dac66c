"""Exports to Hugging Face and GGUF: the files written, what they hold, and every refusal.

Torch-free (runs in the model-core environment). Loading the exports in transformers and
llama.cpp themselves is tests-integration/interop's job.
"""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from safetensors.numpy import load_file

from meow_model import (
    CHAT_TEMPLATE,
    SPECIAL_TOKENS,
    ChatTokenizer,
    CheckpointError,
    ExportError,
    ModelConfig,
    chat_template,
    expected_shapes,
    export_gguf,
    export_hf,
    save_arrays,
)
from meow_model.cli import main
from meow_model.export.gguf_file import permute_for_llama_cpp
from meow_model.numpy_model import rope_tables_np


def random_weights(config, seed=0):
    rng = np.random.default_rng(seed)
    return {
        name: (
            1 + rng.normal(0, 0.1, shape) if len(shape) == 1 else rng.normal(0, 0.05, shape)
        ).astype(np.float32)
        for name, shape in expected_shapes(config).items()
    }


@pytest.fixture
def model_dir(tmp_path, config, tokenizer):
    return save_arrays(tmp_path / "model", config, random_weights(config), tokenizer)


# --- Hugging Face -------------------------------------------------------------------------


def test_hf_export_holds_a_llama_config_the_weights_and_the_chat_tokenizer(
    tmp_path, model_dir, config
):
    out = export_hf(model_dir, tmp_path / "hf")
    hf = json.loads((out / "config.json").read_text())
    assert hf["architectures"] == ["LlamaForCausalLM"] and hf["model_type"] == "llama"
    assert (hf["hidden_size"], hf["num_hidden_layers"], hf["num_attention_heads"]) == (
        config.d_model,
        config.n_layers,
        config.n_heads,
    )
    assert hf["num_key_value_heads"] == config.n_heads and hf["intermediate_size"] == config.ffn_dim
    assert hf["tie_word_embeddings"] is True and hf["rope_theta"] == config.rope_base
    assert hf["max_position_embeddings"] == config.max_seq_len
    assert (hf["bos_token_id"], hf["eos_token_id"], hf["pad_token_id"]) == (1, 2, 0)
    weights = load_file(out / "model.safetensors")
    assert "lm_head.weight" not in weights  # tied to the embedding
    for name, array in random_weights(config).items():
        np.testing.assert_array_equal(weights[name], array)
    tok = json.loads((out / "tokenizer_config.json").read_text())
    assert (
        tok["chat_template"] == chat_template(2) and tok["model_max_length"] == config.max_seq_len
    )
    assert (tok["bos_token"], tok["eos_token"], tok["pad_token"]) == ("<bos>", "<eos>", "<pad>")
    assert (out / "tokenizer.json").read_text() == (model_dir / "tokenizer.json").read_text()
    assert (out / "README.md").read_text().startswith("---\nlibrary_name: transformers\n")
    gen = json.loads((out / "generation_config.json").read_text())
    assert gen["eos_token_id"] == 2 and gen["temperature"] == 0.7


def test_hf_export_in_half_precision_rounds_each_weight_once(tmp_path, model_dir, config):
    out = export_hf(model_dir, tmp_path / "hf16", dtype="float16")
    weights = load_file(out / "model.safetensors")
    for name, array in random_weights(config).items():
        assert weights[name].dtype == np.float16
        np.testing.assert_array_equal(weights[name], array.astype(np.float16))
    assert json.loads((out / "config.json").read_text())["torch_dtype"] == "float16"


def test_the_model_card_of_the_model_directory_is_carried_over(tmp_path, model_dir):
    (model_dir / "MODEL_CARD.md").write_text(
        "# Rex\n\nA dog of few words.\n![curves](training.png)\n"
    )
    (model_dir / "training.png").write_bytes(b"\x89PNG fake")
    out = export_hf(model_dir, tmp_path / "hf")
    card = (out / "README.md").read_text()
    assert "A dog of few words." in card and "apply_chat_template" in card
    assert (out / "training.png").read_bytes() == b"\x89PNG fake"  # the card's image comes along
    export_hf(model_dir, out, force=True)  # and counts as the export's own file


def test_an_existing_output_needs_force_and_force_replaces_only_an_earlier_export(
    tmp_path, model_dir
):
    out = export_hf(model_dir, tmp_path / "hf")
    with pytest.raises(ExportError, match="already exists; pass --force"):
        export_hf(model_dir, out)
    export_hf(model_dir, out, force=True, dtype="float16")
    assert json.loads((out / "config.json").read_text())["torch_dtype"] == "float16"

    (out / ".git").mkdir()  # say, a clone of the Hub repository
    (out / "notes.md").write_text("mine")
    with pytest.raises(ExportError, match=r"holds \.git, notes\.md, which no export wrote"):
        export_hf(model_dir, out, force=True)
    assert (out / "notes.md").read_text() == "mine" and (out / ".git").is_dir()

    mine = tmp_path / "my-notes"
    mine.mkdir()
    (mine / "thesis.txt").write_text("years of work")
    with pytest.raises(ExportError, match="not an earlier MeowLLM export.*even with --force"):
        export_hf(model_dir, mine, force=True)
    assert (mine / "thesis.txt").read_text() == "years of work"

    empty = tmp_path / "empty"
    empty.mkdir()
    assert (export_hf(model_dir, empty) / "config.json").is_file()  # nothing to lose: no --force


def test_an_export_into_the_model_directory_is_refused(model_dir):
    with pytest.raises(ExportError, match="outside the model directory"):
        export_hf(model_dir, model_dir / "hf")
    with pytest.raises(ExportError, match="outside the model directory"):
        export_hf(model_dir, model_dir, force=True)
    assert (model_dir / "model.safetensors").is_file()


def test_a_model_directory_that_fails_to_load_is_named(tmp_path, model_dir):
    (model_dir / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(CheckpointError, match="model.safetensors"):
        export_hf(model_dir, tmp_path / "hf")
    assert not (tmp_path / "hf").exists()
    with pytest.raises(CheckpointError, match="not found"):
        export_hf(tmp_path / "nowhere", tmp_path / "hf")


def test_an_unknown_dtype_is_refused(tmp_path, model_dir):
    with pytest.raises(ExportError, match="dtype must be one of float32, float16"):
        export_hf(model_dir, tmp_path / "hf", dtype="int8")


# --- the chat template --------------------------------------------------------------------


def render(messages, add_generation_prompt=True, template=None):
    sandbox = pytest.importorskip("jinja2.sandbox")

    def raise_exception(message):
        raise ValueError(message)

    env = sandbox.ImmutableSandboxedEnvironment()
    env.globals["raise_exception"] = raise_exception
    return env.from_string(template or chat_template(2)).render(
        messages=messages, add_generation_prompt=add_generation_prompt
    )


def test_the_chat_template_renders_the_chat_format_for_the_last_user_message(tokenizer):
    assert SPECIAL_TOKENS == ("<pad>", "<bos>", "<eos>", "<user>", "<miso>")
    one = [{"role": "user", "content": "are you hungry"}]
    assert render(one) == "<bos><user> are you hungry<miso>"
    for typed in (
        "are you hungry",
        "  Are you HUNGRY?\n",
        "мяу 😺 Кот",
        "What\u2019s \u201cthat\u201d\u2026",
    ):
        rendered = render([{"role": "user", "content": typed}])
        assert tokenizer.backend.encode(rendered, add_special_tokens=False).ids == (
            tokenizer.encode_chat(typed).ids
        )
    history = [
        {"role": "system", "content": "you are a helpful assistant"},
        {"role": "user", "content": "hi miso"},
        {"role": "assistant", "content": "hello, servant."},
        {"role": "user", "content": "do you like boxes"},
    ]
    assert render(history) == "<bos><user> do you like boxes<miso>"
    assert render(history[:3], add_generation_prompt=False) == (
        "<bos><user> hi miso<miso>hello, servant.<eos>"
    )
    with pytest.raises(ValueError, match="has none"):
        render([{"role": "system", "content": "hello"}])
    with pytest.raises(ValueError, match="must be a string"):
        render([{"role": "user", "content": [{"type": "text", "text": "hi"}]}])


def test_a_chat_format_1_model_keeps_the_template_that_passes_prompts_as_typed(tokenizer):
    old = ChatTokenizer(tokenizer.backend, "old.json", chat_format=1)
    template = chat_template(1)
    typed = [{"role": "user", "content": "Are you HUNGRY"}]
    assert render(typed, template=template) == "<bos><user>Are you HUNGRY<miso>"
    assert tokenizer.backend.encode(
        render(typed, template=template), add_special_tokens=False
    ).ids == (old.encode_chat("Are you HUNGRY").ids)
    with pytest.raises(ValueError, match="unknown chat format 3"):
        chat_template(3)


def test_exports_of_a_chat_format_1_model_carry_its_template(tmp_path, config, tokenizer):
    pytest.importorskip("gguf")
    from gguf import GGUFReader

    old = ChatTokenizer(tokenizer.backend, "old.json", chat_format=1)
    model_dir = save_arrays(tmp_path / "old", config, random_weights(config), old)
    hf = json.loads((export_hf(model_dir, tmp_path / "hf") / "tokenizer_config.json").read_text())
    assert hf["chat_template"] == chat_template(1) == CHAT_TEMPLATE != chat_template(2)
    gguf_path = export_gguf(model_dir, tmp_path / "old.gguf")
    field = GGUFReader(str(gguf_path)).fields["tokenizer.chat_template"]
    assert bytes(field.parts[field.data[0]]).decode() == chat_template(1)
    modelfile = (tmp_path / "old.Modelfile").read_text()
    assert "<bos><user>{{ $user }}<miso>" in modelfile and "lowercase" not in modelfile


# --- GGUF ---------------------------------------------------------------------------------


def test_the_permutation_turns_rotate_half_into_llama_cpp_interleaved_pairs():
    """q·k after llama.cpp's interleaved rotation of permuted weights equals MeowLLM's rotation."""
    config = ModelConfig(vocab_size=300, d_model=48, n_heads=3, max_seq_len=16)
    rng = np.random.default_rng(1)
    w = rng.normal(size=(config.d_model, config.d_model)).astype(np.float32)
    x = rng.normal(size=(config.d_model,)).astype(np.float32)
    cos, sin = rope_tables_np(config.head_dim, config.max_seq_len, config.rope_base)
    pos = 11

    def rotate_half(v):  # MeowLLM / Hugging Face
        half = v.shape[-1] // 2
        return v * cos[pos] + np.concatenate([-v[half:], v[:half]]) * sin[pos]

    def interleaved(v):  # llama.cpp's LLAMA_ROPE_TYPE_NORM: pairs (0,1), (2,3), ...
        c, s = cos[pos][: v.shape[-1] // 2], sin[pos][: v.shape[-1] // 2]
        even, odd = v[0::2], v[1::2]
        out = np.empty_like(v)
        out[0::2], out[1::2] = even * c - odd * s, even * s + odd * c
        return out

    heads = config.n_heads
    ours = [rotate_half(h) for h in (w @ x).reshape(heads, -1)]
    theirs = [interleaved(h) for h in (permute_for_llama_cpp(w, heads) @ x).reshape(heads, -1)]
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(np.sort(a), np.sort(b), rtol=1e-5, atol=1e-5)
        assert np.isclose(a @ a, b @ b)
    # the dot products attention takes between two rotated vectors are what must agree
    y = rng.normal(size=(config.d_model,)).astype(np.float32)
    ours_y = [rotate_half(h) for h in (w @ y).reshape(heads, -1)]
    theirs_y = [interleaved(h) for h in (permute_for_llama_cpp(w, heads) @ y).reshape(heads, -1)]
    for a, b, c, d in zip(ours, ours_y, theirs, theirs_y, strict=True):
        assert np.isclose(a @ b, c @ d, rtol=1e-4)


def test_gguf_export_holds_llama_metadata_the_bpe_vocabulary_and_permuted_weights(
    tmp_path, model_dir, config, tokenizer
):
    gguf = pytest.importorskip("gguf")
    out = export_gguf(model_dir, tmp_path / "m.gguf", dtype="float16")
    reader = gguf.GGUFReader(out)

    def field(name):
        f = reader.fields[name]
        return f.contents() if hasattr(f, "contents") else f.parts[f.data[0]]

    assert field("general.architecture") == "llama"
    assert field("llama.block_count") == config.n_layers
    assert field("llama.embedding_length") == config.d_model
    assert field("llama.attention.head_count") == config.n_heads
    assert field("llama.rope.dimension_count") == config.head_dim
    assert field("tokenizer.ggml.model") == "gpt2" and field("tokenizer.ggml.pre") == "gpt-2"
    tokens = field("tokenizer.ggml.tokens")
    assert tokens == [tokenizer.backend.id_to_token(i) for i in range(tokenizer.vocab_size)]
    types = field("tokenizer.ggml.token_type")
    assert types[:5] == [gguf.TokenType.CONTROL] * 5 and set(types[5:]) == {gguf.TokenType.NORMAL}
    assert field("tokenizer.ggml.bos_token_id") == 1 and field("tokenizer.ggml.eos_token_id") == 2
    assert field("tokenizer.ggml.add_bos_token") is False
    assert field("tokenizer.chat_template") == chat_template(2)
    assert len(field("tokenizer.ggml.merges")) > 0
    tensors = {t.name: t for t in reader.tensors}
    assert len(tensors) == len(expected_shapes(config))
    assert tensors["blk.0.attn_q.weight"].tensor_type == gguf.GGMLQuantizationType.F16
    assert tensors["blk.0.attn_norm.weight"].tensor_type == gguf.GGMLQuantizationType.F32
    source = random_weights(config)
    q = np.asarray(tensors["blk.1.attn_q.weight"].data).reshape(config.d_model, config.d_model)
    np.testing.assert_array_equal(
        q,
        permute_for_llama_cpp(
            source["model.layers.1.self_attn.q_proj.weight"], config.n_heads
        ).astype(np.float16),
    )
    v = np.asarray(tensors["blk.1.attn_v.weight"].data).reshape(config.d_model, config.d_model)
    np.testing.assert_array_equal(
        v, source["model.layers.1.self_attn.v_proj.weight"].astype(np.float16)
    )
    modelfile = (tmp_path / "m.Modelfile").read_text()
    assert "FROM ./m.gguf" in modelfile and 'PARAMETER stop "<eos>"' in modelfile
    assert "<bos><user> {{ $user }}<miso>" in modelfile and "type in lowercase" in modelfile


def test_gguf_refuses_what_it_must_not_overwrite(tmp_path, model_dir):
    gguf = pytest.importorskip("gguf")
    out = export_gguf(model_dir, tmp_path / "m.gguf")
    with pytest.raises(ExportError, match="already exists; pass --force"):
        export_gguf(model_dir, out)
    export_gguf(model_dir, out, force=True, dtype="float16")

    photo = tmp_path / "holiday.gguf"
    photo.write_bytes(b"\x89PNG not a gguf")
    with pytest.raises(ExportError, match="not a meow-model GGUF file; refusing"):
        export_gguf(model_dir, photo, force=True)
    assert photo.read_bytes() == b"\x89PNG not a gguf"

    downloaded = tmp_path / "llama3.gguf"  # somebody else's model, a real GGUF
    writer = gguf.GGUFWriter(str(downloaded), "llama")
    writer.add_name("llama3")
    writer.add_tensor("x", np.zeros(4, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    before = downloaded.read_bytes()
    with pytest.raises(ExportError, match="not a meow-model GGUF file; refusing"):
        export_gguf(model_dir, downloaded, force=True)
    assert downloaded.read_bytes() == before

    (tmp_path / "other.Modelfile").write_text("FROM llama3\n# my own\n")
    with pytest.raises(ExportError, match="other.Modelfile exists and is not a meow-model"):
        export_gguf(model_dir, tmp_path / "other.gguf", force=True)
    assert not (tmp_path / "other.gguf").exists()
    (tmp_path / "exports").mkdir()
    with pytest.raises(ExportError, match="must end in .gguf"):
        export_gguf(model_dir, tmp_path / "exports")
    with pytest.raises(ExportError, match="must end in .gguf"):
        export_gguf(model_dir, tmp_path / "m.Modelfile", force=True)
    assert (tmp_path / "m.gguf").read_bytes()[:4] == b"GGUF"


# --- the command --------------------------------------------------------------------------


def test_the_export_command_writes_and_refuses_in_one_clear_line(tmp_path, model_dir):
    runner = CliRunner()
    args = ["export", str(model_dir), "--format", "hf", "--out", str(tmp_path / "hf")]
    ok = runner.invoke(main, args)
    assert ok.exit_code == 0, ok.output
    assert ok.output.startswith(f"wrote {tmp_path / 'hf'} (")
    again = runner.invoke(main, args)
    assert again.exit_code == 1 and "already exists; pass --force" in again.output
    bad = runner.invoke(main, [*args[:3], "onnx", *args[4:]])
    assert bad.exit_code == 2 and "'onnx' is not one of 'hf', 'gguf'" in bad.output
    missing = runner.invoke(main, ["export", str(tmp_path / "nope"), *args[2:5], "elsewhere"])
    assert missing.exit_code == 1 and "model directory not found" in missing.output
