"""The bundled Miso on both runtimes: same greedy replies to every held-out prompt, same logits."""

import numpy as np
import torch

from meow_chat import bundled_model_dir
from meow_model import SamplingConfig, generate_batch, load_pretrained, prompt_ids
from meow_model.pytorch import load_pretrained as load_torch
from meow_rules import MISO

GREEDY = SamplingConfig(temperature=0)


def test_greedy_replies_and_logits_agree_on_every_eval_prompt():
    prompts = sorted(
        {
            p.prompt
            for suite in ("selection", "report", "unseen", "unknown_words")
            for p in MISO.suite(suite)
        }
    )
    numpy_miso, torch_miso = load_pretrained(bundled_model_dir()), load_torch(bundled_model_dir())
    # fp16 weights on disk, float32 arithmetic in both runtimes
    numpy_replies = generate_batch(numpy_miso.model, numpy_miso.tokenizer, prompts, GREEDY)
    torch_replies = generate_batch(torch_miso.model, torch_miso.tokenizer, prompts, GREEDY)
    differ = [
        p
        for p, a, b in zip(prompts, numpy_replies, torch_replies, strict=True)
        if a.token_ids != b.token_ids
    ]
    assert not differ, f"{len(differ)} of {len(prompts)} greedy replies differ, e.g. {differ[:3]}"
    worst = 0.0
    for prompt in prompts:
        ids = prompt_ids(numpy_miso.tokenizer, prompt, numpy_miso.model.config.max_seq_len, 64)
        ours = numpy_miso.model.forward(np.array([ids]))[0, -1]
        with torch.inference_mode():
            theirs = torch_miso.model(torch.tensor([ids]))[0][0, -1].numpy()
        worst = max(worst, float(np.abs(ours - theirs).max()))
    assert worst < 1e-4, f"last-position logits differ by up to {worst:.2e}"
