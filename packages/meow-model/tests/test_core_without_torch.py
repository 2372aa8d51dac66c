"""The core of meow-model on its own: NumPy runtime, model directories, no PyTorch anywhere.

Runs in the torch-free tox environment (model-core) as well as with PyTorch installed.
"""

import importlib.util
import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

import meow_model
from meow_model import (
    CheckpointError,
    NumpyModel,
    ReplyStream,
    SamplingConfig,
    expected_shapes,
    generate,
    generate_batch,
    load_pretrained,
    save_arrays,
    stream,
)

GREEDY = SamplingConfig(temperature=0, max_new_tokens=10)


def random_weights(config, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return {
        name: (np.ones(shape) if len(shape) == 1 else rng.normal(0, 0.05, shape)).astype(dtype)
        for name, shape in expected_shapes(config).items()
    }


@pytest.fixture
def model_dir(tmp_path, config, tokenizer):
    return save_arrays(
        tmp_path / "m", config, random_weights(config), tokenizer, meta={"who": "test"}
    )


def test_a_directory_written_from_numpy_loads_and_chats(model_dir, config):
    loaded = load_pretrained(model_dir)
    assert isinstance(loaded.model, NumpyModel) and loaded.meta["who"] == "test"
    assert loaded.model.config == config
    assert loaded.model.num_parameters() == sum(
        int(np.prod(s)) for s in expected_shapes(config).values()
    )
    reply = generate(loaded.model, loaded.tokenizer, "hi miso", GREEDY)
    assert reply.prompt_tokens > 3 and 1 <= len(reply.token_ids) <= 10
    assert reply.text == loaded.tokenizer.decode(reply.token_ids).strip()
    assert generate_batch(loaded.model, loaded.tokenizer, ["hi miso", "x"], GREEDY)[0] == reply
    assert "".join(stream(loaded.model, loaded.tokenizer, "hi miso", GREEDY)).strip() == reply.text


def test_half_precision_arrays_round_trip(tmp_path, config, tokenizer):
    weights = random_weights(config, dtype=np.float16)
    loaded = load_pretrained(save_arrays(tmp_path / "h", config, weights, tokenizer)).model
    np.testing.assert_array_equal(
        loaded.embed, weights["model.embed_tokens.weight"].astype(np.float32)
    )


def test_save_arrays_refuses_what_it_cannot_write(tmp_path, config, tokenizer):
    weights = random_weights(config)
    with pytest.raises(CheckpointError, match="weights must be exactly the"):
        save_arrays(tmp_path / "a", config, {k: v for k, v in list(weights.items())[1:]}, tokenizer)
    weights["model.norm.weight"] = weights["model.norm.weight"].astype(np.int64)
    with pytest.raises(CheckpointError, match="model.norm.weight: expected float32/float16"):
        save_arrays(tmp_path / "b", config, weights, tokenizer)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_loading_checks_run_without_torch(model_dir):
    config = json.loads((model_dir / "config.json").read_text())
    config["architecture"]["n_layers"] = 10**6
    (model_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="n_layers must be an integer from 1 to"):
        load_pretrained(model_dir)


def test_import_meow_model_never_imports_torch(model_dir):
    code = (
        "import sys, meow_model\n"
        f"m = meow_model.load_pretrained({str(model_dir)!r})\n"
        "meow_model.generate(m.model, m.tokenizer, 'hi', meow_model.SamplingConfig(seed=0))\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "torch" not in " ".join(meow_model.__all__).lower()


def test_the_pytorch_side_without_torch_names_the_extra():
    if importlib.util.find_spec("torch") is not None:
        pytest.skip("torch is installed here; the torch-free tox env runs this")
    with pytest.raises(ImportError, match=r"pip install 'meow-model\[torch\]'"):
        import meow_model.pytorch  # noqa: F401


def test_a_reply_stream_reports_its_tokens_and_how_it_ended(model_dir):
    loaded = load_pretrained(model_dir)
    for cfg in (GREEDY, SamplingConfig(temperature=1.0, seed=3, max_new_tokens=40)):
        reply = generate(loaded.model, loaded.tokenizer, "hi miso", cfg)
        pieces = stream(loaded.model, loaded.tokenizer, "hi miso", cfg)
        assert isinstance(pieces, ReplyStream) and pieces.finished is None
        text = "".join(pieces)
        assert text.strip() == reply.text and pieces.token_ids == reply.token_ids
        assert pieces.finished is reply.finished and pieces.prompt_tokens == reply.prompt_tokens
    cut = stream(loaded.model, loaded.tokenizer, "hi miso", replace(GREEDY, max_new_tokens=2))
    list(cut)
    assert len(cut.token_ids) <= 2
    assert cut.finished is (len(cut.token_ids) < 2)
