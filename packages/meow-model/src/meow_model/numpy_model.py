"""The NumPy inference runtime: the MeowLLM decoder's forward pass with a KV cache, no PyTorch.

It computes exactly what `meow_model.pytorch.MeowForCausalLM` computes (tied embedding, pre-norm
RMSNorm, rotate-half rotary embeddings, causal attention, SwiGLU, no biases) in float32 from the
same model directory, and is what `meow-chat` runs by default: importing NumPy costs a few tens of
milliseconds, importing PyTorch most of a second. Weights are kept transposed and fused (QKV,
gate+up) so each layer is three matrix products per token.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from meow_model.config import ModelConfig


def rope_tables_np(head_dim: int, max_len: int, base: float) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin [max_len, head_dim] in float32, each frequency repeated for both halves."""
    exponent = np.arange(0, head_dim, 2, dtype=np.float32) / np.float32(head_dim)
    inv_freq = (np.float32(1.0) / (np.float32(base) ** exponent)).astype(np.float32)
    angles = np.outer(np.arange(max_len, dtype=np.float32), inv_freq).astype(np.float32)
    angles = np.concatenate([angles, angles], axis=-1)
    return np.cos(angles), np.sin(angles)


@dataclass
class _Layer:
    ln1: np.ndarray  # [d]
    w_qkv: np.ndarray  # [d, 3d]  (x @ w_qkv)
    w_o: np.ndarray  # [d, d]
    ln2: np.ndarray  # [d]
    w_gate_up: np.ndarray  # [d, 2f]
    w_down: np.ndarray  # [f, d]


class NumpyCache:
    """Keys and values of every layer, [layers, batch, heads, max_len, head_dim], and a fill level."""

    def __init__(self, config: ModelConfig, batch_size: int, max_len: int) -> None:
        shape = (config.n_layers, batch_size, config.n_heads, max_len, config.head_dim)
        self.keys = np.zeros(shape, dtype=np.float32)
        self.values = np.zeros(shape, dtype=np.float32)
        self.max_len = max_len
        self.length = 0

    def select(self, rows: np.ndarray) -> None:
        """Keep only the batch rows in `rows` (drop finished sequences)."""
        self.keys = self.keys[:, rows]
        self.values = self.values[:, rows]


class NumpyModel:
    """A loaded MeowLLM model for inference with NumPy (float32)."""

    def __init__(self, config: ModelConfig, weights: dict[str, np.ndarray]) -> None:
        self.config = config
        f32 = {name: np.ascontiguousarray(w, dtype=np.float32) for name, w in weights.items()}
        self.embed = f32["model.embed_tokens.weight"]  # [V, d], also the output head (tied)
        self.head = np.ascontiguousarray(self.embed.T)  # [d, V]
        self.norm = f32["model.norm.weight"]
        self.layers = []
        for i in range(config.n_layers):
            p = f"model.layers.{i}."
            qkv = np.concatenate([f32[p + f"self_attn.{n}_proj.weight"] for n in "qkv"])
            gate_up = np.concatenate(
                [f32[p + "mlp.gate_proj.weight"], f32[p + "mlp.up_proj.weight"]]
            )
            self.layers.append(
                _Layer(
                    ln1=f32[p + "input_layernorm.weight"],
                    w_qkv=np.ascontiguousarray(qkv.T),
                    w_o=np.ascontiguousarray(f32[p + "self_attn.o_proj.weight"].T),
                    ln2=f32[p + "post_attention_layernorm.weight"],
                    w_gate_up=np.ascontiguousarray(gate_up.T),
                    w_down=np.ascontiguousarray(f32[p + "mlp.down_proj.weight"].T),
                )
            )
        self.cos, self.sin = rope_tables_np(config.head_dim, config.max_seq_len, config.rope_base)

    def num_parameters(self) -> int:
        """Parameters, counting the tied embedding once."""
        per_layer = sum(w.size for w in vars(self.layers[0]).values()) if self.layers else 0
        return self.embed.size + self.norm.size + per_layer * len(self.layers)

    def new_cache(self, batch_size: int, max_len: int | None = None) -> NumpyCache:
        return NumpyCache(self.config, batch_size, max_len or self.config.max_seq_len)

    def forward(self, input_ids: np.ndarray) -> np.ndarray:
        """Logits [B, T, V] for every position of `input_ids` [B, T] (no cache, causal)."""
        b, t = input_ids.shape
        cache = self.new_cache(b, t)
        return self._run(
            input_ids, cache, np.broadcast_to(np.arange(t), (b, t)), None, all_logits=True
        )

    def decode(
        self,
        input_ids: np.ndarray,
        cache: NumpyCache,
        position_ids: np.ndarray | None = None,
        mask: np.ndarray | None = None,
    ) -> np.ndarray:
        """Run new tokens [B, T] through the model, appending to `cache`; last-position logits [B, V].

        Without `position_ids` every row is at `cache.length`; `mask` [B, T, K] (True = attend)
        lets left-padded rows ignore their padding. Without it attention is causal.
        """
        b, t = input_ids.shape
        start = cache.length
        if start + t > cache.max_len:
            raise ValueError(f"KV cache full: {start} + {t} tokens > {cache.max_len}")
        if position_ids is None:
            position_ids = np.broadcast_to(np.arange(start, start + t), (b, t))
        return self._run(input_ids, cache, position_ids, mask, all_logits=False)

    def _run(self, input_ids, cache, position_ids, mask, all_logits: bool) -> np.ndarray:
        cfg = self.config
        b, t = input_ids.shape
        h, hd, start = cfg.n_heads, cfg.head_dim, cache.length
        end = start + t
        if mask is None:
            mask = np.tril(np.ones((t, end), dtype=bool), k=start)[None]
        cos = self.cos[position_ids][:, None]  # [B, 1, T, D]
        sin = self.sin[position_ids][:, None]
        bias = np.where(mask, np.float32(0.0), np.float32(-np.inf))[:, None]  # [B|1, 1, T, K]
        scale = np.float32(1.0 / np.sqrt(hd))
        x = self.embed[input_ids]  # [B, T, d]
        for i, layer in enumerate(self.layers):
            qkv = (_rms_norm(x, layer.ln1, cfg.norm_eps) @ layer.w_qkv).reshape(b, t, 3, h, hd)
            q = _rope(qkv[:, :, 0].transpose(0, 2, 1, 3), cos, sin)  # [B, H, T, D]
            cache.keys[i, :, :, start:end] = _rope(qkv[:, :, 1].transpose(0, 2, 1, 3), cos, sin)
            cache.values[i, :, :, start:end] = qkv[:, :, 2].transpose(0, 2, 1, 3)
            scores = (q @ cache.keys[i, :, :, :end].transpose(0, 1, 3, 2)) * scale + bias
            y = _softmax(scores) @ cache.values[i, :, :, :end]  # [B, H, T, D]
            x = x + y.transpose(0, 2, 1, 3).reshape(b, t, cfg.d_model) @ layer.w_o
            gate, up = np.split(_rms_norm(x, layer.ln2, cfg.norm_eps) @ layer.w_gate_up, 2, axis=-1)
            x = x + (_silu(gate) * up) @ layer.w_down
        cache.length = end
        if not all_logits:
            x = x[:, -1]
        return _rms_norm(x, self.norm, cfg.norm_eps) @ self.head


def _rms_norm(x: np.ndarray, weight: np.ndarray, eps: float) -> np.ndarray:
    variance = np.mean(np.square(x), axis=-1, keepdims=True, dtype=np.float32)
    return x * (np.float32(1.0) / np.sqrt(variance + np.float32(eps))) * weight


def _rope(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    half = x.shape[-1] // 2
    rotated = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return x * cos + rotated * sin


def _softmax(scores: np.ndarray) -> np.ndarray:
    scores = scores - scores.max(axis=-1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=-1, keepdims=True)
    return scores


def _silu(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # exp(-x) overflows to inf for very negative x: silu -> -0
        return x / (np.float32(1.0) + np.exp(-x))
