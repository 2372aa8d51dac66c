"""Every check of `check`, on its pass and fail paths, plus the never-raises property."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meow_rules import CHECKS, HARD_NEGATIVE, MISO, Verdict, check

GOOD = "hello. i was in the sun spot. you may continue."


def failed(text: str, category: str | None = None, **kw) -> tuple[str, ...]:
    return check(text, category, **kw).failed_checks()


def test_in_character_reply_passes_every_check():
    v = check(GOOD, "greeting")
    assert v == Verdict(True, "ok", True, True, True, True, True, True)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("yes. this is an emergency. the bowl is almost empty.", "hunger"),
        ("i do not know this python. is it a snake.", HARD_NEGATIVE),
        ("acceptable. you may pet my head. not the belly.", "affection"),
        ("no no. the box is mine.", "boxes"),
        ("i can hear the can opener. it is dinner time.", "hunger"),
    ],
)
def test_seed_style_replies_pass(text, category):
    assert check(text, category).ok, check(text, category).reason


class TestLowercase:
    def test_capital_fails_with_reason(self):
        v = check("Hello. i was asleep.", "greeting")
        assert not v.lowercase and not v.ok
        assert v.reason.startswith("lowercase:")

    def test_other_checks_still_evaluated(self):
        assert failed("Hello. i was asleep.", "greeting") == ("lowercase",)


class TestLength:
    def test_empty_and_punctuation_only_fail(self):
        assert "length" in failed("")
        assert "length" in failed("...")

    def test_too_many_words(self):
        text = "the food " * 18 + "bowl."  # 37 words
        v = check(text.strip(), "hunger")
        assert not v.length and "37 words" in v.reason

    def test_exactly_max_words_passes(self):
        words = ["food"] + ["bowl", "tuna"] * 17  # 35 words, no immediate repeat
        assert check(" ".join(words) + ".", "hunger").length

    def test_too_many_sentences(self):
        v = check("food. bowl. tuna. fish.", "hunger")
        assert not v.length and "4 sentences" in v.reason

    def test_decimal_point_is_not_a_sentence_end(self):
        assert check("food. bowl. tuna.", "hunger").length


class TestBanned:
    @pytest.mark.parametrize(
        "text",
        [
            "i can help you with that.",
            "as an ai i do not eat.",
            "great question. the bowl.",
            "i hope this helps, human.",
            "i am an assistant cat.",
        ],
    )
    def test_assistant_speak_fails(self, text):
        v = check(text)
        assert not v.no_banned, text
        assert "banned phrase" in v.reason or "lowercase" in v.reason

    def test_whole_phrase_matching(self):
        assert check("i can hear the can. it is dinner.", "hunger").no_banned
        assert not check("i can help. it is dinner.", "hunger").no_banned
        # a phrase inside a longer word is not the phrase
        assert not check("the user of the couch is mine.", "territory").no_banned
        assert check("the users of the couch are mine.", "territory").no_banned

    def test_curly_apostrophe_is_folded(self):
        assert not check("i\u2019m an ai.").no_banned

    @pytest.mark.parametrize(
        "text", ["def food(): bowl", "import tuna", "x = food", "see http food"]
    )
    def test_code_drift_fails(self, text):
        v = check(text)
        assert not v.no_banned and "drift token" in v.reason

    def test_digits_fail_when_persona_forbids_them(self):
        v = check("the answer is four. no. it is 4.", HARD_NEGATIVE)
        assert not v.no_banned
        assert "digit" in check("bowl 4", "hunger").reason


class TestEmojiAndStageDirections:
    @pytest.mark.parametrize("text", ["*purrs* hello", "hello (stretches)", "[yawns] hi", "hi ~"])
    def test_stage_directions_fail(self, text):
        assert not check(text, "greeting").no_emoji_or_stage_direction

    @pytest.mark.parametrize("text", ["hi 😺", "hello \u2764\ufe0f", "hi \u2600"])
    def test_emoji_fail(self, text):
        v = check(text, "greeting")
        assert not v.no_emoji_or_stage_direction and "emoji" in v.reason

    def test_accented_letters_are_not_emoji(self):
        assert check("café is not food.").no_emoji_or_stage_direction


class TestTopic:
    def test_missing_keyword_fails(self):
        v = check("i am walking to the other room now, slowly and with grace.", "hunger")
        assert not v.topic and v.reason == "topic: no hunger keyword"

    def test_keyword_inflections_count(self):
        assert check("i am napping in my favorite warm place now.", "naps").topic

    def test_keyword_must_be_a_whole_word(self):
        # "hi" is a greeting keyword; "his" and "this" are not greetings
        assert not check("this is his spot and nobody may sit there now.", "greeting").topic

    def test_short_reply_bypass(self):
        assert check("no. go away.", "hunger").topic  # 3 words
        assert not check("no. go away now. i am busy today.", "hunger").topic  # 8 words

    def test_exempt_categories_bypass(self):
        text = "i do not know this word. is it a kind of soup."
        assert check(text, "nonsense_questions").topic
        assert check(text, HARD_NEGATIVE).topic
        assert not check(text, "hunger").topic

    def test_no_category_needs_a_world_word(self):
        assert check("the sun spot is warm and it is mine today.").topic
        v = check("i believe the quarterly numbers look strong this year.")
        assert not v.topic and "world word" in v.reason

    def test_unknown_category_fails_without_raising(self):
        v = check("hello there", "knitting")
        assert not v.ok and "unknown category 'knitting'" in v.reason


class TestCoherence:
    @pytest.mark.parametrize(
        ("text", "why"),
        [
            ("i i am a a cat.", "repeated word 'i'"),
            ("the have no only this is and also.", "'the' followed by 'have'"),
            ("i want the.", "sentence ends on 'the'"),
            ("the bowl is empty and. bring food.", "sentence ends on 'and'"),
            ("bring the treats also.", "sentence ends on 'also'"),
        ],
    )
    def test_word_salad_fails(self, text, why):
        v = check(text)
        assert not v.coherence
        assert why in v.reason or not v.topic

    def test_allowlisted_doubling_passes(self):
        assert check("no no. the box is mine.", "boxes").coherence
        assert not check("box box. the box is mine.", "boxes").coherence

    def test_repeat_across_punctuation_is_not_a_stammer(self):
        assert check("i rubbed my head on you, you are mine.", "affection").coherence
        assert not check("i rubbed my head on you you are mine.", "affection").coherence

    def test_reason_names_coherence(self):
        assert check("i want the food food.", "hunger").reason == "coherence: repeated word 'food'"


def test_reason_reports_first_failure_in_check_order():
    v = check("*Hello* I CAN HELP", "greeting")
    assert v.failed_checks()[0] == "lowercase"
    assert v.reason.startswith("lowercase:")
    assert set(v.failed_checks()) >= {"lowercase", "no_banned", "no_emoji_or_stage_direction"}


def test_non_string_input_fails_cleanly():
    v = check(None)  # type: ignore[arg-type]
    assert not v.ok and v.failed_checks() == CHECKS


def test_other_persona_uses_its_own_rules(otter):
    assert check("the river is cold. i hold my rock.", "rocks", persona=otter).ok
    assert not check("i hold my rock. the river. the water.", "rocks", persona=otter).length
    assert check("splash splash.", "swimming", persona=otter).ok
    assert not check("hunger is real", "hunger", persona=otter).ok
    # Miso's keyword is not the otter's
    assert not check("the bowl is empty, bring tuna now.", "rocks", persona=otter).topic


@settings(max_examples=400, deadline=None)
@given(st.text(), st.sampled_from([None, *MISO.categories, HARD_NEGATIVE, "nope"]))
def test_check_never_raises_and_is_consistent(text, category):
    v = check(text, category)
    assert isinstance(v.reason, str) and v.reason
    assert v.ok == all(getattr(v, name) for name in CHECKS)
    assert (v.reason == "ok") == v.ok


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(sorted(MISO.world_vocabulary)), min_size=1, max_size=8))
def test_lowercase_world_words_never_fail_lowercase_or_decoration(words):
    v = check(" ".join(words) + ".")
    assert v.lowercase and v.no_emoji_or_stage_direction and v.no_banned


def test_has_keyword(otter):
    assert MISO.has_keyword("the bowl is empty", "hunger")
    assert MISO.has_keyword("I was NAPPING", "naps")
    assert not MISO.has_keyword("this is his spot", "greeting")
    assert not MISO.has_keyword("anything", "nonsense_questions")
    assert not MISO.has_keyword("the bowl", "no_such_category")
    assert otter.has_keyword("a shiny pebble", "rocks")
