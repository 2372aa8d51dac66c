"""Training configuration: every knob of `meow-train run`, recorded in each checkpoint."""

from __future__ import annotations

import math
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path

from meow_model import SPECIAL_TOKENS, ModelConfig

# The architecture's defaults are meow-model's: one source of truth for the CLI, TrainConfig and
# ModelConfig alike.
_ARCH = {f.name: f.default for f in fields(ModelConfig) if f.default is not MISSING}
# Byte-level BPE starts from the 256 bytes; the chat format's special tokens come on top.
MIN_VOCAB_SIZE = 256 + len(SPECIAL_TOKENS)


@dataclass(frozen=True)
class TrainConfig:
    """What and how to train. Stop after `steps`, `epochs` or `max_minutes`, whichever comes first."""

    data: Path
    out: Path
    steps: int | None = None
    epochs: float | None = None
    max_minutes: float | None = None
    batch_size: int = 64
    lr: float = 3e-3
    min_lr_ratio: float = 0.05
    warmup_steps: int = 100
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    topic_loss_weight: float = 0.0  # > 0: train the topic head alongside (see topic_head.py)
    prompt_loss_weight: float = 0.0  # > 0: also learn the prompt's text (see topic_head.py)
    prompt_noise: float = 0.0  # share of prompt tokens swapped for random ones each step
    d_model: int = _ARCH["d_model"]
    n_layers: int = _ARCH["n_layers"]
    n_heads: int = _ARCH["n_heads"]
    ffn_dim: int = _ARCH["ffn_dim"]
    max_seq_len: int = _ARCH["max_seq_len"]
    vocab_size: int = 2048
    tokenizer: Path | None = None
    verify_data: bool = True
    persona: Path | None = None
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"
    compile: bool = False
    eval_every: int = 300
    eval_limit: int | None = None
    log_every: int = 10

    def __post_init__(self) -> None:
        if self.steps is None and self.epochs is None and self.max_minutes is None:
            raise ValueError("give at least one of steps, epochs or max_minutes")
        for name in ("steps", "epochs", "max_minutes"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {value}")
        if self.vocab_size < MIN_VOCAB_SIZE:
            raise ValueError(
                f"vocab_size must be at least {MIN_VOCAB_SIZE} (bytes + special tokens), "
                f"got {self.vocab_size}"
            )
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr}")
        for name in (
            "weight_decay",
            "grad_clip",
            "topic_loss_weight",
            "prompt_loss_weight",
        ):  # 0 turns each off
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value}")
        if not 0 <= self.prompt_noise < 1:
            raise ValueError(f"prompt_noise must be in [0, 1), got {self.prompt_noise}")
        if not 0 <= self.min_lr_ratio <= 1:
            raise ValueError(f"min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")
        if self.batch_size < 1 or self.warmup_steps < 0 or self.eval_every < 1:
            raise ValueError("batch_size and eval_every must be >= 1, warmup_steps >= 0")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise ValueError(f"precision must be auto, fp32 or bf16, got {self.precision!r}")

    def model_config(self, vocab_size: int) -> ModelConfig:
        """The architecture this configuration trains, for a tokenizer of `vocab_size` tokens."""
        return ModelConfig(
            vocab_size=vocab_size, d_model=self.d_model, n_layers=self.n_layers,
            n_heads=self.n_heads, ffn_dim=self.ffn_dim, max_seq_len=self.max_seq_len,
        )  # fmt: skip

    def to_dict(self) -> dict:
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}
