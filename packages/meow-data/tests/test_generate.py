"""Generation: determinism, rule pass rate, leak-freedom, split disjointness, balance, figures."""

from collections import Counter
from pathlib import Path

import pytest

from meow_data import (
    GenerateConfig,
    Sample,
    generate,
    read_manifest,
    split_by_prompt,
    validate,
    write_dataset,
)
from meow_rules import MISO, check, load_persona, normalize_prompt

PEBBLE = Path(__file__).parent / "data" / "pebble"


@pytest.fixture(scope="module")
def full() -> tuple[GenerateConfig, object]:
    """The issue's reference dataset: 20,000 samples, seed 0 (about a second)."""
    config = GenerateConfig(n=20_000, seed=0)
    return config, generate(config)


def test_same_seed_gives_byte_identical_files(tmp_path):
    config = GenerateConfig(n=1500, seed=7)
    write_dataset(generate(config), config, tmp_path / "a")
    write_dataset(generate(config), config, tmp_path / "b")
    for name in ("train.jsonl", "val.jsonl", "manifest.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_different_seed_gives_different_data():
    a = generate(GenerateConfig(n=500, seed=1))
    b = generate(GenerateConfig(n=500, seed=2))
    assert [s.output for s in a.train] != [s.output for s in b.train]


def test_every_reply_passes_the_rules(full):
    _, generated = full
    failures = [s for s in generated.train + generated.val if not check(s.output, s.category).ok]
    assert failures == []


def test_no_eval_prompt_is_emitted(full):
    _, generated = full
    emitted = {normalize_prompt(s.input) for s in generated.train + generated.val}
    assert not emitted & MISO.normalized_eval_prompts


def test_split_is_disjoint_by_normalized_prompt(full):
    _, generated = full
    train = {normalize_prompt(s.input) for s in generated.train}
    val = {normalize_prompt(s.input) for s in generated.val}
    assert val and not train & val
    assert 0.03 < len(generated.val) / 20_000 < 0.07


def test_split_keeps_prompt_variants_together():
    rows = [
        Sample(p, "the bowl is empty.", "hunger")
        for p in ("Are you hungry?", "are you hungry", "ARE YOU HUNGRY!!")
    ]
    for seed in range(20):
        train, val = split_by_prompt(rows * 3, 0.5, seed)
        assert not train or not val


def test_categories_are_balanced(full):
    _, generated = full
    counts = Counter(s.category for s in generated.train + generated.val)
    assert set(counts) == set(MISO.categories) | {"hard_negative"}
    assert min(counts.values()) >= 20_000 // len(counts)


def test_diversity_figures(full):
    _, generated = full
    samples = generated.train + generated.val
    assert len(samples) == 20_000
    assert len({s.input for s in samples}) >= 3_000
    assert len({normalize_prompt(s.input) for s in samples}) >= 3_000
    assert len({s.output for s in samples}) >= 14_000
    assert len({(s.input, s.output) for s in samples}) == 20_000


def test_manifest_records_provenance(tmp_path):
    config = GenerateConfig(n=800, seed=3)
    manifest = write_dataset(generate(config), config, tmp_path)
    assert manifest == read_manifest(tmp_path)
    assert manifest["versions"].keys() == {"meow-data", "meow-rules"}
    assert manifest["persona"] == "miso" and manifest["seed"] == 3
    assert (
        manifest["counts"]["total"]
        == 800
        == manifest["counts"]["train"] + manifest["counts"]["val"]
    )
    assert sum(c["train"] + c["val"] for c in manifest["categories"].values()) == 800
    assert manifest["files"]["train.jsonl"]["lines"] == manifest["counts"]["train"]
    assert validate(tmp_path).ok


def test_custom_persona_and_banks(tmp_path):
    persona = load_persona(PEBBLE / "persona.toml")
    config = GenerateConfig(n=300, seed=0, persona=persona, banks_dir=PEBBLE / "banks")
    generated = generate(config)
    samples = generated.train + generated.val
    assert {s.category for s in samples} == {"rocks", "swimming"}
    assert all(check(s.output, s.category, persona).ok for s in samples)
    assert "show me your rock" not in {normalize_prompt(s.input) for s in samples}
    assert generated.rejections["eval_prompt"] > 0  # the template does reach it: it was filtered
    write_dataset(generated, config, tmp_path)
    assert validate(tmp_path, persona).ok
    assert not validate(tmp_path).ok  # otter data is not valid Miso data


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("n", 0, "n must be from 1 to 5,000,000"),
        ("n", 10**9, "n must be from 1 to 5,000,000"),
        ("val_fraction", 1.0, r"val_fraction must be in \(0, 1\)"),
        ("val_fraction", 0.0, r"val_fraction must be in \(0, 1\)"),
        ("val_fraction", float("nan"), r"val_fraction must be in \(0, 1\), got nan"),
    ],
)
def test_invalid_config_is_refused(field, value, message):
    with pytest.raises(ValueError, match=message):
        GenerateConfig(**{field: value})


def test_too_few_samples_for_a_val_split_are_refused_at_generation():
    # meow-train refuses an empty split, so a dataset it cannot train on is never written
    # one sample always leaves one split empty, whichever side its prompt hashes to
    with pytest.raises(
        ValueError, match=r"1 samples at val_fraction 0.05 leave the \w+ split empty"
    ):
        generate(GenerateConfig(n=1))


def test_a_write_killed_midway_never_leaves_a_mixed_dataset(tmp_path, monkeypatch):
    import meow_data.dataset as dataset_module

    small = GenerateConfig(n=300, seed=1)
    write_dataset(generate(small), small, tmp_path)
    other = GenerateConfig(n=300, seed=2)
    real_replace, calls = dataset_module.os.replace, []

    def killed_after_one_move(src, dst):
        calls.append(dst)
        if len(calls) > 1:
            raise KeyboardInterrupt  # the process dies between two moves
        real_replace(src, dst)

    monkeypatch.setattr(dataset_module.os, "replace", killed_after_one_move)
    with pytest.raises(KeyboardInterrupt):
        write_dataset(generate(other), other, tmp_path, force=True)
    monkeypatch.undo()
    # new train.jsonl, old val.jsonl: without a manifest nothing will read the mix as a dataset
    assert not (tmp_path / "manifest.json").exists()
    assert not validate(tmp_path).ok
    write_dataset(generate(other), other, tmp_path, force=True)  # the rerun completes it
    assert validate(tmp_path).ok


def test_prompts_carry_emoji_and_stretched_words_as_people_type_them(full):
    """A share of prompts ends (or starts) with an everyday emoji or stretches a word; replies never."""
    import re

    from meow_data.compose import EMOJI, P_EMOJI

    _, generated = full
    samples = generated.train + generated.val
    with_emoji = [s for s in samples if any(e in s.input for e in EMOJI)]
    assert P_EMOJI / 2 < len(with_emoji) / len(samples) < P_EMOJI * 1.5
    assert all(s.input == s.input.strip() for s in with_emoji)
    stretched = [s for s in samples if re.search(r"([a-z])\1\1\1", s.input.lower())]
    assert len(stretched) > 100
    assert not any(any(e in s.output for e in EMOJI) for s in samples)
    assert all(check(s.output, s.category).ok for s in with_emoji + stretched)
