"""The one-token decode step with as few PyTorch ops as possible: the streaming hot path.

This is a MIRROR of `DecoderLayer.forward` (model.py) specialised to one new token per row at a
shared position: pre-norm attention with fused QKV and rotary embeddings applied as one matmul
per position, then the SwiGLU MLP. Any change to the layer's maths must be made here too; the
parity tests in tests/test_model.py (fp32 and bf16) compare the two paths.

The flat weights are cached on the model, keyed on every parameter's storage pointer and
`Tensor._version` (bumped by any in-place update: an optimizer step, `load_state_dict`), so a
model that changes between generations never decodes with stale weights. A KV cache fetches the
plan once: weights cannot change during one generation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from meow_model.pytorch.kv_cache import KVCache
from meow_model.pytorch.rope import rope_matrices

if TYPE_CHECKING:
    from meow_model.pytorch.model import MeowForCausalLM

_PLAN_ATTR = "_decode_plan_cache"


def decode_plan(model: MeowForCausalLM) -> tuple:
    """Per-layer flat weights and per-position rotation matrices, rebuilt when a weight changes."""
    from meow_model.pytorch.model import fused_weight

    key = tuple((p.data_ptr(), _version(p)) for p in model.parameters())
    cached = model.__dict__.get(_PLAN_ATTR)
    if cached is None or cached[0] != key:
        layers = tuple(
            (
                layer.input_layernorm.weight,
                fused_weight(layer.self_attn, layer.self_attn.q_proj, layer.self_attn.k_proj,
                             layer.self_attn.v_proj),
                layer.self_attn.o_proj.weight,
                layer.post_attention_layernorm.weight,
                fused_weight(layer.mlp, layer.mlp.gate_proj, layer.mlp.up_proj),
                layer.mlp.down_proj.weight,
            )
            for layer in model.model.layers
        )  # fmt: skip
        rope = rope_matrices(model.rope_cos, model.rope_sin).to(model.rope_cos.device)
        cached = (key, layers, rope)
        model.__dict__[_PLAN_ATTR] = cached
    return cached[1], cached[2]


def _version(p: torch.Tensor) -> int:
    try:
        return p._version
    except (
        RuntimeError
    ):  # an inference tensor (created under inference_mode) never changes in place
        return -1


@torch.inference_mode()
def decode_one(model: MeowForCausalLM, token: torch.Tensor, cache: KVCache) -> torch.Tensor:
    """Logits [B, V] for one new token per row [B, 1], all rows at position `cache.length`."""
    cfg = model.config
    if cache.decode_plan is None:
        cache.decode_plan = decode_plan(model)
    layers, rope = cache.decode_plan
    b, pos = token.shape[0], cache.length
    eps, shape = cfg.norm_eps, (cfg.d_model,)
    rot = rope[pos]
    x = model.model.embed_tokens.weight[token[:, 0]]
    for i, (ln1, w_qkv, w_o, ln2, w_gu, w_down) in enumerate(layers):
        qkv = F.linear(F.rms_norm(x, shape, ln1, eps), w_qkv).view(b, 3, cfg.n_heads, cfg.head_dim)
        qk = torch.matmul(qkv[:, :2], rot)
        cache.keys[i, :, :, pos] = qk[:, 1]
        cache.values[i, :, :, pos] = qkv[:, 2]
        y = F.scaled_dot_product_attention(
            qk[:, 0, :, None], cache.keys[i, :, :, : pos + 1], cache.values[i, :, :, : pos + 1]
        )
        x = x + F.linear(y.view(b, cfg.d_model), w_o)
        gate, up = F.linear(F.rms_norm(x, shape, ln2, eps), w_gu).chunk(2, dim=-1)
        x = x + F.linear(F.silu(gate) * up, w_down)
    cache.advance(1)
    return model.lm_head(model.model.norm(x))
