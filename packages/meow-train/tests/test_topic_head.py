"""The training-only topic head: it learns to name the category from the `<miso>` position."""

import pytest
import torch

from meow_model import ModelConfig
from meow_model.pytorch import IGNORE_INDEX, MeowForCausalLM
from meow_train.topic_head import TrainModule


def _batch(vocab: int):
    g = torch.Generator().manual_seed(0)
    inputs = torch.randint(5, vocab, (12, 10), generator=g)
    topics = torch.arange(12) % 3
    inputs[:, 2] = 100 + topics  # the word that gives the topic away
    targets = torch.full_like(inputs, IGNORE_INDEX)
    targets[:, 6:] = inputs[:, 6:]
    return inputs, targets, torch.full((12,), 5), topics


def test_topic_loss_falls_and_the_language_loss_is_reported_apart():
    torch.manual_seed(0)
    model = MeowForCausalLM(
        ModelConfig(vocab_size=128, d_model=32, n_layers=2, n_heads=2, ffn_dim=64)
    )
    module = TrainModule(model, n_topics=3, topic_loss_weight=1.0)
    inputs, targets, pos, topics = _batch(128)
    optimizer = torch.optim.AdamW(module.parameters(), lr=1e-2)
    first = None
    for _ in range(60):
        objective, lm_loss = module(inputs, targets, pos, topics)
        first = first if first is not None else float(objective - lm_loss)
        optimizer.zero_grad()
        objective.backward()
        optimizer.step()
    topic_loss = float(objective - lm_loss)
    assert first > 1.0 > 0.1 > topic_loss  # from chance (ln 3) to sure
    with torch.no_grad():
        hidden = model.hidden_states(inputs)
        guess = module.topic_head(hidden[torch.arange(12), pos]).argmax(-1)
    assert torch.equal(guess, topics)


def test_without_weight_there_is_no_head_and_the_objective_is_the_language_loss():
    model = MeowForCausalLM(
        ModelConfig(vocab_size=128, d_model=32, n_layers=1, n_heads=2, ffn_dim=64)
    )
    module = TrainModule(model, n_topics=3, topic_loss_weight=0.0)
    inputs, targets, pos, topics = _batch(128)
    objective, lm_loss = module(inputs, targets, pos, topics)
    assert module.topic_head is None and torch.equal(objective, lm_loss)
    assert torch.equal(lm_loss, model(inputs, targets)[1])


def test_prompt_loss_is_added_with_its_weight_and_needs_its_targets():
    torch.manual_seed(0)
    model = MeowForCausalLM(
        ModelConfig(vocab_size=128, d_model=32, n_layers=1, n_heads=2, ffn_dim=64)
    )
    inputs, targets, pos, topics = _batch(128)
    prompt = torch.full_like(inputs, IGNORE_INDEX)
    prompt[:, 1:4] = inputs[:, 2:5]
    module = TrainModule(model, n_topics=3, topic_loss_weight=0.0, prompt_loss_weight=0.5)
    objective, lm_loss = module(inputs, targets, pos, topics, prompt)
    assert torch.equal(lm_loss, model(inputs, targets)[1])  # what is reported: the reply alone
    expected = lm_loss + 0.5 * model(inputs, prompt)[1]
    assert torch.allclose(objective, expected)
    with pytest.raises(ValueError, match="needs the prompt targets"):
        module(inputs, targets, pos, topics)
