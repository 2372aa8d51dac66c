"""Held-out suites: selection vs report vs unseen vs unknown words, and their loading errors."""

import tomllib

import pytest

from meow_rules import (
    HARD_NEGATIVE,
    MISO,
    MISO_PATH,
    REPORT,
    REPORT_SUITES,
    SELECTION,
    SUITES,
    UNKNOWN_WORDS,
    UNSEEN,
    PersonaError,
    normalize_prompt,
    persona_from_dict,
)


def miso_raw() -> dict:
    return tomllib.loads(MISO_PATH.read_text(encoding="utf-8"))


def keys(name: str) -> set[str]:
    return {normalize_prompt(p.prompt) for p in MISO.suite(name)}


class TestMisoSuites:
    def test_suites_are_pairwise_disjoint(self):
        for i, a in enumerate(SUITES):
            for b in SUITES[i + 1 :]:
                assert not keys(a) & keys(b), (a, b, sorted(keys(a) & keys(b))[:3])

    @pytest.mark.parametrize("suite", [SELECTION, REPORT, UNSEEN])
    def test_every_category_is_covered(self, suite):
        covered = {p.category for p in MISO.suite(suite)}
        assert covered == MISO.known_categories, sorted(MISO.known_categories - covered)

    def test_report_is_eval_prompts_and_selection_is_separate(self):
        assert MISO.suite(REPORT) == MISO.eval_prompts
        assert REPORT_SUITES == (REPORT, UNSEEN, UNKNOWN_WORDS)
        assert SELECTION not in REPORT_SUITES

    def test_unseen_suite_size_and_styles(self):
        unseen = MISO.suite(UNSEEN)
        assert len(unseen) >= 200
        for cat in MISO.categories:
            assert sum(p.category == cat for p in unseen) >= 8, cat
        long = [p for p in unseen if len(p.prompt.split()) >= 18]
        assert len(long) >= len(MISO.categories), "a long multi-clause prompt per category"

    def test_unknown_words_cover_every_category(self):
        assert set(MISO.unknown_words) == set(MISO.categories)
        for cat, words in MISO.unknown_words.items():
            assert len(words) >= 2, cat
            prompts = [p.prompt.lower() for p in MISO.suite(UNKNOWN_WORDS) if p.category == cat]
            assert prompts, cat
            assert all(any(w in p for w in words) for p in prompts), cat

    def test_held_out_prompts_is_every_suite(self):
        assert len(MISO.held_out_prompts) == sum(len(MISO.suite(s)) for s in SUITES)
        assert len(MISO.normalized_eval_prompts) == len(MISO.held_out_prompts)

    def test_unknown_word_in(self):
        word = sorted(MISO.all_unknown_words)[0]
        assert MISO.unknown_word_in(f"i love {word.upper()} so much") == word
        assert MISO.unknown_word_in(f"two {word}s please") == f"{word}s"
        assert MISO.unknown_word_in(f"x{word}") is None
        assert MISO.unknown_word_in("the bowl is empty") is None

    def test_dismissals(self):
        assert MISO.dismissals
        assert MISO.is_dismissal("hm. i am not a machine, i am a cat.")
        assert not MISO.is_dismissal("the bowl is empty. bring tuna.")

    def test_unknown_suite_name(self):
        with pytest.raises(ValueError, match="unknown eval suite 'train'"):
            MISO.suite("train")


class TestSuiteErrors:
    @pytest.mark.parametrize(
        ("edit", "message"),
        [
            (
                lambda d: d["selection_prompts"].update(hunger=["Hi Miso!"]),
                "eval_prompts.greeting prompt 'hi miso' is also in selection_prompts; held-out suites must",
            ),
            (
                lambda d: d["unseen_prompts"].update(knitting=["hi"]),
                "unseen_prompts.knitting is not a category",
            ),
            (
                lambda d: d["unknown_words"]["hunger"].update(prompts=["want some tuna"]),
                r"unknown_words.hunger.prompts\[0\] 'want some tuna' contains none of",
            ),
            (
                lambda d: d["unknown_words"]["hunger"].pop("words"),
                "missing required key 'unknown_words.hunger.words'",
            ),
            (
                lambda d: d["rules"].update(dismissals="i am a cat"),
                "'rules.dismissals' must be a list",
            ),
        ],
    )
    def test_errors_name_file_and_key(self, edit, message):
        raw = miso_raw()
        edit(raw)
        with pytest.raises(PersonaError, match=message) as info:
            persona_from_dict(raw, source="custom.toml")
        assert str(info.value).startswith("custom.toml: ")

    def test_a_persona_without_selection_prompts_gets_a_disjoint_split(self):
        raw = miso_raw()
        raw.pop("selection_prompts")
        persona = persona_from_dict(raw)
        for cat in {p.category for p in persona.eval_prompts}:
            report = [p.prompt for p in persona.eval_prompts if p.category == cat]
            selection = [p.prompt for p in persona.selection_prompts if p.category == cat]
            assert report and not set(report) & set(selection), cat
            assert len(report) - len(selection) in (0, 1), cat

    def test_optional_suites_default_to_empty(self):
        raw = miso_raw()
        for table in ("unseen_prompts", "unknown_words"):
            raw.pop(table)
        raw["rules"].pop("dismissals")
        persona = persona_from_dict(raw)
        assert persona.suite(UNSEEN) == persona.suite(UNKNOWN_WORDS) == ()
        assert persona.unknown_word_in("anything at all") is None
        assert not persona.is_dismissal("i am not a machine, i am a cat")
        assert HARD_NEGATIVE in {p.category for p in persona.suite(SELECTION)}
