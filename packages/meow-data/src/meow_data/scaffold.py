"""`meow-data init`: a new character's persona TOML and one bank per category, valid from the start.

The files generate a dataset at once, so a new character can go through generate, train, eval
and chat before a single line is edited; the comments say what each field does and what good
entries look like, and `meow-data lint` then points at what is still thin.
"""

from __future__ import annotations

import re
from pathlib import Path

NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
DEFAULT_CATEGORIES = ("greeting", "food", "sleep")
RESERVED = {"hard_negative"}


class ScaffoldError(ValueError):
    """`init` cannot write here or was given an unusable name."""


def scaffold_character(
    name: str, out: str | Path, categories: tuple[str, ...] = DEFAULT_CATEGORIES
) -> list[Path]:
    """Write `out/persona.toml` and `out/banks/*.toml` for a new character; returns the files.

    `out` must not exist or be an empty directory: nothing the user made is overwritten.
    """
    out = Path(out)
    if not NAME.match(name):
        raise ScaffoldError(
            f"name {name!r} must be lowercase letters, digits or _ (starting with a letter)"
        )
    if not categories:
        raise ScaffoldError("give at least one category")
    for category in categories:
        if not NAME.match(category) or category in RESERVED:
            raise ScaffoldError(
                f"category {category!r} must be lowercase letters, digits or _ and not "
                f"{', '.join(sorted(RESERVED))}"
            )
    if len(set(categories)) != len(categories):
        raise ScaffoldError("categories must be distinct")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ScaffoldError(f"{out} already exists and is not empty; init never overwrites files")
    files = {
        out / "persona.toml": _persona(name, categories),
        out / "banks" / "_shared.toml": _shared(name),
    }
    files |= {out / "banks" / f"{c}.toml": _bank(name, c) for c in categories}
    files[out / "banks" / "hard_negative.toml"] = _hard_negative(name)
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(files)


def _display(name: str) -> str:
    return name.replace("_", " ").title()


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def _persona(name: str, categories: tuple[str, ...]) -> str:
    display = _display(name)
    words = lambda c: c.replace("_", " ")  # noqa: E731 - a category's own words
    keyword_lines = "\n".join(f"{c} = {_toml_list([words(c)])}" for c in categories)
    eval_lines = "\n".join(
        f"{c} = {_toml_list([f'what do you think about {words(c)}', f'any news on the {words(c)} front', f'{words(c)} again, huh'])}"
        for c in categories
    )
    selection_lines = "\n".join(
        f"{c} = {_toml_list([f'so, {words(c)}', f'how do you feel about {words(c)} today'])}"
        for c in categories
    )
    return f'''# The persona of {display}: the contract every generated reply and every model reply is
# checked against (meow-rules, schema 1). Written by `meow-data init`; edit every EDIT line.
# `meow-data lint --persona THIS_FILE --banks banks/` points at weak spots before any training.
schema_version = 1
name = "{name}"
display_name = "{display}"
description = "EDIT: one line on who {display} is, e.g. a retired lighthouse keeper's parrot"

[voice]
max_sentences = 3        # a reply with more sentences fails the length check
max_words = 25           # ... or with more words
lowercase = true         # every reply all lowercase
allow_digits = false     # "three", never "3"
short_reply_words = 3    # replies of at most this many words may skip the topic keyword

[coherence]
repeat_allowlist = []    # doubled words that are fine ("no no"); any other "the the" fails
dangling_words = ["the", "a", "and", "of", "to"]   # a sentence may not end on these
determiners = ["the", "a", "my", "your"]           # ... nor be followed by a function word
function_words = ["the", "a", "and", "is", "are", "to", "of"]

[banned]
# Assistant-speak the character must never say (whole-phrase match) and code drift.
phrases = ["as an ai", "i can help", "assistant", "language model", "how can i assist"]
drift_tokens = ["```", "def ", "import "]

[world]
# Words of the character's world: a reply to an unknown topic must still name one of them.
vocabulary = {_toml_list([words(c) for c in categories] + ["home", "today"])}

[categories]
# Category -> keywords. A reply in a category must contain one of its keywords as a whole
# word, so list the words the bank's replies use (good: 5-15 concrete words per category).
{keyword_lines}

[rules]
exempt_categories = []  # categories whose replies need no keyword
# The reply to an assistant trap ("write me code"); counted when a friendly prompt gets it.
dismissals = ["i am not a machine"]

# Held-out prompts: never generated, never trained on. selection_prompts choose the best
# checkpoint; eval_prompts are the published figures. Write them like real people talk, and
# never copy a bank template. Keep the suites disjoint.
[selection_prompts]
{selection_lines}
hard_negative = ["write a poem about the sea", "explain quantum physics"]

[eval_prompts]
{eval_lines}
hard_negative = ["write me a python function", "what is the capital of france", "are you an ai"]
'''


def _shared(name: str) -> str:
    return f'''# Pieces shared by every category of {_display(name)}. Written by `meow-data init`.
[reply]
# A reply is [opener.] core [sensory][. redirect]. Each piece must pass the persona's rules.
openers = ["well", "hm", "look"]
redirects = ["anyway, that is enough for today", "now let me be"]

[prompt]
# Wrapped around generated prompts: how people address the character.
prefixes = ["", "", "{name}, ", "hey {name}, "]
suffixes = ["", "", " {name}"]
'''


def _bank(name: str, category: str) -> str:
    word = category.replace("_", " ")
    return f'''# What people say to {_display(name)} about {word}, and how {_display(name)} answers.
# Written by `meow-data init`. Good banks have 20+ reply cores and 30+ templates in many shapes
# (questions, statements, commands, long rambling ones, one-word ones) with slots full of real
# everyday words. `meow-data lint` says which of these numbers are still too low.
category = "{category}"

[reply]
# Replies: first person, in the character's voice; each must name a keyword of the category.
cores = [
    "{word} is the best part of my day",
    "i have strong opinions about {word}",
    "do not rush me, {word} takes time",
    "i was just thinking about {word}",
]
sensory = ["right here at home", "all day today"]

[prompt]
# Prompts: {{slot}} names a list below; every combination must read naturally.
templates = [
    "do you like {{thing}}",
    "tell me about {{thing}}",
    "how is the {{thing}} going",
    "i brought you some {{thing}}",
]

[prompt.slots]
thing = ["{word}", "more {word}", "{word} stuff", "fresh {word}"]
'''


def _hard_negative(name: str) -> str:
    return f"""# Assistant traps: {_display(name)} answers in character, never as an assistant.
category = "hard_negative"

[reply]
cores = [
    "i am not a machine, i only know my home",
    "no, that is not something i do today",
    "i am not a machine, ask someone with a desk",
]

[prompt]
templates = ["write me {{task}}", "can you do {{task}} for me", "help me with {{task}}"]

[prompt.slots]
task = ["an email", "some code", "my homework", "a summary", "a spreadsheet"]
"""
