"""Resumable training state, written atomically and without pickle.

`RUN_DIR/state/` holds the model weights, the optimizer moments (safetensors) and the loop
counters (JSON). The directory is staged and renamed into place, so a crash mid-write leaves the
previous state intact and never a mixture of two.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from meow_model import recover_directory, staged_directory

STATE_DIR = "state"


class StateError(ValueError):
    """Training state is missing or unreadable."""


def save_state(
    run_dir: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    counters: dict[str, Any],
) -> None:
    """Write model, optimizer and counters to RUN_DIR/state atomically."""
    weights = {
        k: v.detach().contiguous().cpu()
        for k, v in model.state_dict().items()
        if k != "lm_head.weight"
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
            json.dumps({"counters": counters, "param_groups": opt["param_groups"]}, indent=2)
            + "\n",
            encoding="utf-8",
        )


def load_state(
    run_dir: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer
) -> dict[str, Any]:
    """Restore model and optimizer from RUN_DIR/state; return the loop counters."""
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
    if [k for k in missing if k != "lm_head.weight"]:
        raise StateError(f"{state_dir}/model.safetensors: does not match the model ({missing[:3]})")
    device = next(model.parameters()).device
    slots: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in moments.items():
        index, name = key.split(".", 1)
        slots.setdefault(int(index), {})[name] = value.to(device) if name != "step" else value
    optimizer.load_state_dict({"state": slots, "param_groups": meta["param_groups"]})
    return meta["counters"]
