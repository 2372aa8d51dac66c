"""The meow-chat CLI, through click's runner and as a real subprocess."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

import meow_model
from meow_chat import ChatSession, __version__, bundled_model_dir
from meow_chat.cli import main
from meow_model import SamplingConfig


@pytest.fixture
def runner():
    return CliRunner()


def test_one_shot(runner, tiny_model_dir):
    result = runner.invoke(
        main, ["--model", str(tiny_model_dir), "--seed", "1", "--max-new-tokens", "5", "hi", "miso"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.endswith("\n") and result.output.count("\n") == 1


def test_one_shot_is_reproducible_with_a_seed(runner, tiny_model_dir):
    args = ["--model", str(tiny_model_dir), "--seed", "3", "--max-new-tokens", "8", "hi miso"]
    assert runner.invoke(main, args).output == runner.invoke(main, args).output


def test_stdin_batch_json_skips_blank_lines_and_replaces_bad_utf8(runner, tiny_model_dir):
    data = b"hi miso\n\n   \nare you hungry\n\xff\xfe broken\n"
    result = runner.invoke(
        main,
        ["--model", str(tiny_model_dir), "--json", "--max-new-tokens", "4", "--seed", "0"],
        input=data,
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["prompt"] for r in rows] == ["hi miso", "are you hungry", "\ufffd\ufffd broken"]
    assert all(set(r) == {"prompt", "reply", "tokens", "ms"} for r in rows)
    assert all(r["tokens"] <= 4 and r["ms"] >= 0 for r in rows)


def test_stdin_batch_drops_a_bom_and_splits_only_on_newlines(runner, tiny_model_dir):
    data = "\ufeffhi miso\r\nare you\rhungry\r\n".encode()
    args = ["--model", str(tiny_model_dir), "--json", "--max-new-tokens", "4", "--seed", "0"]
    rows = [json.loads(line) for line in runner.invoke(main, args, input=data).output.splitlines()]
    assert [r["prompt"] for r in rows] == ["hi miso", "are you hungry"]
    bare = runner.invoke(main, [*args, "hi miso"]).output
    assert json.loads(bare)["reply"] == rows[0]["reply"], "the BOM does not change the reply"


def test_one_shot_argument_that_is_not_utf8(runner, tiny_model_dir):
    args = ["--model", str(tiny_model_dir), "--json", "--max-new-tokens", "4", "--seed", "0"]
    result = runner.invoke(main, [*args, "caf\udce9 miso"])  # how Python passes the byte 0xe9
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["prompt"] == "caf\ufffd miso"


def test_stdin_batch_plain_one_line_per_prompt(runner, tiny_model_dir):
    result = runner.invoke(
        main, ["--model", str(tiny_model_dir), "--max-new-tokens", "6"], input="a\nb\nc\n"
    )
    assert result.exit_code == 0
    assert len(result.output.splitlines()) == 3


def test_missing_model_dir_exits_2_with_one_line(runner, tmp_path):
    result = runner.invoke(main, ["--model", str(tmp_path / "nope"), "hi"])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert f"cannot load model from {tmp_path / 'nope'}" in result.output
    assert "Traceback" not in result.output


def test_broken_model_dir_exits_2(runner, tiny_model_dir, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in tiny_model_dir.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    (broken / "model.safetensors").write_bytes(b"garbage")
    result = runner.invoke(main, ["--model", str(broken), "hi"])
    assert result.exit_code == 2 and "model.safetensors" in result.output


def test_version(runner):
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"meow-chat {__version__} (meow-model {meow_model.__version__})"


def test_bad_option_is_a_usage_error(runner):
    assert runner.invoke(main, ["--temperature", "-1", "hi"]).exit_code == 2


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--temperature", "nan"), ("--temperature", "inf"), ("--top-p", "nan"), ("--seed", "1e23"),
     ("--seed", "100000000000000000000000"), ("--seed", "-3")],
)  # fmt: skip
def test_non_finite_or_out_of_range_numbers_exit_2_with_one_line(
    runner, tiny_model_dir, flag, value
):
    result = runner.invoke(main, ["--model", str(tiny_model_dir), flag, value, "hi"])
    assert result.exit_code == 2
    assert f"Invalid value for '{flag}'" in result.output and "Traceback" not in result.output


def test_subprocess_one_shot_and_batch(meow_chat_exe, tiny_model_dir):
    one = subprocess.run(
        [*meow_chat_exe, "--model", str(tiny_model_dir), "--max-new-tokens", "4", "hi"],
        capture_output=True,
        timeout=120,
    )
    assert one.returncode == 0, one.stderr
    batch = subprocess.run(
        [*meow_chat_exe, "--model", str(tiny_model_dir), "--json", "--max-new-tokens", "4"],
        input=b"hi\n\nbowl\xff\n", capture_output=True, timeout=120,
    )  # fmt: skip
    assert batch.returncode == 0, batch.stderr
    prompts = [json.loads(line)["prompt"] for line in batch.stdout.decode().splitlines()]
    assert prompts == ["hi", "bowl\ufffd"]
    missing = subprocess.run(
        [*meow_chat_exe, "--model", "/nonexistent/miso", "hi"], capture_output=True, timeout=120
    )
    assert missing.returncode == 2
    assert missing.stderr.decode().count("\n") == 1 and b"Traceback" not in missing.stderr


def test_bundled_model_is_in_the_package():
    path = bundled_model_dir()
    assert {p.name for p in path.iterdir()} >= {
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "meta.json",
        "MODEL_CARD.md",
    }
    assert (path / "model.safetensors").stat().st_size <= 16_000_000


def test_bundled_model_answers_in_character(runner):
    from meow_rules import check  # test-only dependency: meow-chat itself never imports it

    replies = []
    for seed in range(8):  # sampled at meow-chat's defaults, as a user meets it
        result = runner.invoke(main, ["--seed", str(seed), "hi miso"])
        assert result.exit_code == 0 and result.output.strip()
        replies.append(result.output.strip())
    verdicts = [check(reply, "greeting") for reply in replies]
    assert all(v.failed_checks() in ((), ("topic",)) for v in verdicts), replies  # always in voice
    assert sum(v.ok for v in verdicts) >= 3, (
        replies
    )  # and greets back (greeting: ~65% on the report set)


def bundled_meta() -> dict:
    return json.loads((bundled_model_dir() / "meta.json").read_text(encoding="utf-8"))


def test_model_card_figures_are_the_eval_reports():
    """Every suite figure on the card is the one in meta.json; the selection suite is never quoted."""
    suites = bundled_meta()["eval_bundled"]["suites"]
    card = (bundled_model_dir() / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert set(suites) == {"report", "unseen", "unknown_words"}
    rows = [line for line in card.splitlines() if line.startswith("| ")]
    for name, report in suites.items():
        headline = report.get("fallback_rate", report["pass_rate"])
        assert any(f"| {report['prompts']} | {headline:.1%} |" in row for row in rows), name
        for category, row in report["categories"].items():
            assert any(
                line.startswith(f"| {category} |") and f"{row['pass_rate']:.0%}" in line
                for line in rows
            ), (name, category)
    assert "selection" not in {name for name in suites}


def test_bundled_metadata_names_no_machine_path():
    def strings(value):
        if isinstance(value, dict):
            for item in value.values():
                yield from strings(item)
        elif isinstance(value, list):
            for item in value:
                yield from strings(item)
        elif isinstance(value, str):
            yield value

    leaked = [s for s in strings(bundled_meta()) if s.startswith(("/", "~")) or ":\\" in s]
    assert not leaked, leaked


def test_chatting_never_imports_torch(tiny_model_dir):
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from meow_chat.cli import main\n"
        f"r = CliRunner().invoke(main, ['--model', {str(tiny_model_dir)!r}, '--seed', '0', 'hi'])\n"
        "assert r.exit_code == 0, r.output\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_torch_backend_gives_the_numpy_backend_s_greedy_replies(runner, tiny_model_dir):
    pytest.importorskip("torch")
    replies = {
        backend: runner.invoke(main, ["--model", str(tiny_model_dir), "--backend", backend,
                                      "--temperature", "0"], input="hi miso\nare you hungry\n").output
        for backend in ("numpy", "torch")
    }  # fmt: skip
    assert replies["numpy"] == replies["torch"] and replies["numpy"].count("\n") == 2


def test_torch_backend_without_torch_is_a_one_line_error(runner, tiny_model_dir):
    import importlib.util

    if importlib.util.find_spec("torch") is not None:
        pytest.skip("torch is installed here; the torch-free tox env runs this")
    result = runner.invoke(main, ["--model", str(tiny_model_dir), "--backend", "torch", "hi"])
    assert (
        result.exit_code == 2 and "needs PyTorch: pip install 'meow-model[torch]'" in result.output
    )


def test_a_gpu_device_needs_the_torch_backend(runner, tiny_model_dir):
    result = runner.invoke(main, ["--model", str(tiny_model_dir), "--device", "cuda", "hi"])
    assert result.exit_code == 2 and "needs --backend torch" in result.output


def test_the_interactive_chat_names_the_character_the_model_is(tiny_model_dir, monkeypatch, capsys):
    from dataclasses import replace as dc_replace

    from meow_chat.cli import _interactive

    session = ChatSession.open(tiny_model_dir, SamplingConfig(seed=0, max_new_tokens=3))
    session.pretrained = dc_replace(session.pretrained, meta={"persona": "fern"})
    lines = iter(["hello", "quit"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    _interactive(session)
    out = capsys.readouterr().out
    assert out.startswith("fern is listening.") and "fern: " in out and "miso" not in out
