"""A second character (Pebble the otter: persona + slot banks in tests-integration/data) through the whole chain."""

import json

from integration_helpers import DATA, SMALL, cli, train_losses

PERSONA = DATA / "pebble" / "persona.toml"
BANKS = DATA / "pebble" / "banks"


def test_otter_goes_through_generate_train_eval_chat(tmp_path):
    data = tmp_path / "data"
    cli(
        "meow-data", "generate", "--n", "800", "--out", data, "--persona", PERSONA, "--banks", BANKS
    )
    cli("meow-data", "validate", data, "--persona", PERSONA)
    assert cli("meow-data", "validate", data, check=False).returncode == 1  # not Miso data
    run = tmp_path / "run"
    cli("meow-train", "run", "--data", data, "--out", run, "--persona", PERSONA, "--steps", "150",
        "--eval-every", "75", "--device", "cpu", "--batch-size", "32", *SMALL[:-3], "--vocab-size", "400", "--quiet")  # fmt: skip
    losses = train_losses(run)
    assert losses[150] < 0.5 * losses[1]
    meta = json.loads((run / "best" / "meta.json").read_text())
    assert meta["persona"] == "pebble"
    report_path = tmp_path / "eval.json"
    cli(
        "meow-train",
        "eval",
        run / "best",
        "--persona",
        PERSONA,
        "--samples",
        "2",
        "--json",
        report_path,
        "--device",
        "cpu",
    )
    report = json.loads(report_path.read_text())["suites"]["report"]
    # no [selection_prompts] in Pebble: 3 of its 8 held-out prompts choose checkpoints, 5 report
    assert report["persona"] == "pebble" and report["prompts"] == 5
    assert set(report["categories"]) == {"rocks", "swimming", "hard_negative"}
    reply = (
        cli("meow-chat", "--model", run / "best", "--seed", "0", "can you swim")
        .stdout.decode()
        .strip()
    )
    assert reply
