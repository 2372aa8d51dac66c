"""`meow-data card`: the dataset card's figures are the manifest's, and it never overwrites silently."""

import json
import re

from click.testing import CliRunner

from meow_data.cli import main


def make(tmp_path):
    out = tmp_path / "data"
    result = CliRunner().invoke(main, ["generate", "--n", "700", "--seed", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_the_card_carries_the_manifests_figures_and_hub_front_matter(tmp_path):
    data = make(tmp_path)
    result = CliRunner().invoke(main, ["card", str(data)])
    assert result.exit_code == 0, result.output
    card = (data / "DATASET_CARD.md").read_text()
    manifest = json.loads((data / "manifest.json").read_text())
    front, body = card.split("\n---\n", 1)
    assert front.startswith("---\n") and "task_categories:\n- text-generation" in front
    assert "path: train.jsonl" in front and "size_categories:\n- n<1K" in front
    for split, key in (("train", "train"), ("validation", "val"), ("total", "total")):
        assert f"| {split} | {manifest['counts'][key]:,} |" in body
    for category, split in manifest["categories"].items():
        assert f"| {category} | {split.get('train', 0):,} | {split.get('val', 0):,} |" in body
    assert f"unique replies: {manifest['unique']['outputs']:,}" in body
    assert f"meow-rules {manifest['versions']['meow-rules']}" in body
    for name, info in manifest["files"].items():
        assert f"`{name}`: {info['lines']:,} lines, sha256 `{info['sha256']}`" in body
    samples = re.findall(r"^\| (\w+) \| .+ \| .+ \|$", body.split("## Samples")[1], re.M)
    assert samples[0] == "category"  # the header row
    assert len(samples[1:]) == 8 and set(samples[1:]) <= set(manifest["categories"])


def test_the_card_is_not_overwritten_without_force_and_needs_a_manifest(tmp_path):
    data = make(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["card", str(data)]).exit_code == 0
    (data / "DATASET_CARD.md").write_text("my edits")
    again = runner.invoke(main, ["card", str(data)])
    assert again.exit_code == 1 and "already exists; pass --force" in again.output
    assert (data / "DATASET_CARD.md").read_text() == "my edits"
    assert runner.invoke(main, ["card", str(data), "--force"]).exit_code == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = runner.invoke(main, ["card", str(empty)])
    assert missing.exit_code == 1 and "manifest.json" in missing.output
