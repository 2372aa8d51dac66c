"""Multi-process training with the real `torchrun` on CPU (gloo): same curve as one process, and it chats."""

import json

import pytest
from integration_helpers import SMALL, cli, train_losses

ARGS = ("--steps", "40", "--batch-size", "32", "--eval-every", "40", "--eval-limit", "16", "--device", "cpu",
        "--precision", "fp32", "--log-every", "1", *SMALL)  # fmt: skip


def test_two_processes_match_one_and_the_model_chats(miso_data, tmp_path):
    env = {"OMP_NUM_THREADS": "1"}
    cli("meow-train", "run", "--data", miso_data, "--out", tmp_path / "one", *ARGS, env=env)
    cli("torchrun", "--nproc_per_node", "2", "--master_port", "29561", "-m", "meow_train", "run",
        "--data", miso_data, "--out", tmp_path / "two", *ARGS, env=env)  # fmt: skip
    one, two = train_losses(tmp_path / "one"), train_losses(tmp_path / "two")
    assert sorted(one) == sorted(two) == list(range(1, 41))
    for step in one:
        assert two[step] == pytest.approx(one[step], rel=2e-3, abs=1e-4), step
    meta = json.loads((tmp_path / "two" / "best" / "meta.json").read_text())
    assert meta["world_size"] == 2
    reply = (
        cli("meow-chat", "--model", tmp_path / "two" / "best", "--seed", "0", "hi miso")
        .stdout.decode()
        .strip()
    )
    assert reply
