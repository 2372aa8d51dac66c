"""The meow-train CLI: tokenizer fitting, eval reports, clean errors."""

import importlib.util
import json
import shutil

import pytest
import torch
from click.testing import CliRunner

from meow_model import ChatTokenizer, ModelConfig
from meow_model.pytorch import MeowForCausalLM, save_pretrained
from meow_train.cli import main


@pytest.fixture
def runner():
    return CliRunner()


def test_tokenizer_command(dataset, tmp_path, runner):
    out = tmp_path / "tok.json"
    result = runner.invoke(
        main, ["tokenizer", str(dataset), "--vocab-size", "300", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    tok = ChatTokenizer.from_file(out)
    assert tok.vocab_size <= 300
    again = runner.invoke(main, ["tokenizer", str(dataset), "--out", str(out)])
    assert again.exit_code == 1 and "already exists" in again.output


def test_tokenizer_is_fitted_on_train_only(dataset, tmp_path, runner):
    out = tmp_path / "tok.json"
    runner.invoke(main, ["tokenizer", str(dataset), "--vocab-size", "500", "--out", str(out)])
    vocab = json.loads(out.read_text())["model"]["vocab"]
    # "hungry" is frequent in train, "cat" appears only in the val prompt "hello cat"
    # (500 leaves room for every train word: 410 tokens are all BPE finds there)
    assert "Ġhungry" in vocab
    assert "Ġcat" not in vocab


@pytest.fixture
def model_dir(dataset, tmp_path):
    from meow_train import fit_tokenizer, load_dataset

    tokenizer = fit_tokenizer(load_dataset(dataset).train, 300)
    torch.manual_seed(0)
    model = MeowForCausalLM(
        ModelConfig(
            vocab_size=tokenizer.vocab_size,
            d_model=32,
            n_layers=1,
            n_heads=2,
            ffn_dim=32,
            max_seq_len=64,
        )
    )
    return save_pretrained(model, tokenizer, tmp_path / "model")


def test_eval_command_writes_a_complete_report(model_dir, dataset, runner, tmp_path):
    out = tmp_path / "report.json"
    result = runner.invoke(
        main,
        [
            "eval",
            str(model_dir),
            "--samples",
            "2",
            "--data",
            str(dataset),
            "--json",
            str(out),
            "--device",
            "cpu",
        ],
    )
    assert result.exit_code == 0, result.output
    suites = json.loads(out.read_text())["suites"]
    assert list(suites) == ["report", "unseen", "unknown_words"], "selection is never reported"
    assert "suite unknown_words" in result.output and "graceful fallback" in result.output
    report = suites["report"]
    assert report["replies"] == 2 * report["prompts"] >= 300
    assert set(report["checks"]) == {
        "lowercase",
        "length",
        "no_banned",
        "no_emoji_or_stage_direction",
        "topic",
        "coherence",
    }
    assert report["copy_rate"] is not None and "overall pass rate" in result.output


def test_eval_greedy_reports_are_identical_in_both_runtimes(model_dir, runner, tmp_path):
    reports = {}
    for backend in ("torch", "numpy"):
        out = tmp_path / f"{backend}.json"
        args = ["eval", str(model_dir), "--temperature", "0", "--samples", "1", "--suite", "report"]
        result = runner.invoke(main, [*args, "--backend", backend, "--json", str(out)])
        assert result.exit_code == 0, result.output
        reports[backend] = json.loads(out.read_text())["suites"]["report"]
    assert reports["numpy"] == reports["torch"]


def test_eval_report_path_that_cannot_be_written(model_dir, runner, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = runner.invoke(
        main,
        [
            "eval",
            str(model_dir),
            "--samples",
            "1",
            "--json",
            str(blocker / "r.json"),
            "--device",
            "cpu",
        ],
    )
    assert result.exit_code == 1
    assert "cannot write the report" in result.output and "Traceback" not in result.output


def test_eval_on_missing_model_is_a_clean_error(runner, tmp_path):
    result = runner.invoke(main, ["eval", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "model directory not found" in result.output and "Traceback" not in result.output


def test_run_refusals_are_clean(dataset, tmp_path, runner):
    bad = runner.invoke(
        main,
        ["run", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "r"), "--steps", "1"],
    )
    assert bad.exit_code == 1 and "dataset directory not found" in bad.output
    both = runner.invoke(
        main, ["run", "--data", str(dataset), "--out", str(tmp_path / "r"), "--resume", "--force"]
    )
    assert both.exit_code == 2


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_bf16_training(dataset, tmp_path, runner):
    result = runner.invoke(main, ["run", "--data", str(dataset), "--out", str(tmp_path / "gpu"), "--steps", "20",
                                  "--device", "cuda", "--precision", "bf16", "--d-model", "32", "--layers", "2",
                                  "--heads", "2", "--ffn", "64", "--vocab-size", "300", "--quiet"])  # fmt: skip
    assert result.exit_code == 0, result.output


def test_resume_takes_the_saved_config_and_refuses_conflicting_flags(dataset, tmp_path, runner):
    out = tmp_path / "r"
    base = ["run", "--data", str(dataset), "--out", str(out), "--device", "cpu", "--quiet"]
    small = ["--d-model", "32", "--layers", "1", "--heads", "2", "--ffn", "64", "--vocab-size", "300",
             "--batch-size", "16", "--eval-every", "4", "--eval-limit", "4", "--lr", "0.002"]  # fmt: skip
    first = runner.invoke(main, [*base, *small, "--steps", "4"])
    assert first.exit_code == 0
    assert "warning: only" in first.output and "meow-data generate --n 20000" in first.output
    if importlib.util.find_spec("matplotlib"):  # the run draws its curves at the end
        assert (out / "training.png").is_file() and "training curves:" in first.output
    else:
        assert "no training plot: plotting needs matplotlib" in first.output
    # flags not given take the saved values: no --d-model 32 needed, and no size-mismatch crash
    resumed = runner.invoke(main, [*base, "--resume", "--steps", "6"])
    assert resumed.exit_code == 0, resumed.output
    saved = json.loads((out / "train_config.json").read_text())
    assert (saved["steps"], saved["d_model"], saved["lr"]) == (6, 32, 0.002)
    for flag, value, message in [
        ("--lr", "0.01", "--lr 0.01 (this run was started with 0.002)"),
        ("--d-model", "64", "--d-model 64 (this run was started with 32)"),
        ("--seed", "3", "--seed 3 (this run was started with 0)"),
        ("--steps", "2", "--steps 2 is below the 6 steps this run has already done"),
    ]:
        refused = runner.invoke(main, [*base, "--resume", flag, value])
        assert refused.exit_code == 1 and message in refused.output, refused.output
    other_data = tmp_path / "other"
    shutil.copytree(dataset, other_data)
    refused = runner.invoke(main, [*base[:2], str(other_data), *base[3:], "--resume"])
    assert refused.exit_code == 1 and f"--data {other_data}" in refused.output, refused.output


def test_run_refuses_an_edited_dataset_with_one_line_and_no_verify_overrides(
    dataset, tmp_path, runner
):
    edited = tmp_path / "edited"
    shutil.copytree(dataset, edited)
    with (edited / "val.jsonl").open("a") as fh:
        fh.write(
            json.dumps(
                {
                    "input": "hi",
                    "output": "AS AN AI I CAN HELP.",
                    "category": "greeting",
                    "source": "x",
                }
            )
            + "\n"
        )
    base = ["run", "--data", str(edited), "--device", "cpu", "--quiet", "--steps", "2", "--d-model", "32",
            "--layers", "1", "--heads", "2", "--ffn", "64", "--vocab-size", "300", "--eval-limit", "2"]  # fmt: skip
    refused = runner.invoke(main, [*base, "--out", str(tmp_path / "a")])
    assert (
        refused.exit_code == 1
        and "val.jsonl: sha256 does not match manifest.json" in refused.output
    )
    allowed = runner.invoke(main, [*base, "--out", str(tmp_path / "b"), "--no-verify"])
    assert allowed.exit_code == 0, allowed.output


@pytest.mark.parametrize(
    "args",
    [
        ["--lr", "inf"],
        ["--lr", "nan"],
        ["--max-minutes", "inf"],
        ["--epochs", "inf"],
        ["--seed", "100000000000000000000000"],
        ["--vocab-size", "1000000000"],
        ["--context", "1000000000"],
        ["--batch-size", "1000000000"],
        ["--prompt-noise", "1"],
        ["--prompt-noise", "-0.1"],
        ["--prompt-loss-weight", "-1"],
        ["--prompt-loss-weight", "nan"],
    ],
)
def test_run_refuses_bad_numbers_with_exit_2_and_one_line(dataset, tmp_path, runner, args):
    out = tmp_path / "run"
    result = runner.invoke(main, ["run", "--data", str(dataset), "--out", str(out), *args])
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{args[0]}'" in result.output and "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize(
    ("flag", "value"), [("--temperature", "nan"), ("--top-p", "nan"), ("--seed", "-1")]
)
def test_eval_refuses_bad_numbers_with_exit_2(model_dir, runner, flag, value):
    result = runner.invoke(main, ["eval", str(model_dir), flag, value])
    assert result.exit_code == 2 and f"Invalid value for '{flag}'" in result.output


def test_tokenizer_on_a_full_disk_leaves_no_file_behind(dataset, tmp_path, runner, monkeypatch):
    import errno
    from pathlib import Path

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full)
    out = tmp_path / "tok.json"
    result = runner.invoke(
        main, ["tokenizer", str(dataset), "--vocab-size", "300", "--out", str(out)]
    )
    assert result.exit_code == 1
    assert f"cannot write {out}: No space left on device" in result.output
    assert list(tmp_path.iterdir()) == [dataset]  # nothing that would block the rerun


def test_a_huge_word_without_spaces_is_cut_for_fitting_only():
    from meow_train.dataset import Example
    from meow_train.tokenizer_fit import MAX_FIT_RUN, fit_tokenizer, fitting_texts

    blob = "meow" * 50_000  # 200 KB, one pre-token: quadratic to fit as it is
    texts = list(fitting_texts([Example(blob, "the bowl is empty.", "hunger")]))
    assert max(len(piece) for piece in texts[0].split()) == MAX_FIT_RUN
    assert texts[0].replace(" ", "") == blob and texts[1] == "the bowl is empty."
    tokenizer = fit_tokenizer([Example(blob, "the bowl is empty.", "hunger")] * 3, 300)
    assert tokenizer.decode(tokenizer.encode("meowmeow")) == "meowmeow"


def test_prompts_are_fitted_as_the_chat_format_writes_them():
    """The vocabulary holds the pieces the model reads: lowercased prompts, each word after a space."""
    from meow_train.dataset import Example
    from meow_train.tokenizer_fit import fit_tokenizer, fitting_texts

    shouted = [Example("DO YOU WANT DINNER", "the bowl is empty.", "hunger")] * 40
    assert list(fitting_texts(shouted[:1])) == [" do you want dinner", "the bowl is empty."]
    tokenizer = fit_tokenizer(shouted, 300)
    assert tokenizer.chat_format == 2
    vocab = tokenizer.backend.get_vocab()
    merged = [t.lstrip("Ġ") for t in vocab if len(t.lstrip("Ġ")) > 1]
    assert "Ġdinner" in vocab and not any(t.isupper() for t in merged)
    assert tokenizer.encode_chat("do you want dinner") == tokenizer.encode_chat(
        "Do you want DINNER"
    )
