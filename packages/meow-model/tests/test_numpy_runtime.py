"""The NumPy runtime against the PyTorch one: logits, caches, greedy replies, sampling, loading."""

import numpy as np
import pytest
import torch

from meow_model import (
    EOS_ID,
    NumpyModel,
    SamplingConfig,
    generate,
    generate_batch,
    load_pretrained,
    prompt_ids,
    stream,
)
from meow_model.pytorch import filtered_probs as torch_filtered_probs
from meow_model.pytorch import save_pretrained
from meow_model.sampling import filtered_probs, next_token

PROMPTS = ["hi miso", "are you hungry", "write me a python function", "x",
           "the bowl is empty and i am sad", "мяу 😺 猫", "do you like boxes " * 6]  # fmt: skip
GREEDY = SamplingConfig(temperature=0, max_new_tokens=16)


@pytest.fixture
def numpy_model(model, tokenizer, tmp_path):
    return load_pretrained(save_pretrained(model, tokenizer, tmp_path / "m")).model


def test_logits_match_the_torch_model(model, numpy_model, tokenizer):
    for prompt in PROMPTS:
        ids = prompt_ids(tokenizer, prompt, model.config.max_seq_len, 16)
        with torch.inference_mode():
            expected = model(torch.tensor([ids]))[0].numpy()
        got = numpy_model.forward(np.array([ids]))
        np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-4)


def test_cached_decode_equals_full_forward(numpy_model, model):
    rng = np.random.default_rng(0)
    ids = rng.integers(5, model.config.vocab_size, (2, 20))
    full = numpy_model.forward(ids)
    cache = numpy_model.new_cache(2, 20)
    np.testing.assert_allclose(
        numpy_model.decode(ids[:, :8], cache), full[:, 7], atol=1e-5, rtol=1e-4
    )
    for t in range(8, 20):
        np.testing.assert_allclose(
            numpy_model.decode(ids[:, t : t + 1], cache), full[:, t], atol=1e-5, rtol=1e-4
        )
    assert cache.length == 20
    with pytest.raises(ValueError, match="KV cache full"):
        numpy_model.decode(ids[:, :1], cache)


def test_greedy_replies_match_torch_one_by_one_and_batched(model, numpy_model, tokenizer):
    torch_replies = [generate(model, tokenizer, p, GREEDY) for p in PROMPTS]
    numpy_replies = [generate(numpy_model, tokenizer, p, GREEDY) for p in PROMPTS]
    batched = generate_batch(numpy_model, tokenizer, PROMPTS, GREEDY, batch_size=3)
    assert [r.token_ids for r in numpy_replies] == [r.token_ids for r in torch_replies]
    assert batched == numpy_replies
    assert (
        "".join(stream(numpy_model, tokenizer, PROMPTS[0], GREEDY)).strip() == numpy_replies[0].text
    )


def test_batched_rows_finishing_at_different_times(numpy_model, tokenizer, monkeypatch):
    # <eos> after a number of tokens that depends on the prompt's length (see test_generate.py)
    real = numpy_model.decode

    def decode(ids, cache, position_ids=None, mask=None):
        real(ids, cache, position_ids=position_ids, mask=mask)  # keep the cache's bookkeeping real
        forced = np.full((ids.shape[0], numpy_model.config.vocab_size), -1e9, dtype=np.float32)
        for row in range(ids.shape[0]):
            if ids.shape[1] > 1:
                nxt = 5 + 10 * (int((ids[row] != 0).sum()) % 20)
            else:
                token = int(ids[row, 0]) - 5
                nxt = EOS_ID if token % 10 + 1 >= 2 + (token // 10) % 5 else int(ids[row, 0]) + 1
            forced[row, nxt] = 0.0
        return forced

    monkeypatch.setattr(numpy_model, "decode", decode)
    cfg = SamplingConfig(temperature=0, max_new_tokens=5)
    prompts = [*PROMPTS, "hi", "you", "a much longer prompt about the bowl"]
    batched = generate_batch(numpy_model, tokenizer, prompts, cfg)
    single = [generate(numpy_model, tokenizer, p, cfg) for p in prompts]
    assert [(r.token_ids, r.finished) for r in batched] == [
        (r.token_ids, r.finished) for r in single
    ]
    lengths = {len(r.token_ids) for r in single if r.finished}
    assert len(lengths) >= 2 and not all(r.finished for r in single)


@pytest.mark.parametrize(
    "cfg",
    [SamplingConfig(temperature=0.7, top_k=40, top_p=0.95), SamplingConfig(temperature=1.3, top_k=0, top_p=0.5),
     SamplingConfig(temperature=0.9, top_k=5, min_p=0.1), SamplingConfig(temperature=0.5, top_k=0, top_p=1.0)],
)  # fmt: skip
def test_numpy_sampler_filters_exactly_like_torch(cfg):
    logits = np.random.default_rng(1).normal(0, 3, (6, 300)).astype(np.float32)
    ours = filtered_probs(logits, cfg)
    theirs = torch_filtered_probs(torch.from_numpy(logits), cfg).numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    assert ((ours > 0) == (theirs > 0)).all()


def test_seeded_sampling_is_reproducible_and_stays_in_the_filtered_set(numpy_model, tokenizer):
    cfg = SamplingConfig(temperature=1.0, top_k=3, seed=7, max_new_tokens=12)
    assert generate(numpy_model, tokenizer, "hi", cfg) == generate(
        numpy_model, tokenizer, "hi", cfg
    )
    logits = np.array([[5.0, 4.0, 1.0, 0.0, -1.0]], dtype=np.float32)
    rng = np.random.default_rng(0)
    picks = {
        int(next_token(logits, SamplingConfig(temperature=1.0, top_k=2), rng)[0])
        for _ in range(200)
    }
    assert picks == {0, 1}


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_directories_load_in_numpy(model, tokenizer, tmp_path, dtype):
    path = save_pretrained(model, tokenizer, tmp_path / "half", dtype=dtype)
    loaded = load_pretrained(path)
    assert isinstance(loaded.model, NumpyModel)
    ids = np.array([prompt_ids(tokenizer, "hi miso", 64, 8)])
    with torch.inference_mode():
        expected = model(torch.from_numpy(ids))[0].numpy()
    np.testing.assert_allclose(loaded.model.forward(ids), expected, atol=0.1, rtol=0.05)


def test_a_directory_written_from_numpy_loads_in_torch(config, tokenizer, tmp_path):
    from meow_model import expected_shapes, save_arrays
    from meow_model.pytorch import load_pretrained as load_torch

    rng = np.random.default_rng(3)
    weights = {
        name: rng.normal(0, 0.05, shape).astype(np.float32)
        for name, shape in expected_shapes(config).items()
    }
    path = save_arrays(tmp_path / "np", config, weights, tokenizer)
    ids = np.array([prompt_ids(tokenizer, "are you hungry", 64, 8)])
    torch_model = load_torch(path).model
    with torch.inference_mode():
        torch_logits = torch_model(torch.from_numpy(ids))[0].numpy()
    np.testing.assert_allclose(
        load_pretrained(path).model.forward(ids), torch_logits, atol=1e-4, rtol=1e-4
    )
