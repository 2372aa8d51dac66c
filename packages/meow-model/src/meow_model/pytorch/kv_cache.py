"""A preallocated key/value cache: generation writes each step in place, never reallocates."""

from __future__ import annotations

import torch


class KVCache:
    """Keys and values of every layer, [layers, batch, heads, max_len, head_dim], plus a fill level.

    All rows share one length; rows of a left-padded batch mark their padding in the attention
    mask instead. A layer stores its new keys and values with `store` during a forward pass and
    the model calls `advance` once all layers have.
    """

    def __init__(
        self,
        n_layers: int,
        batch_size: int,
        n_heads: int,
        max_len: int,
        head_dim: int,
        dtype: torch.dtype,
        device: torch.device,
    ) -> None:
        shape = (n_layers, batch_size, n_heads, max_len, head_dim)
        self.keys = torch.empty(shape, dtype=dtype, device=device)
        self.values = torch.empty(shape, dtype=dtype, device=device)
        self.max_len = max_len
        self.length = 0
        self.decode_plan: tuple | None = (
            None  # the model's flat decode weights, fetched on first step
        )

    def store(
        self, layer: int, k: torch.Tensor, v: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Write `k`, `v` [B, H, T, D] after the cached positions; return all keys/values so far."""
        end = self.length + k.shape[2]
        self.keys[layer, :, :, self.length : end] = k
        self.values[layer, :, :, self.length : end] = v
        return self.keys[layer, :, :, :end], self.values[layer, :, :, :end]

    def advance(self, t: int) -> None:
        self.length += t

    def select(self, rows: torch.Tensor) -> None:
        """Keep only the batch rows in `rows` (drop finished sequences from a batch)."""
        self.keys = self.keys[:, rows]
        self.values = self.values[:, rows]
