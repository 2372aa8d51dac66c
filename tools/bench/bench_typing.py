"""Bench `typing`: does Miso understand a prompt however it is typed?

The unseen-phrasings suite (or `--suite selection`, the one to decide a recipe on) is scored as
written and then retyped the way people type in a chat
box: Sentence case, SHOUTED, a phone's curly apostrophe, an emoji added, one word stretched
("hungryyy"), stray spaces around it. Each variant is scored like `meow-train eval` (meow-chat's
default sampling, `meow_rules.check`), with the same seeds as the text as written, so the drop
against it is the cost of that way of typing. The variants are seeded and deterministic.

    python tools/bench typing [--model DIR] [--samples 4] [--suite unseen]
"""

from __future__ import annotations

import argparse
import random
import re
from collections.abc import Callable
from dataclasses import replace

from common import report

from meow_chat import bundled_model_dir
from meow_model import SamplingConfig, generate_batch, load_pretrained
from meow_rules import MISO, check

EMOJI = ("😂", "😍", "🐱", "❤️", "😭", "🙄", "👀", "😺", "🥺", "✨")
_WORD = re.compile(r"\b[a-z]{3,}\b")


def _emoji(text: str, rng: random.Random) -> str:
    return f"{text} {rng.choice(EMOJI)}"


def _stretch(text: str, rng: random.Random) -> str:
    words = list(_WORD.finditer(text))
    if not words:
        return text
    w = rng.choice(words)
    return text[: w.end()] + w.group(0)[-1] * 3 + text[w.end() :]


VARIANTS: dict[str, Callable[[str, random.Random], str]] = {
    "as written": lambda t, _: t,
    "Sentence case": lambda t, _: t[:1].upper() + t[1:],
    "SHOUTED": lambda t, _: t.upper(),
    "curly apostrophe (phones)": lambda t, _: t.replace("'", "\u2019"),
    "emoji added": _emoji,
    "one word stretched": _stretch,
    "stray spaces": lambda t, _: f"  {t}   ",
}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench typing")
    parser.add_argument("--model", help="model directory (default: the bundled Miso)")
    parser.add_argument("--samples", type=int, default=4, help="samples per prompt")
    parser.add_argument("--suite", default="unseen", help="the persona's suite to retype")
    args = parser.parse_args(argv)
    miso = load_pretrained(args.model or bundled_model_dir())
    prompts = MISO.suite(args.suite)
    rows, results = [], {"suite": args.suite, "prompts": len(prompts), "samples": args.samples,
                         "variants": {}}  # fmt: skip
    baseline = None
    for name, retype in VARIANTS.items():
        rng = random.Random(0)
        typed = [retype(p.prompt, rng) for p in prompts]
        passed = 0
        for seed in range(args.samples):
            replies = generate_batch(
                miso.model, miso.tokenizer, typed, replace(SamplingConfig(), seed=seed)
            )
            passed += sum(
                check(r.text, p.category).ok for p, r in zip(prompts, replies, strict=True)
            )
        rate = passed / (len(prompts) * args.samples)
        baseline = rate if baseline is None else baseline
        results["variants"][name] = rate
        rows.append((name, f"{rate:6.1%}  ({(rate - baseline) * 100:+.1f} points)"))
    print(f"suite {args.suite}, {len(prompts)} prompts x {args.samples} samples, as typed:")
    report(f"typing-{args.suite}", rows, results)
    return 0
