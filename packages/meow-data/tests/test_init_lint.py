"""`meow-data init` scaffolds a character that generates at once; `lint` names each planted weakness."""

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from meow_data import GenerateConfig, generate, validate, write_dataset
from meow_data.cli import main
from meow_rules import load_persona


def init(tmp_path: Path, name: str, categories: str | None = None) -> Path:
    out = tmp_path / name
    args = ["init", name, "--out", str(out)] + (["--categories", categories] if categories else [])
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "meow-data lint" in result.output
    return out


def lint(out: Path, *extra: str):
    return CliRunner().invoke(
        main,
        ["lint", "--persona", str(out / "persona.toml"), "--banks", str(out / "banks"), *extra],
    )


@pytest.mark.parametrize(
    ("name", "categories"),
    [("juniper", None), ("bolt_9", "charging,deliveries"), ("fern", "rain,soil,snails,sun,moss")],
)
def test_init_makes_a_character_that_generates_and_validates_at_once(tmp_path, name, categories):
    out = init(tmp_path, name, categories)
    persona = load_persona(out / "persona.toml")
    wanted = (categories or "greeting,food,sleep").split(",")
    assert persona.name == name and list(persona.categories) == wanted
    assert sorted(p.name for p in (out / "banks").iterdir()) == sorted(
        ["_shared.toml", "hard_negative.toml", *(f"{c}.toml" for c in wanted)]
    )
    config = GenerateConfig(n=800, seed=0, persona=persona, banks_dir=out / "banks")
    write_dataset(generate(config), config, out / "data")
    report = validate(out / "data", persona)
    assert report.ok, report.problems[:3]
    text = (out / "persona.toml").read_text()
    assert "# " in text and "EDIT" in text  # the scaffold explains itself


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["init", "Juniper"], "must be lowercase letters"),
        (["init", "juniper", "--categories", "food,Food"], "category 'Food' must be"),
        (["init", "juniper", "--categories", "food,hard_negative"], "not hard_negative"),
        (["init", "juniper", "--categories", "food,food"], "must be distinct"),
        (["init", "juniper", "--categories", " , "], "at least one category"),
    ],
)
def test_init_refuses_bad_names(tmp_path, args, message):
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "c")])
    assert result.exit_code == 1 and message in result.output
    assert not (tmp_path / "c").exists()


def test_init_never_overwrites(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    result = CliRunner().invoke(main, ["init", "juniper", "--out", str(tmp_path / "mine")])
    assert result.exit_code == 1 and "init never overwrites" in result.output
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    assert not (tmp_path / "mine" / "persona.toml").exists()


def test_lint_names_the_thin_banks_of_a_fresh_scaffold(tmp_path):
    out = init(tmp_path, "juniper")
    result = lint(out)
    assert result.exit_code == 1
    food = str(out / "banks" / "food.toml")
    assert f"{food}: reply.cores: warning: only 4 distinct replies" in result.output
    assert f"{food}: prompt.templates: warning: only 4 prompt frames" in result.output
    assert f"{food}: prompt.slots: warning: only 4 distinct slot values" in result.output


NUMBERS = [
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
]
VERBS = [
    "do you like",
    "tell me about",
    "what about",
    "i love",
    "look at",
    "where is",
    "who ate",
    "i found",
    "can i have",
    "bring me",
    "is that",
    "we need",
    "enough with",
    "not again with",
    "show me",
]
ADJECTIVES = [
    "big",
    "small",
    "red",
    "blue",
    "old",
    "new",
    "wet",
    "dry",
    "hot",
    "cold",
    "soft",
    "hard",
    "long",
    "short",
    "loud",
    "quiet",
    "fast",
    "slow",
    "dark",
    "light",
    "sweet",
    "sour",
    "tall",
    "flat",
    "round",
    "sharp",
    "clean",
    "dirty",
    "warm",
    "cool",
]


def rich(out: Path, category: str, word: str) -> None:
    """Replace a bank with one that is not thin (12 cores, 15 templates, 30 slot values)."""
    cores = [f"{word} number {n} is mine" for n in NUMBERS]
    templates = [f"{verb} {{thing}}" for verb in VERBS]
    things = [f"{word} {adj}" for adj in ADJECTIVES]
    toml = (
        f'category = "{category}"\n[reply]\ncores = {cores}\n'
        f"[prompt]\ntemplates = {templates}\n[prompt.slots]\nthing = {things}\n"
    )
    (out / "banks" / f"{category}.toml").write_text(toml.replace("'", '"'))


def test_lint_is_quiet_on_a_good_bank_set_and_names_each_planted_weakness(tmp_path):
    out = init(tmp_path, "juniper", "food,sleep")
    rich(out, "food", "food")
    rich(out, "sleep", "sleep")
    rich(out, "hard_negative", "code")
    clean = lint(out)
    assert clean.exit_code == 0, clean.output
    assert "0 warning(s)" in clean.output

    persona = out / "persona.toml"
    persona.write_text(
        persona.read_text().replace('food = ["food"]', 'food = ["food", "umbrella"]')
    )
    sleep = out / "banks" / "sleep.toml"
    sleep.write_text(
        sleep.read_text()
        .replace('"show me {thing}"', '"show me {thing}", "tell me about {other}"')
        .replace("[prompt.slots]\n", '[prompt.slots]\nother = ["food big"]\n')
        .replace('"sleep number twelve is mine"',
                 '"sleep number twelve is mine", "sleep is a very long story that i will tell you all about right now if you sit very still"')
    )  # fmt: skip
    weak = lint(out)
    assert weak.exit_code == 1
    lines = weak.output.splitlines()
    assert (
        f"{persona}: categories.food: warning: keyword 'umbrella' appears in no reply of food.toml"
        in weak.output
    )
    assert any(
        line.startswith(f"{sleep}: reply.cores[12]: warning:")
        and "fails the persona's rules" in line
        for line in lines
    )
    assert any(
        re.match(
            rf"{re.escape(str(sleep))}: prompt.templates\[15\]: warning: .*'tell me about food big'.*food.toml prompt.templates\[1\]",
            line,
        )
        for line in lines
    )

    food = out / "banks" / "food.toml"
    food.write_text(food.read_text().replace('"show me {thing}"', '"show me {thing}", "{dish}"').replace(
        "[prompt.slots]\n", '[prompt.slots]\ndish = ["food again, huh"]\n'))  # fmt: skip
    noted = lint(out, "--notes")
    assert (
        f"{food}: prompt.templates[15]: note: '{{dish}}' can produce the held-out prompt 'food again, huh'"
        in noted.output
    )


def test_lint_reports_a_bank_the_loader_refuses_in_one_line(tmp_path):
    out = init(tmp_path, "juniper")
    bank = out / "banks" / "food.toml"
    bank.write_text(bank.read_text().replace('"i was just thinking about food",', '"I SHOUT",'))
    result = lint(out)
    assert result.exit_code == 1
    assert f"{bank}: reply.cores[3] 'I SHOUT' is invalid" in result.output
