"""Architecture configuration of the MeowLLM transformer, serialisable to config.json."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

# Upper bounds that a config.json from an untrusted source is checked against before anything is
# allocated. They are far above any character model (the bundled Miso is d_model 192, 4 layers);
# max_seq_len is bounded hardest because the decoder precomputes rotary tables for every position.
LIMITS: dict[str, int] = {
    "vocab_size": 1 << 20,
    "d_model": 1 << 14,
    "n_layers": 1 << 10,
    "n_heads": 1 << 10,
    "ffn_dim": 1 << 16,
    "max_seq_len": 1 << 14,
}


@dataclass(frozen=True)
class ModelConfig:
    """Hyper-parameters of the decoder. Defaults give about 3.45M parameters at a ~1.7k vocab."""

    vocab_size: int
    d_model: int = 256
    n_layers: int = 4
    n_heads: int = 4
    ffn_dim: int = 640
    max_seq_len: int = 256
    rope_base: float = 10_000.0
    norm_eps: float = 1e-5

    def __post_init__(self) -> None:
        for name, limit in LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= limit:
                raise ValueError(
                    f"ModelConfig.{name} must be an integer from 1 to {limit}, got {value!r}"
                )
        for name in ("rope_base", "norm_eps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"ModelConfig.{name} must be a number, got {value!r}")
        if not (math.isfinite(self.rope_base) and self.rope_base > 1):
            raise ValueError(
                f"ModelConfig.rope_base must be finite and > 1, got {self.rope_base!r}"
            )
        if not (math.isfinite(self.norm_eps) and 0 < self.norm_eps < 1):
            raise ValueError(f"ModelConfig.norm_eps must be in (0, 1), got {self.norm_eps!r}")
        if self.d_model % self.n_heads:
            raise ValueError(
                f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})"
            )
        if self.head_dim % 2:
            raise ValueError(f"head_dim ({self.head_dim}) must be even for rotary embeddings")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ModelConfig:
        """Build from config.json's architecture fields; unknown keys are an error, not ignored."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"unknown architecture field(s): {', '.join(unknown)}")
        if "vocab_size" not in raw:
            raise ValueError("missing architecture field 'vocab_size'")
        return cls(**raw)
