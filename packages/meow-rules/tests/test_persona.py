"""Persona loading (and its errors) and the contents of the bundled Miso persona."""

import re
import tomllib
from pathlib import Path

import pytest

from meow_rules import (
    HARD_NEGATIVE,
    MISO,
    MISO_PATH,
    EvalPrompt,
    PersonaError,
    load_persona,
    normalize_prompt,
    persona_from_dict,
)

MISO_CATEGORIES = (
    "greeting", "hunger", "naps", "boxes", "windows", "birds", "humans", "dogs", "vacuum", "rain",
    "affection", "territory", "nonsense_questions", "being_picked_up", "jealousy", "toys", "laser",
    "catnip", "vet", "litter_box", "scratching", "knocking_things_over", "visitors", "alone",
    "grooming", "mice",
)  # fmt: skip


def miso_raw() -> dict:
    return tomllib.loads(MISO_PATH.read_text(encoding="utf-8"))


class TestMiso:
    def test_categories_and_limits(self):
        assert MISO.categories == MISO_CATEGORIES
        assert (MISO.max_sentences, MISO.max_words, MISO.lowercase) == (3, 35, True)
        assert MISO.known_categories == frozenset(MISO_CATEGORIES) | {HARD_NEGATIVE}

    def test_banned_phrases(self):
        assert len(MISO.banned_phrases) >= 40
        assert all(p == p.lower() for p in MISO.banned_phrases)

    def test_world_vocabulary_has_no_pronouns(self):
        pronouns = {"i", "me", "my", "you", "your", "we", "us", "it", "they", "he", "she"}
        assert not MISO.world_vocabulary & pronouns

    def test_every_non_exempt_category_has_keywords(self):
        for cat in MISO.categories:
            assert bool(MISO.category_keywords[cat]) != MISO.is_exempt(cat), cat

    def test_eval_prompts(self):
        prompts = MISO.eval_prompts
        assert len(prompts) >= 150
        assert all(isinstance(p, EvalPrompt) for p in prompts)
        for cat in MISO_CATEGORIES:
            assert len(MISO.eval_prompts_for(cat)) >= 5, cat
        hard = MISO.eval_prompts_for(HARD_NEGATIVE)
        assert len(hard) >= 15
        assert any(p != p.lower() for p in hard), "hard negatives include mixed case"

    def test_eval_prompts_are_unique_after_normalizing(self):
        assert len(MISO.normalized_eval_prompts) == len(MISO.held_out_prompts)

    def test_eval_prompt_unpacks_as_pair(self):
        prompt, category = MISO.eval_prompts[0]
        assert (prompt, category) == ("hi miso", "greeting")


def test_normalize_prompt():
    assert normalize_prompt("  Hi,  MISO!! ") == "hi miso"
    assert normalize_prompt("what's_up?") == normalize_prompt("WHAT'S UP")


class TestLoadErrors:
    def write(self, tmp_path: Path, text: str) -> Path:
        path = tmp_path / "bad.toml"
        path.write_text(text, encoding="utf-8")
        return path

    def test_missing_file(self, tmp_path):
        with pytest.raises(PersonaError, match=r"nope\.toml: persona file not found"):
            load_persona(tmp_path / "nope.toml")

    def test_invalid_toml_names_file(self, tmp_path):
        path = self.write(tmp_path, "name = \n")
        with pytest.raises(PersonaError, match=rf"{re.escape(str(path))}: invalid TOML"):
            load_persona(path)

    def test_not_utf8(self, tmp_path):
        path = tmp_path / "latin.toml"
        path.write_bytes(b"name = '\xff'")
        with pytest.raises(PersonaError, match="cannot read"):
            load_persona(path)

    @pytest.mark.parametrize(
        ("edit", "message"),
        [
            (lambda d: d["voice"].pop("max_words"), "missing required key 'voice.max_words'"),
            (
                lambda d: d["voice"].update(max_words="35"),
                "'voice.max_words' must be an integer, got a string",
            ),
            (lambda d: d["voice"].update(max_words=True), "'voice.max_words' must be an integer"),
            (lambda d: d["voice"].update(max_words=0), "'voice.max_words' must be positive"),
            (lambda d: d["voice"].update(lowercase="yes"), "'voice.lowercase' must be true/false"),
            (
                lambda d: d["banned"].update(phrases=["ok", 3]),
                r"'banned.phrases'\[1\] must be a string",
            ),
            (lambda d: d["world"].update(vocabulary=[]), "'world.vocabulary' must not be empty"),
            (lambda d: d.pop("categories"), "missing required key 'categories'"),
            (lambda d: d.update(categories={}), "must name at least one category"),
            (lambda d: d["categories"].update(hunger=[]), "categories.hunger has no keywords"),
            (
                lambda d: d["rules"].update(exempt_categories=["knitting"]),
                "unknown category 'knitting'",
            ),
            (
                lambda d: d["eval_prompts"].update(knitting=["hi"]),
                "eval_prompts.knitting is not a category",
            ),
            (lambda d: d.update(schema_version=2), "schema_version = 2 is not supported"),
            (lambda d: d.pop("name"), "missing required key 'name'"),
        ],
    )
    def test_schema_errors_name_file_and_key(self, edit, message):
        raw = miso_raw()
        edit(raw)
        with pytest.raises(PersonaError, match=message) as info:
            persona_from_dict(raw, source="custom.toml")
        assert str(info.value).startswith("custom.toml: ")

    def test_round_trip_through_file(self, tmp_path):
        path = self.write(tmp_path, MISO_PATH.read_text(encoding="utf-8"))
        loaded = load_persona(path)
        assert loaded.categories == MISO.categories
        assert loaded.eval_prompts == MISO.eval_prompts
        assert loaded.source == str(path)


def test_second_persona_loads(otter):
    assert otter.name == "pebble"
    assert otter.categories == ("rocks", "swimming", "small_talk")
    assert otter.is_exempt("small_talk") and otter.is_exempt(HARD_NEGATIVE)
    # no [selection_prompts]: every second held-out prompt of a category chooses checkpoints
    assert otter.eval_prompts_for("swimming") == ("can you swim",)
    assert ("is the water cold", "swimming") in otter.selection_prompts
    assert "show me your rock" in otter.normalized_eval_prompts
