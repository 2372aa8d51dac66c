"""Model directories: exact round trip, half-precision storage, and every refusal path."""

import json

import pytest
import torch

from meow_model import (
    CHAT_FORMAT,
    FORMAT_VERSION,
    MODEL_FILES,
    ChatTokenizer,
    CheckpointError,
    ModelConfig,
    read_chat_format,
)
from meow_model.pytorch import MeowForCausalLM, load_pretrained, save_pretrained


def test_round_trip_reproduces_logits_exactly(model, tokenizer, tmp_path):
    path = save_pretrained(
        model, tokenizer, tmp_path / "miso", meta={"steps": 12, "persona": "miso"}
    )
    assert sorted(p.name for p in path.iterdir()) == sorted(MODEL_FILES)
    loaded = load_pretrained(path)
    ids = torch.randint(5, tokenizer.vocab_size, (2, 9))
    with torch.inference_mode():
        assert torch.equal(model(ids)[0], loaded.model(ids)[0])
    assert loaded.meta["steps"] == 12 and loaded.meta["meow_model_version"]
    assert loaded.tokenizer.encode("hi miso") == tokenizer.encode("hi miso")
    assert loaded.model.lm_head.weight is loaded.model.model.embed_tokens.weight
    config = json.loads((path / "config.json").read_text())
    assert config["format_version"] == FORMAT_VERSION == 2
    assert config["chat_format"] == tokenizer.chat_format == CHAT_FORMAT == 2
    assert config["architecture"]["vocab_size"] == tokenizer.vocab_size
    assert loaded.tokenizer.chat_format == 2 and read_chat_format(path) == 2


def test_half_precision_storage_is_smaller_and_close(model, tokenizer, tmp_path):
    full = save_pretrained(model, tokenizer, tmp_path / "fp32")
    half = save_pretrained(model, tokenizer, tmp_path / "fp16", dtype=torch.float16)
    assert (half / "model.safetensors").stat().st_size < 0.6 * (
        full / "model.safetensors"
    ).stat().st_size
    loaded = load_pretrained(half)
    assert loaded.model.model.embed_tokens.weight.dtype == torch.float32
    ids = torch.randint(5, tokenizer.vocab_size, (1, 9))
    with torch.inference_mode():
        torch.testing.assert_close(loaded.model(ids)[0], model(ids)[0], atol=2e-2, rtol=1e-2)


def test_overwrite_is_atomic_and_leaves_no_staging(model, tokenizer, tmp_path):
    save_pretrained(model, tokenizer, tmp_path / "m", meta={"v": 1})
    save_pretrained(model, tokenizer, tmp_path / "m", meta={"v": 2})
    assert load_pretrained(tmp_path / "m").meta["v"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_missing_directory_and_files(model, tokenizer, tmp_path):
    with pytest.raises(CheckpointError, match="model directory not found"):
        load_pretrained(tmp_path / "nope")
    for name in ("config.json", "tokenizer.json", "model.safetensors"):
        path = save_pretrained(model, tokenizer, tmp_path / name.split(".")[0])
        (path / name).unlink()
        with pytest.raises(CheckpointError, match=rf"{name}: .*not found"):
            load_pretrained(path)


def test_pickled_checkpoint_is_refused(tmp_path):
    path = tmp_path / "legacy"
    path.mkdir()
    (path / "best.pt").write_bytes(
        b"\x80\x04K\x01."
    )  # a real pickle stream (protocol 4, the int 1)
    with pytest.raises(CheckpointError, match=r"best.pt: pickled checkpoints are never loaded"):
        load_pretrained(path)


def test_truncated_weights_are_refused(model, tokenizer, tmp_path):
    path = save_pretrained(model, tokenizer, tmp_path / "m")
    weights = path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(CheckpointError, match=r"model.safetensors: unreadable or truncated"):
        load_pretrained(path)


def test_garbage_weights_are_refused(model, tokenizer, tmp_path):
    path = save_pretrained(model, tokenizer, tmp_path / "m")
    (path / "model.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError, match="model.safetensors"):
        load_pretrained(path)


def test_vocab_mismatch_is_refused(model, tokenizer, tmp_path):
    path = save_pretrained(model, tokenizer, tmp_path / "m")
    config = json.loads((path / "config.json").read_text())
    config["architecture"]["vocab_size"] += 7
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(
        CheckpointError,
        match=r"tokenizer.json: tokenizer has \d+ tokens but config.json says vocab_size",
    ):
        load_pretrained(path)
    other = MeowForCausalLM(
        ModelConfig(
            vocab_size=tokenizer.vocab_size + 1, d_model=64, n_layers=2, n_heads=4, ffn_dim=160
        )
    )
    with pytest.raises(CheckpointError, match="tokenizer has"):
        save_pretrained(other, tokenizer, tmp_path / "x")


def test_shape_mismatch_is_refused(model, tokenizer, tmp_path):
    path = save_pretrained(model, tokenizer, tmp_path / "m")
    config = json.loads((path / "config.json").read_text())
    config["architecture"]["ffn_dim"] = 96
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(
        CheckpointError,
        match=r"model.safetensors: tensor model.layers.0.mlp.\w+_proj.weight has shape .* config.json implies",
    ):
        load_pretrained(path)


def test_newer_format_version_is_refused(model, tokenizer, tmp_path):
    path = save_pretrained(model, tokenizer, tmp_path / "m")
    config = json.loads((path / "config.json").read_text())
    config["format_version"] = 99
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(
        CheckpointError, match=r"config.json: format version 99 was written by a newer meow-model"
    ):
        load_pretrained(path)


def test_broken_config_json(model, tokenizer, tmp_path):
    path = save_pretrained(model, tokenizer, tmp_path / "m")
    (path / "config.json").write_text("{")
    with pytest.raises(CheckpointError, match="config.json: not valid JSON"):
        load_pretrained(path)


def test_incompatible_major_version_is_refused(model, tokenizer, tmp_path):
    path = save_pretrained(model, tokenizer, tmp_path / "m")
    config = json.loads((path / "config.json").read_text())
    config["meow_model_version"] = "3.0.0"
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(
        CheckpointError,
        match=r"config.json: written by meow-model 3.0.0, incompatible with the installed meow-model 2",
    ):
        load_pretrained(path)


def test_directories_written_by_meow_model_1_still_load(model, tokenizer, tmp_path):
    path = save_pretrained(model, tokenizer, tmp_path / "m")
    config = json.loads((path / "config.json").read_text())
    config["meow_model_version"] = "1.1.0"  # the format is unchanged since 1.0
    (path / "config.json").write_text(json.dumps(config))
    assert load_pretrained(path).model.config == model.config


def test_swap_interrupted_between_renames_is_recovered_by_the_writer(model, tokenizer, tmp_path):
    path = save_pretrained(model, tokenizer, tmp_path / "m", meta={"v": 1})
    path.rename(tmp_path / ".m-old-4242")  # killed after moving the old copy aside
    # loading is read-only: it names the leftover and renames nothing
    with pytest.raises(
        CheckpointError, match=r"m: not found, but .m-old-4242 beside it is the copy"
    ):
        load_pretrained(tmp_path / "m")
    assert [p.name for p in tmp_path.iterdir()] == [".m-old-4242"]
    save_pretrained(
        model, tokenizer, tmp_path / "m", meta={"v": 2}
    )  # the writer recovers, then swaps
    assert load_pretrained(tmp_path / "m").meta["v"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_saved_directories_follow_the_umask(model, tokenizer, tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        path = save_pretrained(model, tokenizer, tmp_path / "shared")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o755
    assert {stat.S_IMODE(f.stat().st_mode) for f in path.iterdir()} == {0o644}


def _edit_config(path, **architecture):
    config = json.loads((path / "config.json").read_text())
    for key, value in architecture.items():
        if key == "format_version":
            config[key] = value
        else:
            config["architecture"][key] = value
    (path / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("n_layers", 10**6, "n_layers must be an integer from 1 to"),
        ("max_seq_len", 10**9, "max_seq_len must be an integer from 1 to"),
        ("d_model", 64.0, "d_model must be an integer"),
        ("ffn_dim", True, "ffn_dim must be an integer"),
        ("norm_eps", 0, r"norm_eps must be in \(0, 1\)"),
        ("norm_eps", "1e-5", "norm_eps must be a number"),
        ("rope_base", -1.0, "rope_base must be finite and > 1"),
        ("format_version", True, "'format_version' must be a positive integer"),
        ("format_version", -1, "'format_version' must be a positive integer"),
    ],
)
def test_untrusted_config_is_checked_before_allocating(
    model, tokenizer, tmp_path, field, value, message
):
    path = save_pretrained(model, tokenizer, tmp_path / "m")
    _edit_config(path, **{field: value})
    with pytest.raises(CheckpointError, match=rf"config.json: .*{message}"):
        load_pretrained(path)


def test_more_layers_than_the_file_holds_is_refused_from_the_header(model, tokenizer, tmp_path):
    # 1000 layers of this width would allocate ~0.5 GB; the header shows the file has 2
    path = save_pretrained(model, tokenizer, tmp_path / "m")
    _edit_config(path, n_layers=1000)
    with pytest.raises(CheckpointError, match=r"missing \['model.layers.10.input_layernorm"):
        load_pretrained(path)


def _rewrite_weights(path, change):
    from safetensors.torch import load_file, save_file

    state = load_file(str(path / "model.safetensors"))
    name = "model.norm.weight"
    state[name] = change(state[name])
    save_file(state, str(path / "model.safetensors"))


def test_nan_weights_are_refused(model, tokenizer, tmp_path):
    path = save_pretrained(model, tokenizer, tmp_path / "m")
    _rewrite_weights(path, lambda t: t.clone().fill_(float("nan")))
    with pytest.raises(CheckpointError, match="model.norm.weight holds NaN or infinite values"):
        load_pretrained(path)


def test_integer_weights_are_refused(model, tokenizer, tmp_path):
    path = save_pretrained(model, tokenizer, tmp_path / "m")
    _rewrite_weights(path, lambda t: t.to(torch.int64))
    with pytest.raises(CheckpointError, match="model.norm.weight is I64; weights must be one of"):
        load_pretrained(path)


def test_a_format_1_directory_loads_and_reads_prompts_as_typed(model, tokenizer, tmp_path):
    """Directories written before meow-model 2.2 have no chat_format: their prompts stay as typed."""
    path = save_pretrained(model, tokenizer, tmp_path / "old")
    config_path = path / "config.json"
    config = json.loads(config_path.read_text())
    config["format_version"] = 1
    config["meow_model_version"] = "2.1.1"
    del config["chat_format"]
    config_path.write_text(json.dumps(config))
    loaded = load_pretrained(path)
    assert loaded.tokenizer.chat_format == 1 and read_chat_format(path) == 1
    assert loaded.tokenizer.encode_chat("Hi Miso").ids[2:-1] == tokenizer.encode("Hi Miso")
    # saving it again keeps its chat format (as format 1, which every meow-model 2.x reads)
    again = save_pretrained(loaded.model, loaded.tokenizer, tmp_path / "again")
    written = json.loads((again / "config.json").read_text())
    assert written["format_version"] == 1 and "chat_format" not in written
    assert load_pretrained(again).tokenizer.chat_format == 1


@pytest.mark.parametrize("value", [None, 3, "2", True])
def test_a_missing_or_unknown_chat_format_is_refused_naming_the_file(
    model, tokenizer, tmp_path, value
):
    path = save_pretrained(model, tokenizer, tmp_path / "m")
    config_path = path / "config.json"
    config = json.loads(config_path.read_text())
    if value is None:
        del config["chat_format"]
    else:
        config["chat_format"] = value
    config_path.write_text(json.dumps(config))
    with pytest.raises(
        CheckpointError, match=r"config\.json: 'chat_format' must be one of \(1, 2\)"
    ):
        load_pretrained(path)


def test_a_tokenizer_refuses_an_unknown_chat_format(tokenizer):
    with pytest.raises(ValueError, match="unknown chat format 3"):
        ChatTokenizer(tokenizer.backend, "t.json", chat_format=3)
