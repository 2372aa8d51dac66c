"""Pick the device to run on: CUDA, then Apple MPS, then CPU, unless told otherwise."""

from __future__ import annotations

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def pick_device(preference: str | None = "auto") -> torch.device:
    """Resolve "auto" (or None) to the best available device; check an explicit one exists."""
    choice = (preference or "auto").lower()
    if choice == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    kind = choice.split(":", 1)[0]
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {preference!r} requested but CUDA is not available")
    if kind == "mps" and not _mps_available():
        raise ValueError(f"device {preference!r} requested but Apple MPS is not available")
    if kind not in DEVICE_CHOICES:
        raise ValueError(f"unknown device {preference!r} (choose from {', '.join(DEVICE_CHOICES)})")
    return torch.device(choice)


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())
