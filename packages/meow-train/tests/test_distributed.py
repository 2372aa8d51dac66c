"""Two processes under torchrun (gloo, CPU) train like one process on the same global batch."""

import json
import os
import signal
import subprocess
import sys
import time

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


def _workers(parent: int) -> dict[int, int]:
    """rank -> pid of the torchrun workers under `parent` (read from /proc)."""
    found = {}
    for proc in os.listdir("/proc"):
        if not proc.isdigit():
            continue
        try:
            with open(f"/proc/{proc}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid != parent:
                continue
            with open(f"/proc/{proc}/environ", "rb") as f:
                env = dict(item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item)
        except (OSError, ValueError, IndexError):
            continue
        with open(f"/proc/{proc}/cmdline", "rb") as f:
            is_worker = b"meow_train" in f.read()
        if b"RANK" in env and is_worker:
            found[int(env[b"RANK"])] = int(proc)
    return found


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the workers in /proc")
def test_a_killed_worker_is_restarted_and_training_resumes_to_the_same_curve(dataset, tmp_path):
    """torchrun --max-restarts: SIGKILL rank 1 mid-run; the job resumes and ends as if unbroken."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = [*ARGS, "--steps", "300", "--eval-every", "50"]  # later flags win: a checkpoint every 50
    # --standalone: a free rendezvous port of its own, so no run collides with another
    torchrun = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
    ]
    whole = subprocess.run(
        [*torchrun, "-m", "meow_train", "run", "--data", str(dataset),
         "--out", str(tmp_path / "whole"), *args],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert whole.returncode == 0, whole.stderr

    broken = tmp_path / "broken"
    job = subprocess.Popen(
        # spare restarts: on a loaded machine a restarted group can fail its own rendezvous once
        [*torchrun, "--max-restarts", "3", "-m", "meow_train", "run",
         "--data", str(dataset), "--out", str(broken), *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    killed = None
    deadline = time.monotonic() + 240
    while killed is None and job.poll() is None and time.monotonic() < deadline:
        steps = losses(broken) if (broken / "metrics.jsonl").exists() else []
        if len(steps) >= 75:  # past the checkpoint at step 50, well before the end
            workers = _workers(job.pid)
            if 1 in workers:
                os.kill(workers[1], signal.SIGKILL)
                killed = len(steps)
        time.sleep(0.02)
    _, err = job.communicate(timeout=300)
    assert killed is not None and killed < 300, f"the worker was not killed mid-run: {err[-3000:]}"
    assert job.returncode == 0, err
    assert "torchrun restart: resuming" in err
    rows = [json.loads(line) for line in (broken / "metrics.jsonl").read_text().splitlines()]
    by_step = {r["step"]: r["loss"] for r in rows if r["event"] == "train"}  # resumed rows win
    expected = {r["step"]: r["loss"] for r in
                (json.loads(line) for line in (tmp_path / "whole" / "metrics.jsonl").read_text().splitlines())
                if r["event"] == "train"}  # fmt: skip
    assert sorted(by_step) == sorted(expected) == list(range(1, 301))
    assert [by_step[s] for s in sorted(by_step)] == pytest.approx(
        [expected[s] for s in sorted(expected)], rel=1e-4, abs=1e-5
    )
    assert (broken / "best" / "model.safetensors").exists()
