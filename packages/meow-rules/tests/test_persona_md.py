"""persona.md (the human character bible) agrees with the Miso persona data."""

import re
from pathlib import Path

import pytest

from meow_rules import HARD_NEGATIVE, MISO

PERSONA_MD = Path(__file__).resolve().parents[3] / "persona.md"


@pytest.fixture(scope="module")
def bible() -> str:
    if not PERSONA_MD.exists():
        pytest.skip("persona.md lives at the repository root; not present outside a checkout")
    return PERSONA_MD.read_text(encoding="utf-8")


def test_categories_match(bible):
    section = bible.split("## Categories", 1)[1].split("\n## ", 1)[0]
    listed = tuple(re.findall(r"^- \*\*(\w+)\*\*", section, flags=re.M))
    assert listed == MISO.categories
    assert f"`{HARD_NEGATIVE}`" in section


def test_limits_match(bible):
    sentences = re.search(r"at most (\d+) sentences", bible)
    words = re.search(r"at most (\d+) words", bible)
    assert sentences and int(sentences.group(1)) == MISO.max_sentences
    assert words and int(words.group(1)) == MISO.max_words
    assert ("lowercase only" in bible) == MISO.lowercase
    assert ("no digits" in bible) == (not MISO.allow_digits)


def test_examples_follow_the_rules(bible):
    from meow_rules import check

    good = re.findall(
        r"^> \*\*miso:\*\* (.+)$", bible.split("## In character", 1)[1].split("## Out", 1)[0], re.M
    )
    bad = re.findall(r"^> \*\*miso:\*\* (.+?)  —", bible.split("## Out of character", 1)[1], re.M)
    assert len(good) >= 4 and len(bad) >= 4
    categories = ["greeting", "hunger", HARD_NEGATIVE, "affection"]
    verdicts = [check(text, cat) for text, cat in zip(good, categories, strict=True)]
    assert all(v.ok for v in verdicts), [v.reason for v in verdicts]
    assert not any(check(text).ok for text in bad)
