"""Two processes under torchrun (gloo, CPU) train like one process on the same global batch."""

import json
import os
import subprocess
import sys

import pytest


def losses(run_dir):
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [r["loss"] for r in rows if r["event"] == "train"]


ARGS = ["--steps", "12", "--batch-size", "16", "--d-model", "32", "--layers", "2", "--heads", "2", "--ffn", "64",
        "--context", "64", "--vocab-size", "300", "--eval-every", "12", "--eval-limit", "4", "--device", "cpu",
        "--precision", "fp32", "--quiet", "--log-every", "1", "--lr", "3e-3", "--warmup-steps", "2"]  # fmt: skip


@pytest.mark.slow
def test_two_process_gloo_matches_one_process(dataset, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    one = subprocess.run(
        [sys.executable, "-m", "meow_train", "run", "--data", str(dataset), "--out", str(tmp_path / "one"), *ARGS],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert one.returncode == 0, one.stderr
    two = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533",
         "-m", "meow_train", "run", "--data", str(dataset), "--out", str(tmp_path / "two"), *ARGS],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert two.returncode == 0, two.stderr
    a, b = losses(tmp_path / "one"), losses(tmp_path / "two")
    assert len(a) == len(b) == 12
    assert b == pytest.approx(a, rel=1e-3, abs=1e-4)
    assert (tmp_path / "two" / "best" / "model.safetensors").exists()
    meta = json.loads((tmp_path / "two" / "best" / "meta.json").read_text())
    assert meta["world_size"] == 2
