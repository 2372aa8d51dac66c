"""`meow-train plot` draws a real run; `meow-train compare` puts two eval reports side by side."""

import builtins
import json
import struct

import pytest
from click.testing import CliRunner

from meow_train import train
from meow_train.cli import main


def png_size(path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


@pytest.fixture
def run_dir(tmp_path, dataset, tiny):
    train(tiny(dataset, tmp_path / "run", steps=30, eval_every=10), quiet=True)
    return tmp_path / "run"


def test_a_tiny_run_logs_per_category_pass_rates_and_plots_at_the_right_size(run_dir, tmp_path):
    pytest.importorskip("matplotlib")
    evals = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    evals = [e for e in evals if e["event"] == "eval"]
    assert len(evals) == 3 and all(e["categories"] for e in evals)
    assert all(0 <= rate <= 1 for e in evals for rate in e["categories"].values())
    result = CliRunner().invoke(main, ["plot", str(run_dir), "--out", str(tmp_path / "c.png")])
    assert result.exit_code == 0, result.output
    assert png_size(tmp_path / "c.png") == (1200, 800)


def test_plot_errors_name_the_file_and_line(tmp_path):
    pytest.importorskip("matplotlib")
    runner = CliRunner()
    missing = runner.invoke(main, ["plot", str(tmp_path)])
    assert missing.exit_code == 1 and "metrics.jsonl: not found" in missing.output
    (tmp_path / "metrics.jsonl").write_text(
        '{"event": "train", "step": 1, "loss": 2, "lr": 1}\n{oops\n'
    )
    broken = runner.invoke(main, ["plot", str(tmp_path)])
    assert broken.exit_code == 1 and "metrics.jsonl:2: not valid JSON" in broken.output


def test_plot_without_matplotlib_says_how_to_get_it(run_dir, monkeypatch):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    result = CliRunner().invoke(main, ["plot", str(run_dir)])
    assert result.exit_code == 1 and "pip install 'meow-train[plot]'" in result.output


def report(pass_rate: float, hunger: float) -> dict:
    return {
        "persona": "miso",
        "suites": {
            "report": {
                "pass_rate": pass_rate,
                "checks": {"topic": pass_rate, "length": 1.0},
                "categories": {"hunger": {"pass_rate": hunger}, "naps": {"pass_rate": 0.5}},
            }
        },
    }


def test_compare_puts_two_reports_side_by_side_with_the_change(tmp_path):
    (tmp_path / "a" / "best").mkdir(parents=True)
    (tmp_path / "a" / "best" / "eval.json").write_text(json.dumps(report(0.5, 0.25)))
    (tmp_path / "b.json").write_text(json.dumps(report(0.75, 1.0)))
    result = CliRunner().invoke(main, ["compare", str(tmp_path / "a"), str(tmp_path / "b.json")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["a", tmp_path.name, "change"]
    row = next(line for line in lines if line.startswith("report: pass rate"))
    assert row.split()[-3:] == ["50.0%", "75.0%", "+25.0"]
    row = next(line for line in lines if line.startswith("report: hunger"))
    assert row.split()[-3:] == ["25.0%", "100.0%", "+75.0"]


def test_compare_says_which_run_has_no_report(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b.json").write_text("{not json")
    runner = CliRunner()
    none = runner.invoke(main, ["compare", str(tmp_path / "a"), str(tmp_path / "b.json")])
    assert none.exit_code == 1 and "no eval report" in none.output
    assert f"meow-train eval {tmp_path / 'a' / 'best'}" in none.output
    (tmp_path / "a" / "eval.json").write_text("{}")
    bad = runner.invoke(main, ["compare", str(tmp_path / "a"), str(tmp_path / "b.json")])
    assert bad.exit_code == 1 and "not a meow-train eval report" in bad.output
