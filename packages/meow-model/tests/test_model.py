"""The transformer: RoPE, tied weights, init, loss masking, KV cache and packing equivalences."""

import math

import pytest
import torch

from meow_model import ModelConfig
from meow_model.pytorch import IGNORE_INDEX, MeowForCausalLM
from meow_model.pytorch.rope import apply_rope, rope_tables, rotate_half


def test_default_size_is_about_3_45m_parameters():
    model = MeowForCausalLM(ModelConfig(vocab_size=1682))
    assert 3.40e6 < model.num_parameters() < 3.50e6


def test_rope_is_identity_at_position_zero():
    cos, sin = rope_tables(16, 8, 10_000.0)
    x = torch.randn(2, 3, 1, 16)
    assert torch.equal(apply_rope(x, cos[:1], sin[:1]), x)


def test_rope_matches_rotate_half_reference():
    d, base = 8, 10_000.0
    cos, sin = rope_tables(d, 32, base)
    x = torch.randn(1, 1, 32, d)
    out = apply_rope(x, cos, sin)
    expected = torch.empty_like(x)
    for pos in range(32):
        for i in range(d // 2):
            theta = pos * base ** (-2 * i / d)
            a, b = x[0, 0, pos, i], x[0, 0, pos, i + d // 2]
            expected[0, 0, pos, i] = a * math.cos(theta) - b * math.sin(theta)
            expected[0, 0, pos, i + d // 2] = b * math.cos(theta) + a * math.sin(theta)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    assert torch.equal(
        rotate_half(torch.tensor([1.0, 2.0, 3.0, 4.0])), torch.tensor([-3.0, -4.0, 1.0, 2.0])
    )


def test_rope_preserves_norm():
    cos, sin = rope_tables(16, 20, 10_000.0)
    x = torch.randn(1, 2, 20, 16)
    torch.testing.assert_close(apply_rope(x, cos, sin).norm(dim=-1), x.norm(dim=-1))


def test_embedding_and_head_are_tied(model):
    assert model.lm_head.weight is model.model.embed_tokens.weight
    assert "lm_head.weight" not in {n for n, _ in model.named_parameters()}


def test_residual_projections_get_depth_scaled_init():
    torch.manual_seed(0)
    model = MeowForCausalLM(ModelConfig(vocab_size=500, n_layers=8))
    scaled = 0.02 / math.sqrt(16)
    layer = model.model.layers[0]
    assert layer.self_attn.o_proj.weight.std().item() == pytest.approx(scaled, rel=0.1)
    assert layer.mlp.down_proj.weight.std().item() == pytest.approx(scaled, rel=0.1)
    assert layer.self_attn.q_proj.weight.std().item() == pytest.approx(0.02, rel=0.1)


def test_llama_parameter_names(model):
    names = set(model.state_dict())
    for suffix in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                   "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj", "input_layernorm", "post_attention_layernorm"):  # fmt: skip
        assert f"model.layers.0.{suffix}.weight" in names
    assert {"model.embed_tokens.weight", "model.norm.weight"} <= names
    assert not any(n.endswith(".bias") for n in names)


def test_loss_ignores_masked_targets(model, config):
    ids = torch.randint(5, config.vocab_size, (2, 12))
    targets = ids.clone()
    targets[:, :7] = IGNORE_INDEX
    logits, _ = model(ids)
    _, loss = model(ids, targets)
    keep = targets != IGNORE_INDEX
    expected = torch.nn.functional.cross_entropy(logits[keep], targets[keep])
    torch.testing.assert_close(loss, expected)
    # changing a kept target changes the loss; the masked positions' logits play no part
    targets2 = targets.clone()
    targets2[:, 7] = (targets[:, 7] + 1) % config.vocab_size
    assert model(ids, targets2)[1] != loss
    ids2 = ids.clone()
    ids2[:, 11] = (ids[:, 11] + 1) % config.vocab_size  # the last input predicts nothing kept...
    targets3 = targets.clone()
    targets3[:, 11] = IGNORE_INDEX  # ...once its target is masked too
    torch.testing.assert_close(model(ids2, targets3)[1], model(ids, targets3)[1])
    with_logits, loss2 = model(ids, targets, return_logits=True)
    torch.testing.assert_close(with_logits, logits)
    assert loss2 == loss


def test_cached_decode_equals_full_forward(model, config):
    ids = torch.randint(5, config.vocab_size, (1, 20))
    with torch.inference_mode():
        full, _ = model(ids)
        cache = model.new_cache(1)
        torch.testing.assert_close(
            model.decode(ids[:, :8], cache), full[:, 7], atol=1e-5, rtol=1e-4
        )
        for t in range(8, 20):
            step = model.decode(ids[:, t : t + 1], cache)
            torch.testing.assert_close(step, full[:, t], atol=1e-5, rtol=1e-4)
    assert cache.length == 20


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_fast_decode_step_mirrors_the_decoder_layers(model, config, dtype):
    """The one-token fast path (fast_decode.py) against the general path, token for token."""
    import copy

    m = copy.deepcopy(model).to(dtype)
    ids = torch.randint(5, config.vocab_size, (3, 16))
    tol = {"atol": 1e-5, "rtol": 1e-4} if dtype == torch.float32 else {"atol": 5e-2, "rtol": 5e-2}
    with torch.inference_mode():
        fast, general = m.new_cache(3), m.new_cache(3)
        m.decode(ids[:, :6], fast)
        m.decode(ids[:, :6], general)
        for t in range(6, 16):
            step = ids[:, t : t + 1]
            fast_logits = m.decode(step, fast)  # no mask, no positions: the fast path
            positions = torch.full((3, 1), t)
            mask = torch.ones(3, 1, 1, t + 1, dtype=torch.bool)
            general_logits = m.decode(step, general, position_ids=positions, mask=mask)
            assert fast_logits.dtype == dtype
            torch.testing.assert_close(fast_logits.float(), general_logits.float(), **tol)
            assert (
                torch.equal(fast_logits.argmax(-1), general_logits.argmax(-1))
                or dtype != torch.float32
            )


def test_fast_decode_sees_weight_updates_between_generations(model, config):
    import copy

    m = copy.deepcopy(model)
    ids = torch.randint(5, config.vocab_size, (1, 6))
    with torch.inference_mode():
        cache = m.new_cache(1)
        m.decode(ids[:, :5], cache)
        before = m.decode(ids[:, 5:], cache)
    with torch.no_grad():
        m.model.layers[0].mlp.down_proj.weight.mul_(2.0)  # in place, as an optimizer step would
    with torch.inference_mode():
        cache = m.new_cache(1)
        m.decode(ids[:, :5], cache)
        after = m.decode(ids[:, 5:], cache)
        full, _ = m(ids)
    assert not torch.allclose(before, after)
    torch.testing.assert_close(after, full[:, 5], atol=1e-5, rtol=1e-4)


def test_cache_overflow_is_an_error(model, config):
    cache = model.new_cache(1, max_len=4)
    with pytest.raises(ValueError, match="KV cache full"):
        model.decode(torch.ones(1, 5, dtype=torch.long), cache)


def test_packed_forward_equals_separate_forwards(model, config):
    a = torch.randint(5, config.vocab_size, (1, 7))
    b = torch.randint(5, config.vocab_size, (1, 11))
    packed = torch.cat([a, b], dim=1)
    segments = torch.tensor([[0] * 7 + [1] * 11])
    positions = torch.cat([torch.arange(7), torch.arange(11)])[None]
    logits, _ = model(packed, position_ids=positions, segment_ids=segments)
    torch.testing.assert_close(logits[:, :7], model(a)[0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(logits[:, 7:], model(b)[0], atol=1e-5, rtol=1e-4)
    # without segment masking the second sample would see the first
    leaky, _ = model(packed, position_ids=positions)
    assert not torch.allclose(leaky[:, 7:], model(b)[0], atol=1e-4)


def test_packed_loss_equals_mean_of_separate_token_losses(model, config):
    a = torch.randint(5, config.vocab_size, (1, 6))
    b = torch.randint(5, config.vocab_size, (1, 9))
    ta, tb = a.clone(), b.clone()
    ta[:, :3] = IGNORE_INDEX
    tb[:, :4] = IGNORE_INDEX
    _, loss = model(torch.cat([a, b], 1), torch.cat([ta, tb], 1),
                    position_ids=torch.cat([torch.arange(6), torch.arange(9)])[None],
                    segment_ids=torch.tensor([[0] * 6 + [1] * 9]))  # fmt: skip
    la, lb = model(a, ta)[1], model(b, tb)[1]
    torch.testing.assert_close(loss, (la * 3 + lb * 5) / 8, atol=1e-5, rtol=1e-5)


def test_sequence_longer_than_context_is_refused(model, config):
    with pytest.raises(ValueError, match="exceeds max_seq_len"):
        model(torch.ones(1, config.max_seq_len + 1, dtype=torch.long))


def test_backward_reaches_every_parameter(model, config):
    model.train()
    ids = torch.randint(5, config.vocab_size, (2, 10))
    _, loss = model(ids, ids)
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_fused_weights_follow_parameter_updates(model, config):
    ids = torch.randint(5, config.vocab_size, (1, 6))
    with torch.inference_mode():
        before = model(ids)[0]
    with torch.no_grad():
        model.model.layers[0].self_attn.q_proj.weight.mul_(2.0)
    with torch.inference_mode():
        after = model(ids)[0]
    assert not torch.allclose(before, after)


@pytest.mark.parametrize(
    ("field", "value"), [("vocab_size", 0), ("d_model", 250), ("n_heads", True)]
)
def test_config_validation(field, value):
    kwargs = {"vocab_size": 100, field: value}
    with pytest.raises(ValueError, match=field if field != "d_model" else "divisible"):
        ModelConfig(**kwargs)


def test_config_round_trip_and_unknown_fields():
    cfg = ModelConfig(vocab_size=100)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown architecture field"):
        ModelConfig.from_dict({**cfg.to_dict(), "n_experts": 8})
