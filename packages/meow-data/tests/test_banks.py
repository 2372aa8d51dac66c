"""Slot bank loading: the bundled banks load, and every kind of broken bank is named precisely."""

import shutil
from pathlib import Path

import pytest

from meow_data import BankError, GenerateConfig, default_banks_dir, generate, load_banks
from meow_rules import MISO, load_persona

PEBBLE = Path(__file__).parent / "data" / "pebble"


@pytest.fixture
def banks(tmp_path) -> Path:
    """A writable copy of the Pebble banks to break."""
    target = tmp_path / "banks"
    shutil.copytree(PEBBLE / "banks", target)
    return target


@pytest.fixture(scope="module")
def pebble():
    return load_persona(PEBBLE / "persona.toml")


def test_bundled_miso_banks_cover_every_category():
    loaded = load_banks()
    assert [b.category for b in loaded] == [*MISO.categories, "hard_negative"]
    assert all(b.cores and b.templates for b in loaded)
    assert default_banks_dir().is_dir()


def write(banks: Path, name: str, text: str) -> Path:
    path = banks / name
    path.write_text(text, encoding="utf-8")
    return path


ROCKS_OK = """
category = "rocks"
[reply]
cores = ["this rock is mine"]
[prompt]
templates = ["show me a {rock}"]
[prompt.slots]
rock = ["rock"]
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            ROCKS_OK.replace('"rocks"', '"knitting"'),
            "category 'knitting' is not a category of persona 'pebble'",
        ),
        (ROCKS_OK.replace('["this rock is mine"]', "[]"), "key 'reply.cores' is empty"),
        (
            ROCKS_OK.replace('"this rock is mine"', '"This rock is mine"'),
            r"reply.cores\[0\] 'This rock is mine' is invalid: lowercase",
        ),
        (
            ROCKS_OK.replace('"this rock is mine"', '"i like the river a lot"'),
            r"reply.cores\[0\] .* is invalid: topic",
        ),
        (
            ROCKS_OK.replace('"this rock is mine"', '"i like water"'),
            r"reply.cores\[0\] 'i like water' names no rocks keyword",
        ),
        (
            ROCKS_OK.replace("{rock}", "{stone}"),
            r"prompt.templates\[0\] 'show me a \{stone\}' uses unknown slot \{stone\}",
        ),
        (ROCKS_OK.replace("{rock}", "{rock"), "unmatched brace"),
        (
            ROCKS_OK.replace("[reply]", "[reply]\np_opener = 2"),
            "'reply.p_opener' must be a number in",
        ),
        (
            ROCKS_OK.replace('cores = ["this rock is mine"]', 'cores = "this rock"'),
            "'reply.cores' must be a list",
        ),
        ("category = ", "invalid TOML"),
    ],
)
def test_broken_bank_names_file_and_entry(banks, pebble, text, message):
    path = write(banks, "rocks.toml", text)
    with pytest.raises(BankError, match=message) as info:
        load_banks(banks, pebble)
    assert str(info.value).startswith(str(path))


def test_broken_shared_fragment_is_named(banks, pebble):
    write(banks, "_shared.toml", '[reply]\nopeners = ["as an ai"]\n')
    with pytest.raises(
        BankError, match=r"_shared.toml: reply.openers\[0\] 'as an ai' is invalid: no_banned"
    ):
        load_banks(banks, pebble)


def test_missing_category_bank(banks, pebble):
    (banks / "swimming.toml").unlink()
    with pytest.raises(BankError, match="no bank for category swimming of persona 'pebble'"):
        load_banks(banks, pebble)


def test_duplicate_category(banks, pebble):
    write(banks, "more_rocks.toml", ROCKS_OK)
    with pytest.raises(BankError, match="already defined"):
        load_banks(banks, pebble)


def test_missing_directory(tmp_path):
    with pytest.raises(BankError, match="bank directory not found"):
        load_banks(tmp_path / "nope")


def test_bank_that_cannot_produce_valid_replies(banks, pebble):
    # every fragment is fine alone, but together they always exceed Pebble's 25 words
    long_core = "this rock is my favourite rock of every single rock in the whole wide world today"
    write(
        banks,
        "rocks.toml",
        ROCKS_OK.replace('"this rock is mine"', f'"{long_core}"').replace(
            "[reply]",
            '[reply]\np_redirect = 1.0\np_opener = 1.0\nsensory = ["near the old bridge by the bend"]\np_sensory = 1.0',
        ),
    )
    config = GenerateConfig(n=10, persona=pebble, banks_dir=banks)
    with pytest.raises(
        BankError, match=r"rocks.toml: could not produce a valid rocks sample .* length"
    ):
        generate(config)
