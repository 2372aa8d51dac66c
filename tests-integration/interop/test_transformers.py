"""The Hugging Face export in transformers itself: same ids, same logits, same greedy replies."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

LOGIT_TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def hf(hf_exports):
    tokenizer = transformers.AutoTokenizer.from_pretrained(hf_exports / "hf")
    model = transformers.AutoModelForCausalLM.from_pretrained(hf_exports / "hf").eval()
    return tokenizer, model


def chat_ids(tokenizer, prompt: str) -> list[int]:
    ids = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=True
    )
    return list(ids["input_ids"] if hasattr(ids, "keys") else ids)  # 5.x returns an encoding


def test_it_loads_as_plain_llama_with_no_custom_code(hf, miso):
    tokenizer, model = hf
    assert type(model).__name__ == "LlamaForCausalLM"
    assert model.config.tie_word_embeddings
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    assert tokenizer.bos_token_id == 1 and tokenizer.eos_token_id == 2
    assert tokenizer.pad_token_id == 0 and len(tokenizer) == miso.tokenizer.vocab_size


def test_apply_chat_template_gives_exactly_meow_models_ids(hf, miso, typed_prompts):
    tokenizer, _ = hf
    for prompt in typed_prompts:
        assert chat_ids(tokenizer, prompt) == miso.tokenizer.encode_chat(prompt).ids, prompt


def test_logits_agree_with_meow_model_on_every_report_prompt(hf, miso, report_prompts):
    _, model = hf
    worst = 0.0
    for prompt in report_prompts:
        ids = miso.tokenizer.encode_chat(prompt).ids
        with torch.no_grad():
            theirs = model(torch.tensor([ids])).logits[0].numpy()
        ours = miso.model.forward(np.array([ids]))[0]
        worst = max(worst, float(np.abs(theirs - ours).max()))
    assert worst < LOGIT_TOLERANCE, f"max |logit difference| {worst:.2e}"


def test_greedy_replies_are_identical(hf, miso, report_prompts, greedy_replies):
    tokenizer, model = hf
    for prompt in report_prompts[:40]:
        ids = torch.tensor([chat_ids(tokenizer, prompt)])
        out = model.generate(
            ids, do_sample=False, max_new_tokens=64, attention_mask=torch.ones_like(ids)
        )
        reply = tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True).strip()
        assert reply == greedy_replies[prompt], prompt


def test_the_half_precision_export_holds_the_bundled_weights_exactly(
    hf_exports, miso, report_prompts
):
    model = transformers.AutoModelForCausalLM.from_pretrained(
        hf_exports / "hf16", dtype=torch.float32
    ).eval()
    ids = miso.tokenizer.encode_chat(report_prompts[0]).ids
    with torch.no_grad():
        theirs = model(torch.tensor([ids])).logits[0].numpy()
    assert float(np.abs(theirs - miso.model.forward(np.array([ids]))[0]).max()) < LOGIT_TOLERANCE
