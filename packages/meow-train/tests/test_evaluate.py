"""Evaluation report arithmetic on hand-made replies (no model needed)."""

import pytest

from meow_rules import HARD_NEGATIVE
from meow_train import EvalReport, format_report
from meow_train.evaluate import score

PROMPTS = [("are you hungry", "hunger"), ("write code", HARD_NEGATIVE)]
REPLIES = [
    ["the bowl is empty. bring tuna now.", "i am a cat, not a computer."],  # sample 0: both pass
    ["The bowl is empty.", "sure! here is the code: def f(): pass"],  # sample 1: both fail
]


@pytest.fixture
def report() -> dict:
    scored = score(PROMPTS, REPLIES)
    train = ["the bowl is empty. bring tuna now.", "i am a cat.", "the bowl is mine."]
    from meow_train.evaluate import training_ngrams

    return EvalReport(
        "miso", 2, {"temperature": 0.7}, scored, set(train), training_ngrams(train)
    ).to_dict()


def test_counts_and_rates(report):
    assert report["replies"] == 4 and report["prompts"] == 2
    assert report["pass_rate"] == 0.5
    assert report["in_distribution_pass_rate"] == 0.5
    assert report["hard_negative_pass_rate"] == 0.5
    assert report["categories"]["hunger"] == {"pass_rate": 0.5, "replies": 2}


def test_per_check_rates(report):
    checks = report["checks"]
    assert checks["lowercase"] == 0.75  # "The bowl is empty."
    assert checks["no_banned"] == 0.75  # "here is the", "def ", "()"
    assert checks["no_emoji_or_stage_direction"] == 0.75  # the parentheses
    assert checks["topic"] == 1.0  # a short reply and an exempt hard negative
    assert checks["length"] == 1.0


def test_diversity_copy_and_fluency(report):
    assert report["distinct_reply_rate"] == 1.0
    assert report["copy_rate"] == 0.25  # the first reply is verbatim training data
    # only the verbatim reply has every word trigram in the training replies ("cat," != "cat.")
    assert report["closed_world_fluency"] == 0.25


def test_failures_are_listed_with_reasons(report):
    reasons = {f["reply"]: f["reason"] for f in report["failures"]}
    assert reasons["The bowl is empty."].startswith("lowercase")
    assert (
        reasons["sure! here is the code: def f(): pass"] == "no_banned: banned phrase 'here is the'"
    )


def test_format_report(report):
    text = format_report(report)
    assert "overall pass rate" in text and "50.0%" in text
    assert "hard negatives" in text and "closed-world fluency" in text


def test_empty_training_data_gives_no_copy_figures():
    scored = score(PROMPTS, REPLIES[:1])
    d = EvalReport("miso", 1, {}, scored).to_dict()
    assert d["copy_rate"] is None and d["closed_world_fluency"] is None
    assert d["pass_rate"] == 1.0


UNKNOWN = [
    ("want some kedgeree", "hunger"),
    ("the schipperke barked", "dogs"),
    ("my decanter", "vet"),
]
UNKNOWN_REPLIES = [
    [
        "the bowl is empty. bring tuna now.",  # on topic: graceful and topical
        "i do not care about that. the sun spot is mine.",  # off topic but in character: graceful
        "i am not a machine, i am a cat.",  # the assistant-trap dismissal: not graceful
    ]
]


def test_unknown_words_suite_scores_graceful_fallback_and_topic_apart():
    scored = score(UNKNOWN, UNKNOWN_REPLIES)
    d = EvalReport("miso", 1, {}, scored, suite="unknown_words").to_dict()
    assert d["suite"] == "unknown_words"
    assert d["fallback_rate"] == pytest.approx(2 / 3)
    assert d["topic_rate"] == pytest.approx(1 / 3)
    assert d["dismissal_rate"] == pytest.approx(1 / 3)
    text = format_report(d)
    assert "graceful fallback" in text and "66.7%" in text


def test_a_dismissal_of_a_hard_negative_is_not_counted_against_the_model(report):
    assert report["dismissal_rate"] == 0.0  # "i am a cat, not a computer" answered "write code"
    assert "fallback_rate" not in report  # only the unknown-words suite is judged on fallback


def test_evaluate_suites_runs_the_report_suites_only(monkeypatch):
    import importlib

    evaluate_module = importlib.import_module("meow_train.evaluate")  # the module, not the function

    seen = []

    def fake_evaluate(model, tokenizer, persona, samples, sampling, seed, suite):
        seen.append(suite)
        scored = score([(p.prompt, p.category) for p in persona.suite(suite)][:1], [["hm."]])
        return EvalReport(persona.name, samples, {}, scored, suite=suite)

    monkeypatch.setattr(evaluate_module, "evaluate", fake_evaluate)
    result = evaluate_module.evaluate_suites(None, None, samples=1)
    assert seen == ["report", "unseen", "unknown_words"]
    assert list(result["suites"]) == seen and "selection" not in result["suites"]
    assert "suite unseen" in format_report(result)
