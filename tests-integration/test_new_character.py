"""A character of your own: `meow-data init` to a chatting model, and Fern, the committed example.

The scaffold goes straight through generate -> train -> chat; Fern (examples/fern, a garden snail
written with `init`) goes through lint -> generate -> validate -> train -> eval -> chat, all
through the real CLIs.
"""

import json

from integration_helpers import ROOT, SMALL, cli, train_losses

FERN = ROOT / "examples" / "fern"
TRAIN = ["--device", "cpu", "--batch-size", "32", *SMALL[:-3], "--vocab-size", "400", "--quiet"]


def test_a_fresh_scaffold_trains_and_chats_before_any_edit(tmp_path):
    character = tmp_path / "juniper"
    cli("meow-data", "init", "juniper", "--out", character, "--categories", "seeds,weather")
    persona, banks = character / "persona.toml", character / "banks"
    lint = cli("meow-data", "lint", "--persona", persona, "--banks", banks, check=False)
    assert lint.returncode == 1 and b"only 4 distinct replies" in lint.stdout  # thin, said so
    data = tmp_path / "data"
    cli(
        "meow-data", "generate", "--n", "600", "--out", data, "--persona", persona, "--banks", banks
    )
    cli("meow-data", "validate", data, "--persona", persona)
    run = tmp_path / "run"
    cli("meow-train", "run", "--data", data, "--out", run, "--persona", persona, "--steps", "40",
        "--eval-every", "40", *TRAIN)  # fmt: skip
    assert json.loads((run / "best" / "meta.json").read_text())["persona"] == "juniper"
    assert cli("meow-chat", "--model", run / "best", "--seed", "0", "hi").stdout.strip()


def test_fern_the_snail_goes_from_her_files_to_a_chat(tmp_path):
    persona, banks = FERN / "persona.toml", FERN / "banks"
    lint = cli("meow-data", "lint", "--persona", persona, "--banks", banks)
    assert b"0 warning(s)" in lint.stderr
    data = tmp_path / "data"
    cli(
        "meow-data",
        "generate",
        "--n",
        "3000",
        "--out",
        data,
        "--persona",
        persona,
        "--banks",
        banks,
    )
    cli("meow-data", "validate", data, "--persona", persona)
    run = tmp_path / "run"
    cli("meow-train", "run", "--data", data, "--out", run, "--persona", persona, "--steps", "200",
        "--eval-every", "100", *TRAIN)  # fmt: skip
    losses = train_losses(run)
    assert losses[200] < 0.5 * losses[1]
    report_path = tmp_path / "eval.json"
    cli("meow-train", "eval", run / "best", "--persona", persona, "--samples", "1",
        "--json", report_path, "--device", "cpu")  # fmt: skip
    report = json.loads(report_path.read_text())["suites"]["report"]
    assert report["persona"] == "fern" and report["prompts"] >= 70
    assert {"rain", "shell", "danger", "hard_negative"} <= set(report["categories"])
    assert report["checks"]["lowercase"] == 1.0 and report["checks"]["no_banned"] > 0.9
    reply = cli("meow-chat", "--model", run / "best", "--seed", "0", "is it raining")
    assert reply.stdout.strip()
