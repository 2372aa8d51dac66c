"""The MeowLLM decoder: a tiny transformer with the Llama layout, readable top to bottom.

Token embedding tied to the output head, pre-norm RMSNorm, rotary embeddings (rotate-half),
causal scaled-dot-product attention, SwiGLU feed-forward, no biases. Parameter names follow
Hugging Face's LlamaForCausalLM (`model.layers.0.self_attn.q_proj.weight`, …), so exporting is
a renaming, not a conversion.

Two entry points:
- `forward(input_ids, targets, position_ids=, segment_ids=)` for training and scoring; with
  `segment_ids` several samples can be packed in one row, each attending only to itself.
- `decode(input_ids, cache, ...)` for generation with a `KVCache`: prefill, then one token a step.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from meow_model.config import ModelConfig
from meow_model.pytorch.fast_decode import decode_one
from meow_model.pytorch.kv_cache import KVCache
from meow_model.pytorch.rope import apply_rope, rope_tables

IGNORE_INDEX = -100


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.rms_norm(x, self.weight.shape, self.weight, self.eps)


def fused_weight(owner: nn.Module, *linears: nn.Linear) -> torch.Tensor:
    """The weights of `linears` stacked into one matrix, so one matmul replaces several.

    Under autograd the stack is rebuilt each call (it is differentiable); for inference it is
    cached on `owner` until any of the weights changes, which keeps each decode step lean.
    """
    weights = [lin.weight for lin in linears]
    if torch.is_grad_enabled() and any(w.requires_grad for w in weights):
        return torch.cat(weights)
    key = tuple((w.data_ptr(), w._version, w.dtype, w.device) for w in weights)
    cached = owner.__dict__.get("_fused_cache")
    if cached is None or cached[0] != key:
        with torch.no_grad():
            cached = (key, torch.cat(weights))
        owner.__dict__["_fused_cache"] = cached
    return cached[1]


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig, layer: int) -> None:
        super().__init__()
        self.n_heads, self.head_dim, self.layer = cfg.n_heads, cfg.head_dim, layer
        self.q_proj = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        self.k_proj = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        self.v_proj = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        self.o_proj = nn.Linear(cfg.d_model, cfg.d_model, bias=False)

    def forward(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        mask: torch.Tensor | None,
        is_causal: bool,
        cache: KVCache | None,
    ) -> torch.Tensor:
        b, t, d = x.shape
        qkv = F.linear(x, fused_weight(self, self.q_proj, self.k_proj, self.v_proj))
        qkv = qkv.view(b, t, 3, self.n_heads, self.head_dim)
        # rotate q and k together: [B, T, 2, H, D] against cos/sin of shape [..., T, 1, 1, D]
        q, k = apply_rope(qkv[:, :, :2], cos, sin).transpose(1, 3).unbind(2)
        v = qkv[:, :, 2].transpose(1, 2)
        if cache is not None:
            k, v = cache.store(self.layer, k, v)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal)
        return self.o_proj(y.transpose(1, 2).reshape(b, t, d))


class MLP(nn.Module):
    """SwiGLU: down(silu(gate(x)) * up(x))."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(cfg.d_model, cfg.ffn_dim, bias=False)
        self.up_proj = nn.Linear(cfg.d_model, cfg.ffn_dim, bias=False)
        self.down_proj = nn.Linear(cfg.ffn_dim, cfg.d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = F.linear(x, fused_weight(self, self.gate_proj, self.up_proj)).chunk(2, dim=-1)
        return self.down_proj(F.silu(gate) * up)


class DecoderLayer(nn.Module):
    def __init__(self, cfg: ModelConfig, layer: int) -> None:
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.self_attn = Attention(cfg, layer)
        self.post_attention_layernorm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin, mask, is_causal, cache):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask, is_causal, cache)
        return x + self.mlp(self.post_attention_layernorm(x))


class Backbone(nn.Module):
    """Embedding, decoder layers and final norm: Llama's `model.*` namespace."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.layers = nn.ModuleList(DecoderLayer(cfg, i) for i in range(cfg.n_layers))
        self.norm = RMSNorm(cfg.d_model, cfg.norm_eps)


class MeowForCausalLM(nn.Module):
    """The MeowLLM language model."""

    def __init__(self, config: ModelConfig, init_weights: bool = True) -> None:
        super().__init__()
        self.config = config
        self.model = Backbone(config)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.lm_head.weight = self.model.embed_tokens.weight  # tied
        cos, sin = rope_tables(config.head_dim, config.max_seq_len, config.rope_base)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        if init_weights:
            self.reset_parameters()

    def reset_parameters(self) -> None:
        """GPT-2 style init; residual output projections scaled by 1/sqrt(2 * n_layers)."""
        residual_std = 0.02 / math.sqrt(2 * self.config.n_layers)
        for name, module in self.named_modules():
            if isinstance(module, nn.Linear) and module is not self.lm_head:
                std = residual_std if name.endswith(("o_proj", "down_proj")) else 0.02
                nn.init.normal_(module.weight, mean=0.0, std=std)
            elif isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
            elif isinstance(module, RMSNorm):
                nn.init.ones_(module.weight)

    def num_parameters(self) -> int:
        """Trainable parameters, counting the tied embedding once."""
        return sum(p.numel() for p in self.parameters())

    def _rope(
        self, t: int, start: int, position_ids: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """cos/sin shaped [T, 1, 1, D] (shared positions) or [B, T, 1, 1, D] (per-row positions)."""
        if position_ids is None:
            return self.rope_cos[start : start + t, None, None], self.rope_sin[
                start : start + t, None, None
            ]
        return self.rope_cos[position_ids][:, :, None, None], self.rope_sin[position_ids][
            :, :, None, None
        ]

    def _trunk(self, input_ids, cos, sin, mask, is_causal, cache) -> torch.Tensor:
        x = self.model.embed_tokens(input_ids)
        for layer in self.model.layers:
            x = layer(x, cos, sin, mask, is_causal, cache)
        return self.model.norm(x)

    def hidden_states(
        self,
        input_ids: torch.Tensor,
        *,
        position_ids: torch.Tensor | None = None,
        segment_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The final-norm hidden states [B, T, d_model] the output head reads (no cache).

        `segment_ids` [B, T] marks packed samples: attention is causal *within* a segment only, and
        `position_ids` should restart at 0 for each.
        """
        t = input_ids.shape[1]
        if t > self.config.max_seq_len:
            raise ValueError(f"sequence length {t} exceeds max_seq_len {self.config.max_seq_len}")
        cos, sin = self._rope(t, 0, position_ids)
        mask = None
        if segment_ids is not None:
            causal = torch.ones(t, t, dtype=torch.bool, device=input_ids.device).tril()
            mask = (segment_ids[:, :, None] == segment_ids[:, None, :]) & causal
            mask = mask.unsqueeze(1)
        return self._trunk(input_ids, cos, sin, mask, mask is None, None)

    def loss(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean next-token loss over targets != -100; the head runs on supervised positions only."""
        supervised = targets != IGNORE_INDEX
        return F.cross_entropy(self.lm_head(hidden[supervised]).float(), targets[supervised])

    def forward(
        self,
        input_ids: torch.Tensor,
        targets: torch.Tensor | None = None,
        *,
        position_ids: torch.Tensor | None = None,
        segment_ids: torch.Tensor | None = None,
        return_logits: bool | None = None,
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Score a batch. Returns (logits [B, T, V] or None, mean loss over targets != -100 or None).

        With `targets` and no `return_logits`, the output head runs only on supervised positions
        (the loss does not need the rest). See `hidden_states` for packing.
        """
        hidden = self.hidden_states(input_ids, position_ids=position_ids, segment_ids=segment_ids)
        if targets is None:
            return self.lm_head(hidden), None
        logits = self.lm_head(hidden) if return_logits else None
        return logits, self.loss(hidden, targets)

    def decode(
        self,
        input_ids: torch.Tensor,
        cache: KVCache,
        *,
        position_ids: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Run new tokens through the model, appending to `cache`; return last-position logits [B, V].

        Without `mask`, all rows share positions (no padding): prefill of an empty cache is plain
        causal attention and a one-token step attends to the whole cache. Batched generation of
        left-padded prompts passes per-row `position_ids` and a boolean `mask` [B, 1, T, K].
        """
        t = input_ids.shape[1]
        start = cache.length
        if start + t > cache.max_len:
            raise ValueError(f"KV cache full: {start} + {t} tokens > {cache.max_len}")
        if t == 1 and mask is None and position_ids is None and not torch.is_grad_enabled():
            return decode_one(self, input_ids, cache)
        cos, sin = self._rope(t, start, position_ids)
        is_causal = mask is None and t > 1
        if is_causal and start:
            raise ValueError("multi-token decode into a non-empty cache needs an explicit mask")
        hidden = self._trunk(input_ids, cos, sin, mask, is_causal, cache)
        cache.advance(t)
        return self.lm_head(hidden[:, -1])

    def new_cache(self, batch_size: int, max_len: int | None = None) -> KVCache:
        """A preallocated KV cache on this model's device and dtype."""
        weight = self.model.embed_tokens.weight
        cfg = self.config
        return KVCache(
            cfg.n_layers,
            batch_size,
            cfg.n_heads,
            max_len or cfg.max_seq_len,
            cfg.head_dim,
            weight.dtype,
            weight.device,
        )
