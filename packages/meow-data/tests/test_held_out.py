"""Held-out frames and unknown words never reach the training data; the shared frames load safely."""

import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meow_data import BankError, GenerateConfig, generate, load_banks
from meow_rules import (
    MISO,
    UNKNOWN_WORDS,
    UNSEEN,
    load_persona,
    normalize_prompt,
    persona_from_dict,
)

PEBBLE = Path(__file__).parent / "data" / "pebble"
MISO_BANKS = load_banks()
HOLDOUT = sorted({normalize_prompt(f) for bank in MISO_BANKS for f in bank.holdout})


def padded(text: str) -> str:
    return f" {normalize_prompt(text)} "


def test_miso_has_held_out_frames_and_the_unseen_suite_uses_them():
    assert len(HOLDOUT) >= 15
    unseen = [padded(p.prompt) for p in MISO.suite(UNSEEN)]
    framed = [p for p in unseen if any(f" {frame} " in p for frame in HOLDOUT)]
    assert len(framed) >= len(unseen) // 4, "a good share of unseen prompts use held-out frames"


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_generated_data_never_holds_a_held_out_frame_prompt_or_unknown_word(seed):
    data = generate(GenerateConfig(n=2600, seed=seed))
    words = re.compile(
        r"\b(?:" + "|".join(map(re.escape, MISO.all_unknown_words)) + r")(?:s|es)?\b"
    )
    for sample in data.train + data.val:
        prompt = padded(sample.input)
        assert not any(f" {frame} " in prompt for frame in HOLDOUT), sample.input
        assert normalize_prompt(sample.input) not in MISO.normalized_eval_prompts, sample.input
        assert not words.search(sample.input.lower()), sample.input
        assert not words.search(sample.output), sample.output


def owners(samples) -> dict[str, str]:
    owner: dict[str, str] = {}
    for sample in samples:
        key = normalize_prompt(sample.input)
        assert owner.setdefault(key, sample.category) == sample.category, sample.input
    return owner


def test_no_prompt_is_taught_two_categories():
    data = generate(GenerateConfig(n=26_000, seed=3))
    owners(data.train + data.val)


def test_a_prompt_two_categories_could_produce_is_kept_by_the_first(banks):
    for name in ("rocks.toml", "swimming.toml"):
        path = banks / name
        path.write_text(
            path.read_text(encoding="utf-8").replace("templates = [", 'templates = ["tell me something", '),
            encoding="utf-8",
        )  # fmt: skip
    data = generate(
        GenerateConfig(n=300, persona=load_persona(PEBBLE / "persona.toml"), banks_dir=banks)
    )
    owner = owners(data.train + data.val)
    assert owner.get("tell me something") == "rocks"
    assert data.rejections["other_category_prompt"] > 0


def test_every_category_has_a_real_lexicon_and_many_templates():
    for bank in MISO_BANKS:
        lexicon = {value for values in bank.slots.values() for value in values}
        assert len(lexicon) >= 40, (bank.category, len(lexicon))
        assert len(bank.templates) >= 20, (bank.category, len(bank.templates))


def test_miso_has_at_least_25_everyday_categories_with_banks_and_eval_prompts():
    assert len(MISO.categories) >= 25
    assert [b.category for b in MISO_BANKS] == [*MISO.categories, "hard_negative"]


def test_dismissal_phrases_mark_assistant_trap_replies_only():
    """The evaluator counts a dismissal of a friendly prompt as a failure: no other bank has one."""
    for bank in MISO_BANKS:
        dismissals = [core for core in bank.cores if MISO.is_dismissal(core)]
        if bank.category == "hard_negative":
            assert len(dismissals) >= 0.75 * len(bank.cores), set(bank.cores) - set(dismissals)
        else:
            assert not dismissals, (bank.category, dismissals)


@pytest.fixture
def banks(tmp_path) -> Path:
    target = tmp_path / "banks"
    shutil.copytree(PEBBLE / "banks", target)
    return target


def pebble_with_unknown_words():
    import tomllib

    raw = tomllib.loads((PEBBLE / "persona.toml").read_text(encoding="utf-8"))
    raw["unknown_words"] = {"rocks": {"words": ["obsidian"], "prompts": ["is obsidian a rock"]}}
    return persona_from_dict(raw, source="pebble")


def add_shared(banks: Path, text: str) -> None:
    shared = banks / "_shared.toml"
    shared.write_text(shared.read_text(encoding="utf-8") + text, encoding="utf-8")


@pytest.mark.parametrize(
    ("shared", "message"),
    [
        ('frames = ["so {thing}"]', r"prompt.frames\[0\] 'so \{thing\}' must contain \{body\}"),
        ('frames = ["{context}. {body}"]', r"prompt.frames use \{context\} but prompt.contexts"),
        ('holdout = ["hey otter"]', r"prompt.prefixes\[2\] 'hey otter, ' contains the held-out frame 'hey otter'"),
    ],
)  # fmt: skip
def test_bad_shared_prompt_tables_are_named(banks, shared, message):
    add_shared(banks, shared)
    with pytest.raises(BankError, match=message) as info:
        load_banks(banks, load_persona(PEBBLE / "persona.toml"))
    assert "_shared.toml" in str(info.value)


def test_a_template_with_a_held_out_frame_is_refused(banks):
    add_shared(banks, 'holdout = ["how come you"]\n')
    rocks = banks / "rocks.toml"
    rocks.write_text(
        rocks.read_text(encoding="utf-8").replace("templates = [", 'templates = ["How come, you {rock}", '),
        encoding="utf-8",
    )  # fmt: skip
    with pytest.raises(
        BankError, match=r"rocks.toml: prompt.templates\[0\] .* held-out frame 'how come you'"
    ):
        load_banks(banks, load_persona(PEBBLE / "persona.toml"))


def test_an_unknown_word_in_a_bank_is_refused(banks):
    rocks = banks / "rocks.toml"
    text = rocks.read_text(encoding="utf-8")
    slot = re.search(r"(\w+) = \[", text[text.index("[prompt.slots]") :]).group(1)
    rocks.write_text(text.replace(f"{slot} = [", f'{slot} = ["Obsidians", '), encoding="utf-8")
    with pytest.raises(
        BankError,
        match=r"rocks.toml: prompt.slots.\w+\[0\] 'Obsidians' contains 'obsidians', a held-out unknown word",
    ):
        load_banks(banks, pebble_with_unknown_words())


def test_unknown_words_suite_words_appear_in_no_bank():
    assert MISO.suite(UNKNOWN_WORDS)
    for bank in MISO_BANKS:
        text = " ".join(
            [*bank.templates, *bank.cores, *(v for vs in bank.slots.values() for v in vs)]
        )
        assert MISO.unknown_word_in(text) is None, bank.category
