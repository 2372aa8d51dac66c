"""A loaded model plus sampling settings: what every chat mode talks to."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from meow_model import Pretrained, SamplingConfig, generate, load_pretrained, stream

BACKENDS = ("numpy", "torch")


class BackendError(ValueError):
    """The requested backend or device cannot run here (not a problem with the model)."""


@dataclass
class ChatSession:
    """Replies from one model; each reply gets its own seed (`seed`, `seed + 1`, …) when seeded."""

    pretrained: Pretrained
    sampling: SamplingConfig
    turns: int = 0

    @classmethod
    def open(
        cls,
        model_dir: Path,
        sampling: SamplingConfig,
        backend: str = "numpy",
        device: str = "auto",
    ) -> ChatSession:
        """Load `model_dir` with NumPy (no PyTorch needed) or, with backend="torch", onto `device`."""
        if backend == "numpy":
            if device not in ("auto", "cpu"):
                raise BackendError(
                    f"device {device!r} needs --backend torch (NumPy runs on the CPU)"
                )
            return cls(load_pretrained(model_dir), sampling)
        if backend != "torch":
            raise BackendError(f"unknown backend {backend!r} (choose from {', '.join(BACKENDS)})")
        try:
            from meow_model.pytorch import load_pretrained as load_torch
            from meow_model.pytorch import pick_device
        except ImportError:
            raise BackendError(
                "--backend torch needs PyTorch: pip install 'meow-model[torch]'"
            ) from None
        return cls(load_torch(model_dir, device=pick_device(device)), sampling)

    def _next_sampling(self) -> SamplingConfig:
        cfg = (
            self.sampling
            if self.sampling.seed is None
            else replace(self.sampling, seed=self.sampling.seed + self.turns)
        )
        self.turns += 1
        return cfg

    def stream(self, prompt: str) -> Iterator[str]:
        yield from stream(
            self.pretrained.model, self.pretrained.tokenizer, prompt, self._next_sampling()
        )

    def reply(self, prompt: str) -> tuple[str, int, float]:
        """(reply text on one line, generated tokens, milliseconds)."""
        start = time.perf_counter()
        out = generate(
            self.pretrained.model, self.pretrained.tokenizer, prompt, self._next_sampling()
        )
        ms = (time.perf_counter() - start) * 1000
        return " ".join(out.text.split()), len(out.token_ids), ms
