"""Shared topic frames: the same question about any category's subject, so only the subject tells."""

import random
import shutil
from collections import Counter
from pathlib import Path

import pytest

from meow_data import BankError, load_banks
from meow_data.compose import P_TOPIC_FRAME, compose_prompt
from meow_rules import HARD_NEGATIVE, load_persona, normalize_prompt

PEBBLE = Path(__file__).parent / "data" / "pebble"
FRAMES = 'topic_frames = ["do you like {topic}", "{topic}, love it or hate it"]\n'


@pytest.fixture
def banks(tmp_path) -> Path:
    target = tmp_path / "banks"
    shutil.copytree(PEBBLE / "banks", target)
    return target


def add(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def pebble(banks: Path):
    return {b.category: b for b in load_banks(banks, load_persona(PEBBLE / "persona.toml"))}


def test_only_a_category_with_a_topic_slot_is_asked_in_topic_frames(banks, monkeypatch):
    from meow_data import compose

    for slip in ("P_TYPO", "P_STRETCH"):  # spelled as written, to see that no subject is made up
        monkeypatch.setattr(compose, slip, 0.0)
    add(banks / "_shared.toml", FRAMES)
    add(banks / "rocks.toml", 'topic = ["granite", "the pebble beach"]\n')
    loaded = pebble(banks)
    assert loaded["rocks"].topic_frames == ("do you like {topic}", "{topic}, love it or hate it")
    assert loaded["swimming"].topic_frames == ()
    rng = random.Random(0)
    rocks = [normalize_prompt(compose_prompt(loaded["rocks"], rng)) for _ in range(4000)]
    framed = [p for p in rocks if "love it or hate it" in p or "do you like granite" in p
              or "do you like the pebble beach" in p]  # fmt: skip
    assert 0.6 * P_TOPIC_FRAME < len(framed) / len(rocks) < 1.4 * P_TOPIC_FRAME
    assert all("granite" in p or "pebble beach" in p for p in framed)  # never a made-up subject
    swimming = [normalize_prompt(compose_prompt(loaded["swimming"], rng)) for _ in range(2000)]
    assert not any("love it or hate it" in p for p in swimming)


@pytest.mark.parametrize(
    "frame",
    ['"what about rocks"', '"{topic} and {thing}"', '"{body} {topic}"', '"{topic} }"'],
)
def test_a_topic_frame_must_use_the_topic_slot_alone(banks, frame):
    add(banks / "_shared.toml", f"topic_frames = [{frame}]\n")
    with pytest.raises(
        BankError, match=r"_shared.toml: prompt.topic_frames\[0\] .* must use \{topic\}"
    ):
        pebble(banks)


def test_a_topic_frame_with_a_held_out_frame_is_refused(banks):
    add(
        banks / "_shared.toml",
        'holdout = ["how come you"]\ntopic_frames = ["how come you like {topic}"]\n',
    )
    with pytest.raises(
        BankError, match=r"prompt.topic_frames\[0\] .* held-out frame 'how come you'"
    ):
        pebble(banks)


def test_miso_asks_the_same_questions_of_every_subject_and_no_subject_belongs_to_two_categories():
    banks = load_banks()
    framed = [b for b in banks if b.topic_frames]
    unframed = {b.category for b in banks if not b.topic_frames}
    assert unframed == {"greeting", HARD_NEGATIVE}  # a hello and an assistant task have no subject
    assert len({b.topic_frames for b in framed}) == 1 and len(framed[0].topic_frames) >= 40
    owner: dict[str, str] = {}
    for bank in framed:
        assert len(bank.slots["topic"]) >= 20, bank.category
        for subject in bank.slots["topic"]:
            key = normalize_prompt(subject)
            assert key not in owner, (
                f"{subject!r} is a subject of {owner.get(key)} and {bank.category}"
            )
            owner[key] = bank.category
    assert Counter(owner.values()).keys() == {b.category for b in framed}
