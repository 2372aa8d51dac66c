"""Resumable training state, written atomically and without pickle.

`RUN_DIR/state/` holds the model weights, the optimizer moments (safetensors) and the loop
counters (JSON). The directory is staged and renamed into place, so a crash mid-write leaves the
previous state intact and never a mixture of two.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from meow_model import recover_directory, staged_directory

TIED_KEY = "lm_head.weight"  # tied to the embedding, stored once (as in model directories)

STATE_DIR = "state"


class StateError(ValueError):
    """Training state is missing or unreadable."""


@dataclass
class TrainState:
    """Where the loop stands; saved as `counters` in state.json, so a run resumes exactly."""

    step: int = 0
    epoch: int = 0
    batch: int = 0  # index of the next batch within the epoch
    elapsed: float = 0.0  # training seconds, carried over a resume
    tokens: int = 0  # supervised tokens seen
    total_steps: int | None = None  # the schedule's length, once known
    best: dict[str, Any] | None = None  # {"step", "pass_rate", "val_loss"} of best/

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: object, where: Path) -> TrainState:
        names = {f.name for f in fields(cls)}
        if not isinstance(raw, dict) or not names <= set(raw):
            raise StateError(f"{where}: 'counters' must hold {', '.join(sorted(names))}")
        return cls(**{name: raw[name] for name in names})


def save_state(
    run_dir: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    state: TrainState,
) -> None:
    """Write model, optimizer and loop state to RUN_DIR/state atomically."""
    weights = {
        k: v.detach().contiguous().cpu()
        for k, v in model.state_dict().items()
        if not k.endswith(TIED_KEY)
    }
    opt = optimizer.state_dict()
    moments = {}
    for index, slots in opt["state"].items():
        for name, value in slots.items():
            moments[f"{index}.{name}"] = value.detach().contiguous().cpu()
    recover_directory(run_dir / STATE_DIR)
    for stale in run_dir.glob(f".{STATE_DIR}-new-*"):  # staging left behind by a killed process
        shutil.rmtree(stale, ignore_errors=True)
    with staged_directory(run_dir / STATE_DIR) as staging:
        save_file(weights, str(staging / "model.safetensors"))
        save_file(moments, str(staging / "optimizer.safetensors"))
        (staging / "state.json").write_text(
            json.dumps({"counters": state.to_dict(), "param_groups": opt["param_groups"]}, indent=2)
            + "\n",
            encoding="utf-8",
        )


def load_state(
    run_dir: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer
) -> TrainState:
    """Restore model and optimizer from RUN_DIR/state; return where the loop stood."""
    recover_directory(run_dir / STATE_DIR)
    state_dir = run_dir / STATE_DIR
    if not (state_dir / "state.json").is_file():
        raise StateError(f"{state_dir}: no training state to resume from")
    try:
        meta = json.loads((state_dir / "state.json").read_text(encoding="utf-8"))
        weights = load_file(str(state_dir / "model.safetensors"))
        moments = load_file(str(state_dir / "optimizer.safetensors"))
    except (OSError, json.JSONDecodeError, SafetensorError) as exc:
        raise StateError(f"{state_dir}: unreadable training state: {exc}") from None
    missing = model.load_state_dict(weights, strict=False).missing_keys
    if [k for k in missing if not k.endswith(TIED_KEY)]:
        raise StateError(f"{state_dir}/model.safetensors: does not match the model ({missing[:3]})")
    device = next(model.parameters()).device
    slots: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in moments.items():
        index, name = key.split(".", 1)
        slots.setdefault(int(index), {})[name] = value.to(device) if name != "step" else value
    optimizer.load_state_dict({"state": slots, "param_groups": meta["param_groups"]})
    return TrainState.from_dict(meta.get("counters"), state_dir / "state.json")
