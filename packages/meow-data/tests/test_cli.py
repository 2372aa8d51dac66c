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


def test_validate_refuses_empty_files_duplicate_rows_and_keys(dataset, runner, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    result = runner.invoke(main, ["validate", str(empty)])
    assert result.exit_code == 1 and f"{empty}: file is empty (no rows)" in result.output

    first = (dataset / "train.jsonl").read_text().splitlines()[0]
    doubled_key = first[:-1] + ', "output": "hm."}'
    rows = tmp_path / "rows.jsonl"
    rows.write_text("\n".join([first, first, doubled_key]) + "\n")
    result = runner.invoke(main, ["validate", str(rows)])
    assert result.exit_code == 1
    assert f"{rows}:2: duplicate of line 1" in result.output
    assert f"{rows}:3: field 'output' appears twice in the row" in result.output
    assert "2 problem(s) in 3 rows" in result.output


def test_validate_names_a_manifest_whose_files_is_not_an_object(dataset, runner):
    manifest = json.loads((dataset / "manifest.json").read_text())
    manifest["files"] = ["train.jsonl", "val.jsonl"]
    (dataset / "manifest.json").write_text(json.dumps(manifest))
    result = runner.invoke(main, ["validate", str(dataset)])
    assert result.exit_code == 1
    assert (
        "manifest.json: 'files' must be an object mapping file names to hashes, got list"
        in result.output
    )


def test_stats_names_the_file_and_line_of_invalid_utf8(dataset, runner):
    train = dataset / "train.jsonl"
    lines = train.read_bytes().split(b"\n")
    lines[2] = b'{"input": "\xff\xfe", "output": "hm.", "category": "greeting"}'
    train.write_bytes(b"\n".join(lines))
    result = runner.invoke(main, ["stats", str(dataset)])
    assert result.exit_code == 1
    assert f"{train}:3: not valid UTF-8" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--n", "1000000000"], "--n"),
        (["--n", "1"], "split empty, and training needs both"),
        (["--val-fraction", "nan"], "nan is not a finite number"),
        (["--val-fraction", "0"], "--val-fraction"),
        (["--seed", "-1"], "--seed"),
        (["--seed", "100000000000000000000000"], "--seed"),
    ],
)
def test_generate_refuses_bad_numbers_in_one_line(runner, tmp_path, args, message):
    out = tmp_path / "ds"
    result = runner.invoke(main, ["generate", "--out", str(out), *args])
    assert result.exit_code in (1, 2) and message in result.output
    assert "Traceback" not in result.output and not (out / "manifest.json").exists()


def test_generate_into_a_read_only_directory_is_a_one_line_error(runner, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = runner.invoke(main, ["generate", "--n", "300", "--out", str(locked / "ds")])
    finally:
        locked.chmod(0o700)
    if result.exit_code == 0:
        pytest.skip("running as root: permissions are not enforced")
    assert result.exit_code == 1
    assert f"cannot write the dataset to {locked / 'ds'}: Permission denied" in result.output
    assert list(locked.iterdir()) == []


def test_a_full_disk_during_generate_is_a_one_line_error_and_leaves_nothing(
    runner, tmp_path, monkeypatch
):
    import errno

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    out = tmp_path / "ds"
    result = runner.invoke(main, ["generate", "--n", "300", "--out", str(out)])
    assert result.exit_code == 1
    assert f"cannot write the dataset to {out}: No space left on device" in result.output
    assert list(out.iterdir()) == []  # no 0-byte file that would block the rerun
