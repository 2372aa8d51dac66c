"""The PyTorch logits-to-token step, a mirror of `meow_model.sampling` (same filters, same order)."""

from __future__ import annotations

import torch

from meow_model.sampling import SamplingConfig


def penalize_repeats(logits: torch.Tensor, seen: torch.Tensor, penalty: float) -> torch.Tensor:
    """CTRL-style penalty on tokens already in the sequence (`seen`: bool [B, V])."""
    penalized = torch.where(logits > 0, logits / penalty, logits * penalty)
    return torch.where(seen, penalized, logits)


def next_token(
    logits: torch.Tensor, cfg: SamplingConfig, generator: torch.Generator | None
) -> torch.Tensor:
    """Pick one token per row of `logits` [B, V]; returns ids [B, 1]."""
    if cfg.greedy:
        return logits.argmax(dim=-1, keepdim=True)
    return torch.multinomial(filtered_probs(logits, cfg), 1, generator=generator)


def filtered_probs(logits: torch.Tensor, cfg: SamplingConfig) -> torch.Tensor:
    """The distribution sampling draws from [B, V]: unnormalised after min-p and top-p cuts."""
    logits = logits.float() / cfg.temperature
    if cfg.top_k and cfg.top_k < logits.shape[-1]:
        kth = torch.topk(logits, cfg.top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    if cfg.min_p > 0:
        floor = probs.amax(dim=-1, keepdim=True) * cfg.min_p
        probs = probs.masked_fill(probs < floor, 0.0)
    if cfg.top_p < 1:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        before = sorted_probs.cumsum(dim=-1) - sorted_probs
        sorted_probs = sorted_probs.masked_fill(
            before > cfg.top_p * sorted_probs.sum(-1, keepdim=True), 0.0
        )
        probs = torch.zeros_like(probs).scatter_(-1, order, sorted_probs)
    return probs
