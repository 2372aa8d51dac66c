"""Two processes under torchrun (gloo, CPU) train like one process on the same global batch."""

import json
import os
import signal
import socket
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _lone_rank(dataset, tmp_path, timeout: str) -> subprocess.CompletedProcess:
    """Rank 0 of a two-process group whose other worker never comes."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0",
           "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()),
           "MEOW_TRAIN_CONNECT_TIMEOUT": timeout}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "meow_train", "run", "--data", str(dataset), "--out", str(tmp_path / "lone"), *ARGS],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_a_worker_that_cannot_connect_gives_up_with_a_message(dataset, tmp_path):
    """A stuck handshake must end the worker (so torchrun can restart it), not hang for 30 minutes."""
    started = time.monotonic()
    lone = _lone_rank(dataset, tmp_path, "3")
    assert lone.returncode == 75, lone.stderr
    assert (
        "rank 0 could not connect to the other workers within 3 s (MEOW_TRAIN_CONNECT_TIMEOUT)"
        in lone.stderr
    )
    assert time.monotonic() - started < 100  # far below gloo's own 30 minutes
    assert not (tmp_path / "lone" / "metrics.jsonl").exists()


@pytest.mark.parametrize("value", ["soon", "0", "-5", "inf"])
def test_a_bad_connect_timeout_is_a_one_line_error(dataset, tmp_path, value):
    lone = _lone_rank(dataset, tmp_path, value)
    assert lone.returncode == 1, lone.stderr
    assert (
        f"MEOW_TRAIN_CONNECT_TIMEOUT must be a number of seconds > 0, got '{value}'" in lone.stderr
    )
    assert "Traceback" not in lone.stderr


_JOIN = (  # joins, then dies as a killed worker would: without leaving the group
    "import os, sys\nfrom meow_train.distributed import barrier, init_world\n"
    "w = init_world('cpu'); barrier(w); print('joined', w.rank); sys.stdout.flush(); os._exit(0)"
)


def _attempt(port: int, restart: int, delay_rank_1: float) -> list[subprocess.CompletedProcess]:
    """Two workers as torchrun starts them on one machine, with the agent's shared store."""
    procs = []
    for rank in (0, 1):
        if rank == 1:
            time.sleep(delay_rank_1)
        env = {**os.environ, "WORLD_SIZE": "2", "RANK": str(rank), "LOCAL_RANK": str(rank),
               "GROUP_WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port),
               "TORCHELASTIC_USE_AGENT_STORE": "True", "TORCHELASTIC_RESTART_COUNT": str(restart),
               "MEOW_TRAIN_CONNECT_TIMEOUT": "20", "OMP_NUM_THREADS": "1"}  # fmt: skip
        procs.append(subprocess.Popen([sys.executable, "-c", _JOIN], env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))  # fmt: skip
    return [
        subprocess.CompletedProcess(p.args, p.wait(timeout=120), *p.communicate()) for p in procs
    ]


def test_restarted_workers_do_not_read_their_predecessors_addresses():
    """torchrun's store outlives an attempt: a restarted rank must not dial a dead worker's port.

    Rank 1 comes late, so rank 0 looks up its address while only the previous attempt's entry
    exists; without a per-attempt prefix it dials that dead port until the connect timeout.
    """
    import torch.distributed as dist

    store = dist.TCPStore("127.0.0.1", 0, is_master=True, wait_for_workers=False)
    first = _attempt(store.port, restart=0, delay_rank_1=0)
    assert [p.returncode for p in first] == [0, 0], [p.stderr[-2000:] for p in first]
    again = _attempt(store.port, restart=1, delay_rank_1=3)
    assert [p.returncode for p in again] == [0, 0], [p.stderr[-2000:] for p in again]
    assert [p.stdout.strip() for p in again] == ["joined 0", "joined 1"]


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
    # a re-formed gloo group can stall in its handshake: the worker gives up after 30 s and
    # torchrun restarts the group again (spare restarts below)
    env["MEOW_TRAIN_CONNECT_TIMEOUT"] = "30"
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
    try:
        _, err = job.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        job.kill()
        _, err = job.communicate()
        pytest.fail(f"the restarted job did not finish in 300 s; torchrun said:\n{err[-5000:]}")
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
