"""Rotary position embeddings in the rotate-half convention (as in Llama / Hugging Face)."""

from __future__ import annotations

import torch


def rope_tables(head_dim: int, max_len: int, base: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin tables of shape [max_len, head_dim], each frequency repeated for both halves."""
    inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    angles = torch.outer(torch.arange(max_len, dtype=torch.float32), inv_freq)
    angles = torch.cat((angles, angles), dim=-1)
    return angles.cos(), angles.sin()


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """[x1, x2] -> [-x2, x1] over the last dimension."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate `x` [B, H, T, D] by angles given as cos/sin broadcastable to it."""
    return x * cos + rotate_half(x) * sin


def rope_matrices(cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Per-position rotation matrices [max_len, D, D] with `x @ R[p] == apply_rope(x, cos[p], sin[p])`.

    One matmul instead of five elementwise ops: the single-token decode step is bound by per-op
    overhead at this model size, so this is what makes it lean.
    """
    d = cos.shape[-1]
    half = d // 2
    eye = torch.eye(d, dtype=cos.dtype)
    # rotate_half as a matrix: x @ P == cat(-x2, x1)
    perm = torch.zeros(d, d, dtype=cos.dtype)
    perm[half:, :half] = -eye[:half, :half]
    perm[:half, half:] = eye[:half, :half]
    return eye * cos[:, None, :] + perm * sin[:, None, :]
