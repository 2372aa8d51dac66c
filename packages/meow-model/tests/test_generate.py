"""Generation: KV cache vs recompute, batched vs one-by-one, sampling, truncation, streaming."""

import pytest
import torch

from meow_model import (
    BOS_ID,
    EOS_ID,
    MISO_ID,
    USER_ID,
    SamplingConfig,
    generate,
    generate_batch,
    prompt_ids,
    stream,
)
from meow_model.pytorch import next_token
from meow_model.pytorch.generate import generate_ids

PROMPTS = [
    "hi miso",
    "are you hungry",
    "write me a python function",
    "do you like boxes",
    "x",
    "the bowl is empty and i am sad",
]
GREEDY = SamplingConfig(temperature=0, max_new_tokens=12)


def recompute_greedy(model, ids, n):
    """The seed's method: run the whole context again for every new token."""
    ids = list(ids)
    out = []
    with torch.inference_mode():
        for _ in range(n):
            logits, _ = model(torch.tensor([ids]))
            token = int(logits[0, -1].argmax())
            if token == EOS_ID:
                break
            out.append(token)
            ids.append(token)
    return out


def test_kv_cache_greedy_equals_recompute(model, tokenizer):
    for prompt in PROMPTS:
        ids = prompt_ids(tokenizer, prompt, model.config.max_seq_len, 12)
        assert list(generate_ids(model, ids, GREEDY)) == recompute_greedy(model, ids, 12)


def test_batched_greedy_equals_one_by_one(model, tokenizer):
    batched = generate_batch(model, tokenizer, PROMPTS, GREEDY, batch_size=4)
    single = [generate(model, tokenizer, p, GREEDY) for p in PROMPTS]
    assert [r.token_ids for r in batched] == [r.token_ids for r in single]
    assert [r.text for r in batched] == [r.text for r in single]


def _scripted(model, monkeypatch):
    """Make `model` (its real cache and attention still run) reply on a script known in advance.

    The reply to a prompt of L tokens is base, base+1, ... with base = 5 + 10 * (L % 20), ending
    in <eos> after 2 + (L % 20) % 5 tokens; each emitted token carries its row's script, so rows
    keep their script however the batch is compacted.
    """
    real = model.decode

    def decode(ids, cache, position_ids=None, mask=None):
        logits = real(ids, cache, position_ids=position_ids, mask=mask)
        forced = torch.full_like(logits, -1e9)
        for row in range(ids.shape[0]):
            if ids.shape[1] > 1:  # prefill: the prompt's length picks the script
                nxt = 5 + 10 * (int((ids[row] != 0).sum()) % 20)
            else:
                token = int(ids[row, 0]) - 5
                script, k = token // 10, token % 10
                nxt = EOS_ID if k + 1 >= 2 + script % 5 else int(ids[row, 0]) + 1
            forced[row, nxt] = 0.0
        return forced

    monkeypatch.setattr(model, "decode", decode)


def test_batch_handles_rows_finishing_at_different_times(model, tokenizer, monkeypatch):
    _scripted(model, monkeypatch)
    cfg = SamplingConfig(temperature=0, max_new_tokens=5)
    prompts = [*PROMPTS, "hi", "you", "a much longer prompt about the bowl"]
    expected = []
    for prompt in prompts:
        length = len(prompt_ids(tokenizer, prompt, model.config.max_seq_len, 5)) % 20
        n = 2 + length % 5
        expected.append(([5 + 10 * length + k for k in range(min(n, 5))], n < 5))
    # the setup really mixes rows that stop early, late, and not at all
    assert len({len(t) for t, done in expected if done}) >= 2 and not all(d for _, d in expected)
    batched = generate_batch(model, tokenizer, prompts, cfg)
    single = [generate(model, tokenizer, p, cfg) for p in prompts]
    assert [(r.token_ids, r.finished) for r in batched] == expected
    assert [(r.token_ids, r.finished) for r in single] == expected


def test_seeded_sampling_is_reproducible(model, tokenizer):
    cfg = SamplingConfig(temperature=1.0, top_k=0, top_p=1.0, seed=123, max_new_tokens=16)
    a = generate(model, tokenizer, "hi miso", cfg)
    b = generate(model, tokenizer, "hi miso", cfg)
    assert a.token_ids == b.token_ids
    others = {
        tuple(
            generate(
                model, tokenizer, "hi miso", SamplingConfig(temperature=1.0, top_k=0, seed=s)
            ).token_ids
        )
        for s in range(5)
    }
    assert len(others) > 1
    batch1 = generate_batch(model, tokenizer, PROMPTS, cfg)
    batch2 = generate_batch(model, tokenizer, PROMPTS, cfg)
    assert [r.token_ids for r in batch1] == [r.token_ids for r in batch2]


def test_max_new_tokens_is_respected(model, tokenizer):
    reply = generate(model, tokenizer, "hi", SamplingConfig(temperature=0, max_new_tokens=3))
    assert len(reply.token_ids) <= 3
    assert all(
        len(r.token_ids) <= 3
        for r in generate_batch(
            model, tokenizer, PROMPTS, SamplingConfig(temperature=0, max_new_tokens=3)
        )
    )


def test_long_prompt_is_truncated_from_the_left_keeping_markers(model, tokenizer):
    long_prompt = "the bowl is empty " * 200
    ids = prompt_ids(tokenizer, long_prompt, model.config.max_seq_len, 16)
    assert len(ids) <= model.config.max_seq_len - 16
    assert ids[:2] == [BOS_ID, USER_ID] and ids[-1] == MISO_ID
    assert ids[2:-1] == tokenizer.encode(tokenizer.format_prompt(long_prompt))[-(len(ids) - 3) :]
    reply = generate(
        model, tokenizer, long_prompt, SamplingConfig(temperature=0, max_new_tokens=16)
    )
    assert len(reply.token_ids) <= 16
    assert generate_batch(
        model, tokenizer, [long_prompt, "hi"], SamplingConfig(temperature=0, max_new_tokens=100)
    )


def test_stream_pieces_join_to_the_reply(model, tokenizer):
    pieces = list(stream(model, tokenizer, "hi miso", GREEDY))
    assert "".join(pieces).strip() == generate(model, tokenizer, "hi miso", GREEDY).text


def test_stream_decoder_never_splits_utf8(tokenizer):
    text = "héllo 😺 猫 ça va? 🐟🐟"
    ids = tokenizer.encode(text)
    assert len(ids) > len(text.split())  # multi-byte characters span several byte-level tokens
    decoder = tokenizer.stream_decoder()
    pieces = [decoder.step(i) for i in ids]
    assert "".join(pieces) == text
    assert not any("\ufffd" in p for p in pieces)


def test_unicode_prompt_generates(model, tokenizer):
    prompt = "мяу 😺 猫"
    ids = prompt_ids(tokenizer, prompt, model.config.max_seq_len, GREEDY.max_new_tokens)
    assert ids[:2] == [BOS_ID, USER_ID] and ids[-1] == MISO_ID
    assert tokenizer.decode(ids[2:-1]) == " " + prompt  # byte-level: nothing lost or replaced
    reply = generate(model, tokenizer, prompt, GREEDY)
    assert reply.prompt_tokens == len(ids) and len(reply.token_ids) == GREEDY.max_new_tokens
    assert reply.text == tokenizer.decode(reply.token_ids).strip()


def test_sampling_filters():
    logits = torch.tensor([[5.0, 4.0, 1.0, 0.0, -1.0]])
    g = torch.Generator().manual_seed(0)
    picks = {
        int(next_token(logits, SamplingConfig(temperature=1.0, top_k=2, top_p=1.0), g))
        for _ in range(200)
    }
    assert picks <= {0, 1}
    picks = {
        int(next_token(logits, SamplingConfig(temperature=1.0, top_k=0, top_p=0.5), g))
        for _ in range(200)
    }
    assert picks == {0}
    picks = {
        int(next_token(logits, SamplingConfig(temperature=1.0, top_k=0, min_p=0.2), g))
        for _ in range(300)
    }
    assert picks == {0, 1}
    assert int(next_token(logits, SamplingConfig(temperature=0), None)) == 0


def test_repetition_penalty_discourages_repeats(model, tokenizer):
    plain = generate(model, tokenizer, "hi", SamplingConfig(temperature=0, max_new_tokens=30))
    penalized = generate(
        model,
        tokenizer,
        "hi",
        SamplingConfig(temperature=0, max_new_tokens=30, repetition_penalty=3.0),
    )
    assert len(set(penalized.token_ids)) >= len(set(plain.token_ids))
    batched = generate_batch(
        model,
        tokenizer,
        ["hi"],
        SamplingConfig(temperature=0, max_new_tokens=30, repetition_penalty=3.0),
    )
    assert batched[0].token_ids == penalized.token_ids


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"temperature": -1}, "temperature"), ({"top_p": 0}, "top_p"), ({"min_p": 1}, "min_p"),
     ({"max_new_tokens": 0}, "max_new_tokens"), ({"repetition_penalty": 0}, "repetition_penalty"), ({"top_k": -1}, "top_k"),
     ({"temperature": float("nan")}, "temperature must be a finite number"), ({"temperature": float("inf")}, "temperature"),
     ({"top_p": float("nan")}, "top_p"), ({"repetition_penalty": float("nan")}, "repetition_penalty")],
)  # fmt: skip
def test_sampling_config_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SamplingConfig(**kwargs)
