"""Sampling settings and the NumPy logits-to-token step: temperature, top-k, min-p, top-p, repetition penalty.

The filters run in one order (temperature, top-k, softmax, min-p, top-p) in both runtimes;
`meow_model.pytorch` mirrors `filtered_probs` for PyTorch and the tests hold the two equal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Imported with this module, not through numpy's lazy `random` attribute at call time: threads
# that touch that attribute first at the same moment (a server's first requests) can recurse in
# numpy's lazy loader.
from numpy.random import Generator, default_rng


@dataclass(frozen=True)
class SamplingConfig:
    """How to pick each next token. `temperature=0` is greedy decoding."""

    temperature: float = 0.7
    top_k: int = 40
    top_p: float = 0.95
    min_p: float = 0.0
    repetition_penalty: float = 1.0
    max_new_tokens: int = 64
    seed: int | None = None

    def __post_init__(self) -> None:
        # Written so that NaN fails every comparison and is refused with the rest.
        if not (math.isfinite(self.temperature) and self.temperature >= 0):
            raise ValueError(f"temperature must be a finite number >= 0, got {self.temperature}")
        if self.top_k < 0:
            raise ValueError(f"top_k must be >= 0 (0 disables it), got {self.top_k}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if not 0 <= self.min_p < 1:
            raise ValueError(f"min_p must be in [0, 1), got {self.min_p}")
        if not (math.isfinite(self.repetition_penalty) and self.repetition_penalty > 0):
            raise ValueError(
                f"repetition_penalty must be a finite number > 0, got {self.repetition_penalty}"
            )
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


def penalize_repeats(logits: np.ndarray, seen: np.ndarray, penalty: float) -> np.ndarray:
    """CTRL-style penalty on tokens already in the sequence (`seen`: bool [B, V])."""
    penalized = np.where(logits > 0, logits / penalty, logits * penalty)
    return np.where(seen, penalized, logits).astype(np.float32)


def filtered_probs(logits: np.ndarray, cfg: SamplingConfig) -> np.ndarray:
    """The distribution sampling draws from [B, V]: unnormalised after min-p and top-p cuts."""
    logits = logits.astype(np.float32) / np.float32(cfg.temperature)
    if cfg.top_k and cfg.top_k < logits.shape[-1]:
        kth = np.partition(logits, -cfg.top_k, axis=-1)[:, -cfg.top_k][:, None]
        logits = np.where(logits < kth, np.float32(-np.inf), logits)
    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    if cfg.min_p > 0:
        floor = probs.max(axis=-1, keepdims=True) * np.float32(cfg.min_p)
        probs = np.where(probs < floor, np.float32(0.0), probs)
    if cfg.top_p < 1:
        order = np.argsort(-probs, axis=-1, kind="stable")
        sorted_probs = np.take_along_axis(probs, order, axis=-1)
        before = np.cumsum(sorted_probs, axis=-1) - sorted_probs
        cut = before > np.float32(cfg.top_p) * sorted_probs.sum(axis=-1, keepdims=True)
        sorted_probs = np.where(cut, np.float32(0.0), sorted_probs)
        probs = np.zeros_like(probs)
        np.put_along_axis(probs, order, sorted_probs, axis=-1)
    return probs


def next_token(logits: np.ndarray, cfg: SamplingConfig, rng: Generator | None) -> np.ndarray:
    """Pick one token per row of `logits` [B, V]; returns ids [B]."""
    if cfg.greedy:
        return logits.argmax(axis=-1)
    probs = filtered_probs(logits, cfg).astype(np.float64)
    probs /= probs.sum(axis=-1, keepdims=True)
    rng = rng if rng is not None else default_rng()
    # inverse-CDF sampling: one uniform draw per row
    draws = rng.random((probs.shape[0], 1))
    picks = (np.cumsum(probs, axis=-1) < draws).sum(axis=-1)
    return np.minimum(picks, probs.shape[-1] - 1)
