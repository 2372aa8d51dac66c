"""Training: loss falls, checkpoints are real model dirs, resume is exact, bad inputs are refused."""

import json
import os
import shutil

import pytest

from meow_model.pytorch import load_pretrained
from meow_train import DatasetError, RunDirError, StateError, train
from meow_train import trainer as trainer_module
from meow_train.run_dir import RunLock


def losses(run_dir):
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return {r["step"]: r["loss"] for r in rows if r["event"] == "train"}


def test_loss_decreases_and_checkpoints_load(dataset, tmp_path, tiny):
    result = train(tiny(dataset, tmp_path / "run", steps=60), quiet=True)
    curve = losses(tmp_path / "run")
    assert result.steps == 60 and not result.interrupted
    assert curve[60] < 0.7 * curve[1]
    for name in ("best", "last"):
        loaded = load_pretrained(tmp_path / "run" / name)
        assert loaded.meta["persona"] == "miso"
        assert loaded.meta["versions"]["meow-train"]
        assert 0 <= loaded.meta["eval"]["pass_rate"] <= 1
    assert load_pretrained(tmp_path / "run" / "last").meta["step"] == 60
    meta_text = (tmp_path / "run" / "best" / "meta.json").read_text()
    assert str(tmp_path) not in meta_text  # no machine path in checkpoint metadata
    meta = json.loads(meta_text)
    assert meta["dataset"]["name"] == "data" and meta["dataset"]["path"] == "../data"
    assert meta["train_config"]["out"] == "." and meta["train_config"]["data"] == "../data"
    evals = [
        json.loads(line)
        for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
        if '"eval"' in line
    ]
    assert [e["step"] for e in evals] == [20, 40, 60]
    best = max(evals, key=lambda e: (e["pass_rate"], -e["val_loss"]))
    assert load_pretrained(tmp_path / "run" / "best").meta["step"] == best["step"]


class _StopAfter:
    """Stands in for the Ctrl-C handler: asks to stop after `n` steps."""

    def __init__(self, n: int) -> None:
        self.n, self.checks = n, 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    @property
    def requested(self) -> bool:
        self.checks += 1
        return self.checks >= self.n


@pytest.mark.parametrize(
    "extras",
    [{}, {"topic_loss_weight": 1.0}, {"prompt_noise": 0.15}, {"prompt_loss_weight": 0.3}],
    ids=["lm", "topic", "noise", "prompt-loss"],
)
def test_interrupted_run_resumes_on_the_same_loss_curve(
    dataset, tmp_path, tiny, monkeypatch, extras
):
    full = tmp_path / "full"
    train(tiny(dataset, full, **extras), quiet=True)

    part = tmp_path / "part"
    monkeypatch.setattr(trainer_module, "_StopRequest", lambda: _StopAfter(27))
    stopped = train(tiny(dataset, part, **extras), quiet=True)
    assert stopped.interrupted and stopped.steps == 27
    monkeypatch.undo()
    resumed = train(tiny(dataset, part, **extras), resume=True, quiet=True)
    assert resumed.steps == 40 and not resumed.interrupted
    a, b = losses(full), losses(part)
    assert sorted(a) == sorted(b) == list(range(1, 41))
    for step in a:
        assert b[step] == pytest.approx(a[step], rel=1e-5, abs=1e-6), step


def test_a_run_resumes_in_the_chat_format_it_began_in(dataset, tmp_path, tiny, monkeypatch):
    """A run begun by meow-train < 3.3 (prompts as typed) is not switched to lowercased prompts."""
    part = tmp_path / "part"
    monkeypatch.setattr(trainer_module, "_StopRequest", lambda: _StopAfter(27))
    train(tiny(dataset, part), quiet=True)
    monkeypatch.undo()
    assert load_pretrained(part / "last").tokenizer.chat_format == 2  # new runs: chat format 2
    for checkpoint in ("last", "best"):  # what a 3.2 run's checkpoints say
        config_path = part / checkpoint / "config.json"
        config = json.loads(config_path.read_text())
        config["format_version"] = 1
        del config["chat_format"]
        config_path.write_text(json.dumps(config))
    resumed = train(tiny(dataset, part), resume=True, quiet=True)
    assert resumed.steps == 40
    for checkpoint in ("last", "best"):
        assert load_pretrained(part / checkpoint).tokenizer.chat_format == 1


def test_existing_run_dir_is_refused(dataset, tmp_path, tiny):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(RunDirError, match="already exists and is not empty; pass --resume"):
        train(tiny(dataset, out), quiet=True)
    assert (out / "notes.txt").read_text() == "mine"


def test_resume_without_state_is_refused(dataset, tmp_path, tiny):
    with pytest.raises(RunDirError, match="nothing to resume"):
        train(tiny(dataset, tmp_path / "empty"), resume=True, quiet=True)


def test_force_starts_over(dataset, tmp_path, tiny):
    out = tmp_path / "run"
    train(tiny(dataset, out, steps=5, eval_every=5), quiet=True)
    train(tiny(dataset, out, steps=6, eval_every=6), force=True, quiet=True)
    assert max(losses(out)) == 6


def test_bad_config_is_refused(dataset, tmp_path, tiny):
    with pytest.raises(ValueError, match="give at least one of steps, epochs or max_minutes"):
        tiny(dataset, tmp_path, steps=None)
    with pytest.raises(ValueError, match="precision"):
        tiny(dataset, tmp_path, precision="fp8")
    with pytest.raises(ValueError, match="vocab_size must be at least 261"):
        tiny(dataset, tmp_path, vocab_size=100)
    for rate in (-0.1, 1.0):
        with pytest.raises(ValueError, match=r"prompt_noise must be in \[0, 1\)"):
            tiny(dataset, tmp_path, prompt_noise=rate)


def test_prompt_noise_changes_training_but_not_what_is_scored(dataset, tmp_path, tiny):
    clean, noisy = tmp_path / "clean", tmp_path / "noisy"
    train(tiny(dataset, clean), quiet=True)
    train(tiny(dataset, noisy, prompt_noise=0.3), quiet=True)
    a, b = losses(clean), losses(noisy)
    assert sorted(a) == sorted(b)
    assert a[1] == pytest.approx(b[1], rel=0.2)  # same targets, same start
    assert any(abs(a[s] - b[s]) > 1e-4 for s in a)  # but other inputs
    saved = json.loads((noisy / "train_config.json").read_text())
    assert saved["prompt_noise"] == 0.3


def test_resume_recovers_a_state_swap_cut_between_renames(dataset, tmp_path, tiny, monkeypatch):
    run = tmp_path / "run"
    monkeypatch.setattr(trainer_module, "_StopRequest", lambda: _StopAfter(12))
    train(tiny(dataset, run, steps=20, eval_every=10), quiet=True)
    monkeypatch.undo()
    (run / "state").rename(run / ".state-old-4242")  # killed after moving the old state aside
    result = train(tiny(dataset, run, steps=20, eval_every=10), resume=True, quiet=True)
    assert result.steps == 20
    assert not list(run.glob(".state-*"))


def test_resuming_a_finished_run_does_nothing(dataset, tmp_path, tiny):
    run = tmp_path / "run"
    train(tiny(dataset, run, steps=10, eval_every=10), quiet=True)
    result = train(tiny(dataset, run, steps=10, eval_every=10), resume=True, quiet=True)
    assert result.steps == 10
    assert max(losses(run)) == 10


def test_force_refuses_a_directory_that_is_not_a_run(dataset, tmp_path, tiny):
    """`--out mydata --force` must never empty a dataset (or `.`, or a home directory)."""
    before = sorted(p.name for p in dataset.iterdir())
    with pytest.raises(RunDirError, match=r"is not a MeowLLM run directory \(no meow-run.json\)"):
        train(tiny(dataset, dataset), force=True, quiet=True)
    assert sorted(p.name for p in dataset.iterdir()) == before, "nothing added or removed"


def test_force_replaces_a_marked_run_and_nothing_else(dataset, tmp_path, tiny):
    out = tmp_path / "run"
    train(tiny(dataset, out, steps=3, eval_every=3), quiet=True)
    assert (out / "meow-run.json").is_file()
    (out / "scratch.txt").write_text("replaced with the run")
    train(tiny(dataset, out, steps=4, eval_every=4), force=True, quiet=True)
    assert not (out / "scratch.txt").exists() and max(losses(out)) == 4


def test_a_second_run_into_a_locked_directory_is_refused(dataset, tmp_path, tiny):
    out = tmp_path / "run"
    train(tiny(dataset, out, steps=3, eval_every=3), quiet=True)
    metrics = (out / "metrics.jsonl").read_text()
    with RunLock(out):  # a run in progress holds this lock
        for kwargs in ({"force": True}, {"resume": True}):
            with pytest.raises(
                RunDirError, match=rf"in use by another training run \(pid {os.getpid()}\)"
            ):
                train(tiny(dataset, out, steps=6, eval_every=6), quiet=True, **kwargs)
    assert (out / "metrics.jsonl").read_text() == metrics, "the running run's files are untouched"
    train(tiny(dataset, out, steps=6, eval_every=6), resume=True, quiet=True)  # free again


def test_a_run_that_has_not_saved_yet_is_reported_busy_whatever_the_flags(dataset, tmp_path, tiny):
    """Its directory holds only the lock: busy comes first, not 'nothing to resume' or 'exists'."""
    out = tmp_path / "run"
    with RunLock(out):  # a run still starting up: no state, no checkpoint yet
        (out / "meow-run.json").write_text("{}")
        for kwargs in ({}, {"force": True}, {"resume": True}):
            with pytest.raises(
                RunDirError, match=rf"in use by another training run \(pid {os.getpid()}\)"
            ):
                train(tiny(dataset, out, steps=6, eval_every=6), quiet=True, **kwargs)
    assert sorted(p.name for p in out.iterdir()) == [".lock", "meow-run.json"], "nothing touched"
    with pytest.raises(RunDirError, match="nothing to resume"):  # released: the real answer
        train(tiny(dataset, out, steps=6, eval_every=6), resume=True, quiet=True)


def test_a_longer_resume_is_logged_and_a_conflicting_one_refused(dataset, tmp_path, tiny):
    out = tmp_path / "run"
    train(tiny(dataset, out, steps=5, eval_every=5), quiet=True)
    with pytest.raises(RunDirError, match=r"--batch-size 8 \(this run was started with 16\)"):
        train(tiny(dataset, out, steps=8, eval_every=5, batch_size=8), resume=True, quiet=True)
    result = train(tiny(dataset, out, steps=8, eval_every=5), resume=True, quiet=True)
    assert result.steps == 8
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    resumes = [r for r in rows if r["event"] == "resume"]
    assert resumes == [{"event": "resume", "step": 5, "changed": {"steps": {"was": 5, "now": 8}}}]


def test_prompts_longer_than_the_context_are_left_out_and_counted(dataset, tmp_path, tiny, capsys):
    long_data = tmp_path / "long"
    shutil.copytree(dataset, long_data)
    train_file = long_data / "train.jsonl"
    rows = train_file.read_text().splitlines()
    long_row = {**json.loads(rows[0]), "input": "tell me " + "very " * 400 + "about tuna"}
    train_file.write_text("\n".join([json.dumps(long_row), *rows]) + "\n")
    cfg = tiny(
        long_data, tmp_path / "run", steps=4, eval_every=4, max_seq_len=32, verify_data=False
    )
    result = train(cfg)
    assert result.steps == 4
    meta = load_pretrained(tmp_path / "run" / "last").meta
    assert meta["dropped_too_long"]["train"] >= 1
    assert "whose prompt fills the whole 32-token context" in capsys.readouterr().err


def test_a_dataset_edited_after_generation_is_refused_unless_told(dataset, tmp_path, tiny):
    edited = tmp_path / "edited"
    shutil.copytree(dataset, edited)
    train_file = edited / "train.jsonl"
    row = json.loads(train_file.read_text().splitlines()[0])
    shouted = {**row, "output": row["output"].upper()}
    train_file.write_text(train_file.read_text() + json.dumps(shouted) + "\n")
    with pytest.raises(DatasetError, match=r"train.jsonl: sha256 does not match manifest.json"):
        train(tiny(edited, tmp_path / "run", steps=2), quiet=True)
    assert not (tmp_path / "run" / "best").exists()
    train(tiny(edited, tmp_path / "forced", steps=2, eval_every=2, verify_data=False), quiet=True)
    meta = load_pretrained(tmp_path / "forced" / "last").meta
    assert meta["dataset"]["verified"] is False and meta["train_config"]["verify_data"] is False


def test_saved_directories_are_readable_by_others_under_umask_022(dataset, tmp_path, tiny):
    import stat

    old = os.umask(0o022)
    try:
        train(tiny(dataset, tmp_path / "run", steps=3, eval_every=3), quiet=True)
    finally:
        os.umask(old)
    for name in ("best", "last", "state"):
        directory = tmp_path / "run" / name
        assert stat.S_IMODE(directory.stat().st_mode) == 0o755, name
        assert {stat.S_IMODE(f.stat().st_mode) for f in directory.iterdir()} == {0o644}, name


def test_a_run_stopped_during_start_up_can_be_started_again(dataset, tmp_path, tiny, monkeypatch):
    import meow_train.trainer as trainer_module

    out = tmp_path / "run"
    real_encode = trainer_module.encode

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt  # after the tokenizer was written, before any checkpoint

    monkeypatch.setattr(trainer_module, "encode", ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        train(tiny(dataset, out, steps=4, eval_every=4), quiet=True)
    assert (out / "tokenizer.json").is_file()
    with pytest.raises(RunDirError, match="stopped before its first checkpoint: start it again"):
        train(tiny(dataset, out, steps=4, eval_every=4), resume=True, quiet=True)
    monkeypatch.setattr(trainer_module, "encode", real_encode)
    train(tiny(dataset, out, steps=4, eval_every=4), quiet=True)  # no --force needed
    assert max(losses(out)) == 4


def test_non_finite_numbers_are_refused_by_the_config(dataset, tmp_path, tiny):
    for field, value in (
        ("lr", float("inf")),
        ("max_minutes", float("inf")),
        ("epochs", float("nan")),
    ):
        with pytest.raises(ValueError, match=f"{field} must be a finite number > 0"):
            tiny(dataset, tmp_path, **{field: value})


def test_a_state_json_without_the_loop_counters_is_refused_by_name(dataset, tmp_path, tiny):
    out = tmp_path / "run"
    train(tiny(dataset, out, steps=4, eval_every=4), quiet=True)
    state_json = out / "state" / "state.json"
    raw = json.loads(state_json.read_text())
    assert raw["counters"]["step"] == 4 and raw["counters"]["total_steps"] == 4
    del raw["counters"]["epoch"]
    state_json.write_text(json.dumps(raw))
    with pytest.raises(
        StateError, match=r"state.json: 'counters' must hold batch, best, elapsed, epoch"
    ):
        train(tiny(dataset, out, steps=8, eval_every=4), resume=True, quiet=True)


def test_the_topic_head_is_trained_and_resumed_but_never_shipped(dataset, tmp_path, tiny):
    from safetensors import safe_open

    out = tmp_path / "run"
    train(tiny(dataset, out, steps=10, eval_every=10, topic_loss_weight=1.0), quiet=True)
    with safe_open(str(out / "state" / "model.safetensors"), "pt") as f:
        assert "topic_head.weight" in f.keys()  # noqa: SIM118 (not a dict)
    for name in ("best", "last"):
        with safe_open(str(out / name / "model.safetensors"), "pt") as f:
            assert not [k for k in f.keys() if "topic" in k]  # noqa: SIM118
        load_pretrained(out / name)  # an ordinary model directory


def test_a_time_budget_is_planned_from_the_speed_after_the_warm_up_steps():
    """torch.compile spends the first steps compiling: a plan timed on them would stop the run at a
    fraction of its budget (it did: 361 steps of a 10-minute budget on a 2-core CPU)."""
    from meow_train.trainer import CALIBRATION_STEPS, EVAL_OVERHEAD, _steps_in_budget

    warm_up_s, per_step_s, budget_s = 60.0, 0.1, 600.0
    step = 10 + CALIBRATION_STEPS
    elapsed = warm_up_s + CALIBRATION_STEPS * per_step_s
    total = _steps_in_budget(step, elapsed, CALIBRATION_STEPS * per_step_s, budget_s)
    expected = step + (budget_s - elapsed) / (per_step_s * (1 + EVAL_OVERHEAD))
    assert total == pytest.approx(expected, abs=1) and total > 4500
    assert _steps_in_budget(step, budget_s + 5, 3.0, budget_s) == step + 1  # budget spent: stop


def test_a_time_budget_run_plans_past_slow_warm_up_steps(dataset, tmp_path, tiny, monkeypatch):
    """The first three steps take 6 s each (as torch.compile's do), then 10 ms: the run plans for
    the time left at the fast speed instead of stopping after a few dozen steps."""

    def fake_elapsed(run):  # a clock that reads the step: 6 s for each of 3 steps, then 10 ms
        return 6.0 * min(run.state.step, 3) + 0.01 * max(run.state.step - 3, 0)

    monkeypatch.setattr(trainer_module._Run, "elapsed", fake_elapsed)
    result = train(tiny(dataset, tmp_path / "run", steps=None, max_minutes=0.35), quiet=True)
    # 40 steps by the end of the timed window (18.37 s), then 2.63 s left at 10.8 ms a step
    assert result.steps == 40 + int((21.0 - 18.37) / (0.01 * 1.08)) and not result.interrupted


def test_a_resume_that_cannot_tell_the_runs_chat_format_is_refused(
    dataset, tmp_path, tiny, monkeypatch
):
    part = tmp_path / "part"
    monkeypatch.setattr(trainer_module, "_StopRequest", lambda: _StopAfter(27))
    train(tiny(dataset, part), quiet=True)
    monkeypatch.undo()
    shutil.rmtree(part / "last")
    resumed_from_best = train(tiny(dataset, part), resume=True, quiet=True)  # best/ says it
    assert resumed_from_best.steps == 40
    shutil.rmtree(part / "last")
    shutil.rmtree(part / "best")
    with pytest.raises(
        RunDirError, match="neither last/ nor best/ is there to say which chat format"
    ):
        train(tiny(dataset, part, steps=60), resume=True, quiet=True)
