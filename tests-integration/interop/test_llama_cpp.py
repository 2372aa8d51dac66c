"""The GGUF export in llama.cpp itself (through llama-cpp-python): same ids, logits and replies.

The last test proves the others can fail: the same file with q/k left in Hugging Face's
rotate-half order (what an exporter that forgot llama.cpp's permutation writes) loads and talks
fluently, but its replies differ.
"""

import shutil

import numpy as np
import pytest

from meow_model import ModelConfig, chat_template

llama_cpp = pytest.importorskip("llama_cpp")
gguf = pytest.importorskip("gguf")

LOGIT_TOLERANCE = 1e-4
COMPARED = 40  # prompts whose greedy replies must be identical


def open_gguf(path):
    # llama.cpp's default float16 KV cache alone moves logits by ~1e-2; a float32 cache compares
    # the model itself.
    return llama_cpp.Llama(
        model_path=str(path), n_ctx=256, n_batch=256, logits_all=True, n_threads=2,
        type_k=llama_cpp.GGML_TYPE_F32, type_v=llama_cpp.GGML_TYPE_F32, seed=0, verbose=False,
    )  # fmt: skip


def greedy(llm, ids: list[int]) -> str:
    out = llm.create_completion(
        prompt=ids, max_tokens=64, temperature=0.0, top_k=1, top_p=1.0, min_p=0.0,
        repeat_penalty=1.0,
    )  # fmt: skip
    return out["choices"][0]["text"].strip()


@pytest.fixture(scope="module")
def llm(gguf_exports):
    return open_gguf(gguf_exports / "miso.gguf")


def test_the_file_carries_the_tokenizer_and_chat_template(llm, miso, typed_prompts):
    assert llm.metadata["general.architecture"] == "llama"
    assert llm.metadata["tokenizer.chat_template"] == chat_template(miso.tokenizer.chat_format)
    assert llm.n_vocab() == miso.tokenizer.vocab_size
    for prompt in typed_prompts:
        rendered = f"<bos><user>{miso.tokenizer.format_prompt(prompt)}<miso>".encode()
        ids = llm.tokenize(rendered, add_bos=False, special=True)
        assert ids == miso.tokenizer.encode_chat(prompt).ids, prompt


def test_logits_agree_with_meow_model(llm, miso, report_prompts):
    worst = 0.0
    for prompt in report_prompts[:COMPARED]:
        ids = miso.tokenizer.encode_chat(prompt).ids
        llm.reset()
        llm.eval(ids)
        theirs = np.asarray(llm.scores[: len(ids)])
        ours = miso.model.forward(np.array([ids]))[0]
        worst = max(worst, float(np.abs(theirs - ours).max()))
    assert worst < LOGIT_TOLERANCE, f"max |logit difference| {worst:.2e}"


def test_greedy_replies_are_identical(llm, miso, report_prompts, greedy_replies):
    for prompt in report_prompts[:COMPARED]:
        assert greedy(llm, miso.tokenizer.encode_chat(prompt).ids) == greedy_replies[prompt]


def test_the_chat_completion_api_uses_the_embedded_template(llm, greedy_replies, miso):
    from meow_model import SamplingConfig, generate

    for typed in (
        "hi miso",
        "  HI Miso\n",
        "WHAT\u2019S FOR DINNER?",
    ):  # the template lowercases too
        expected = generate(miso.model, miso.tokenizer, typed, SamplingConfig(temperature=0))
        answer = llm.create_chat_completion(
            messages=[{"role": "user", "content": typed}], max_tokens=64, temperature=0.0,
            top_k=1, repeat_penalty=1.0,
        )  # fmt: skip
        assert answer["choices"][0]["message"]["content"].strip() == expected.text, typed
    assert answer["choices"][0]["finish_reason"] == "stop"


def test_the_half_precision_file_answers_like_the_bundle(
    gguf_exports, miso, report_prompts, greedy_replies
):
    llm = open_gguf(gguf_exports / "miso-f16.gguf")
    for prompt in report_prompts[:10]:
        assert greedy(llm, miso.tokenizer.encode_chat(prompt).ids) == greedy_replies[prompt]


def unpermute(weight: np.ndarray, n_heads: int) -> np.ndarray:
    rows, cols = weight.shape
    return weight.reshape(n_heads, rows // n_heads // 2, 2, cols).swapaxes(1, 2).reshape(rows, cols)


def test_without_the_rotary_permutation_the_replies_differ(
    gguf_exports, tmp_path, miso, report_prompts, greedy_replies
):
    wrong = tmp_path / "unpermuted.gguf"
    shutil.copy(gguf_exports / "miso.gguf", wrong)
    config: ModelConfig = miso.model.config
    reader = gguf.GGUFReader(gguf_exports / "miso.gguf")
    patched = np.memmap(wrong, mode="r+")
    for tensor in reader.tensors:
        if tensor.name.endswith(("attn_q.weight", "attn_k.weight")):
            w = np.asarray(tensor.data).reshape(config.d_model, config.d_model)
            raw = unpermute(w, config.n_heads).astype(w.dtype).tobytes()
            patched[tensor.data_offset : tensor.data_offset + len(raw)] = np.frombuffer(
                raw, np.uint8
            )
    patched.flush()
    del patched
    llm = open_gguf(wrong)
    replies = [greedy(llm, miso.tokenizer.encode_chat(p).ids) for p in report_prompts[:COMPARED]]
    assert all(replies), "the unpermuted model should still talk"
    same = sum(r == greedy_replies[p] for r, p in zip(replies, report_prompts, strict=False))
    assert same < COMPARED // 2, f"{same} of {COMPARED} replies unchanged without the permutation"
