"""A run killed mid-way (SIGTERM, then SIGKILL) resumes with --resume, losing no saved step."""

import json
import signal
import subprocess
import time
from pathlib import Path

from integration_helpers import BIN, SMALL, cli, metrics, train_losses

from meow_model.pytorch import load_pretrained

STEPS = 240
ARGS = ("--steps", str(STEPS), "--batch-size", "16", "--eval-every", "40", "--eval-limit", "8", "--device", "cpu",
        "--precision", "fp32", "--log-every", "1", *SMALL)  # fmt: skip


def start(data: Path, run: Path, *extra: str) -> subprocess.Popen:
    exe = str(BIN / "meow-train") if (BIN / "meow-train").exists() else "meow-train"
    return subprocess.Popen([exe, "run", "--data", str(data), "--out", str(run), *ARGS, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


def wait_for_step(run: Path, step: int, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        if (run / "metrics.jsonl").exists() and any(m.get("step", 0) >= step for m in metrics(run)):
            return
        time.sleep(0.2)
    raise AssertionError(f"run did not reach step {step}")


def saved_step(run: Path) -> int:
    return json.loads((run / "state" / "state.json").read_text())["counters"]["step"]


def test_sigterm_then_sigkill_then_resume(miso_data, tmp_path):
    run = tmp_path / "run"
    proc = start(miso_data, run)
    wait_for_step(run, 50, proc)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 130, proc.stderr.read().decode()[-2000:]
    stopped_at = saved_step(run)
    assert stopped_at == max(train_losses(run)), "SIGTERM saves the last completed step"
    load_pretrained(run / "last")  # a complete, loadable checkpoint

    proc = start(miso_data, run, "--resume")
    wait_for_step(run, stopped_at + 60, proc)
    proc.kill()  # SIGKILL: no chance to save
    proc.wait(timeout=60)
    killed_state = saved_step(run)  # the last periodic save, intact despite the kill
    assert killed_state >= stopped_at
    load_pretrained(run / "last")

    cli("meow-train", "run", "--data", miso_data, "--out", run, "--resume", *ARGS)
    assert saved_step(run) == STEPS
    assert not list(run.glob(".state-*")), "staging left by the kill is cleaned up"
    steps = {m["step"] for m in metrics(run) if m["event"] == "train"}
    assert steps == set(range(1, STEPS + 1)), (
        "every step was completed (steps after the kill were redone)"
    )
    assert load_pretrained(run / "best").meta["step"] <= STEPS


def test_refuses_existing_run_dir_without_flags(miso_data, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "keep.txt").write_text("mine")
    result = cli(
        "meow-train", "run", "--data", miso_data, "--out", run, "--steps", "5", check=False
    )
    assert result.returncode == 1 and b"--resume" in result.stderr
    assert (run / "keep.txt").read_text() == "mine"


def test_force_never_deletes_a_dataset_and_two_runs_never_share_a_directory(miso_data, tmp_path):
    before = sorted(p.name for p in miso_data.iterdir())
    refused = cli("meow-train", "run", "--data", miso_data, "--out", miso_data, "--steps", "5", "--force",
                  check=False)  # fmt: skip
    assert refused.returncode == 1 and b"is not a MeowLLM run directory" in refused.stderr
    assert sorted(p.name for p in miso_data.iterdir()) == before

    run = tmp_path / "run"
    first = start(miso_data, run)
    try:
        wait_for_step(run, 2, first)
        for flag in ("--force", "--resume"):
            second = cli("meow-train", "run", "--data", miso_data, "--out", run, "--steps", "5", flag,
                         check=False)  # fmt: skip
            assert second.returncode == 1, second.stderr
            assert f"in use by another training run (pid {first.pid})".encode() in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=120)
    assert first.returncode == 130, first.stderr.read().decode()[-2000:]  # saved and stopped
    assert {m["event"] for m in metrics(run)} <= {"train", "eval"}, "no second run wrote here"
    load_pretrained(run / "last")
