"""The meow-data CLI: generate (and refuse to overwrite), validate broken files, stats."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from meow_data.cli import main

PEBBLE = Path(__file__).parent / "data" / "pebble"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def dataset(runner, tmp_path) -> Path:
    out = tmp_path / "data"
    result = runner.invoke(main, ["generate", "--n", "600", "--seed", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_generate_prints_summary(dataset, runner, tmp_path):
    result = runner.invoke(main, ["generate", "--n", "300", "--out", str(tmp_path / "x")])
    assert result.exit_code == 0
    assert "wrote 300 samples" in result.output
    assert "hunger" in result.output and "unique replies" in result.output
    assert {p.name for p in dataset.iterdir()} == {"train.jsonl", "val.jsonl", "manifest.json"}


def test_generate_refuses_to_overwrite(dataset, runner):
    before = (dataset / "train.jsonl").read_bytes()
    result = runner.invoke(main, ["generate", "--n", "100", "--seed", "9", "--out", str(dataset)])
    assert result.exit_code == 1
    assert "already holds a dataset" in result.output and "--force" in result.output
    assert (dataset / "train.jsonl").read_bytes() == before
    forced = runner.invoke(
        main, ["generate", "--n", "100", "--seed", "9", "--out", str(dataset), "--force"]
    )
    assert forced.exit_code == 0
    assert (dataset / "train.jsonl").read_bytes() != before
    assert not [p for p in dataset.iterdir() if p.name.startswith(".")], "no staging leftovers"


def test_validate_ok(dataset, runner):
    result = runner.invoke(main, ["validate", str(dataset)])
    assert result.exit_code == 0
    assert "ok: 600 rows" in result.output


def test_validate_reports_each_broken_line(dataset, runner, tmp_path):
    good = json.loads((dataset / "train.jsonl").read_text().splitlines()[0])
    lines = [
        json.dumps(good),
        '{"input": "hi", "output": ',  # 2: bad JSON
        json.dumps({"input": "hi", "category": "greeting"}),  # 3: missing output
        json.dumps({**good, "category": "knitting"}),  # 4: unknown category
        json.dumps({**good, "output": good["output"].capitalize()}),  # 5: capitalised reply
        json.dumps({**good, "input": "Hi, Miso!"}),  # 6: a held-out eval prompt
        json.dumps({**good, "input": "want some Kedgeree"}),  # 7: a held-out unknown word
    ]
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join(lines) + "\n")
    result = runner.invoke(main, ["validate", str(broken)])
    assert result.exit_code == 1
    err = result.output
    assert f"{broken}:2: invalid JSON" in err
    assert f"{broken}:3: field 'output' is missing" in err
    assert f"{broken}:4: field 'category': unknown category 'knitting'" in err
    assert f"{broken}:5: field 'output' fails the rules: lowercase" in err
    assert f"{broken}:6: field 'input': 'Hi, Miso!' is a held-out eval prompt" in err
    assert f"{broken}:7: field 'input' holds 'kedgeree', a held-out unknown word" in err
    assert f"{broken}:1:" not in err
    assert "6 problem(s) in 7 rows" in err


def test_validate_detects_tampering_and_leaky_split(dataset, runner):
    train = dataset / "train.jsonl"
    val_row = (dataset / "val.jsonl").read_text().splitlines()[0]
    train.write_text(train.read_text() + val_row + "\n")
    result = runner.invoke(main, ["validate", str(dataset)])
    assert result.exit_code == 1
    assert "sha256 of train.jsonl does not match" in result.output
    assert "in both train and val" in result.output


def test_validate_missing_target(runner, tmp_path):
    result = runner.invoke(main, ["validate", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 1 and "no such file" in result.output


def test_stats(dataset, runner):
    result = runner.invoke(main, ["stats", str(dataset)])
    assert result.exit_code == 0
    assert "600 samples" in result.output
    assert "distinct-1" in result.output and "most repeated replies" in result.output
    assert '"format_version": 1' in result.output


def test_stats_on_non_dataset(runner, tmp_path):
    result = runner.invoke(main, ["stats", str(tmp_path)])
    assert result.exit_code == 1 and "no manifest" in result.output


def test_custom_persona_generation(runner, tmp_path):
    out = tmp_path / "pebble"
    args = ["generate", "--n", "200", "--out", str(out), "--persona", str(PEBBLE / "persona.toml")]
    result = runner.invoke(main, [*args, "--banks", str(PEBBLE / "banks")])
    assert result.exit_code == 0, result.output
    assert "persona pebble" in result.output
    ok = runner.invoke(main, ["validate", str(out), "--persona", str(PEBBLE / "persona.toml")])
    assert ok.exit_code == 0, ok.output


def test_bad_persona_file_is_a_clean_error(runner, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 'x'\n")
    result = runner.invoke(main, ["generate", "--out", str(tmp_path / "o"), "--persona", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}: missing required key" in result.output
    assert "Traceback" not in result.output
