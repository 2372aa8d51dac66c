"""Character-fidelity evaluation: does the model stay in character on prompts it never saw?

Every prompt of one of the persona's held-out suites is answered K times (batched, KV-cached, a
different seed per sample) and each reply is scored with `meow_rules.check`. The report gives the
overall pass rate, one rate per check and per category, hard negatives on their own, the
distinct-reply rate, how often a friendly prompt got the assistant-trap dismissal and, given the
training data, how much the model copies and whether it speaks only in phrases it has seen
(closed-world fluency).

Suites (`meow_rules.SUITES`): training picks its checkpoint on `selection`; published figures
come from `report`, `unseen` and `unknown_words` only. An unknown-words prompt hinges on a word
the model never saw, so it is judged on graceful fallback — every check but topic passes and
the reply is not the dismissal — and its topic rate is reported apart.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from meow_model import ChatTokenizer, SamplingConfig, generate_batch
from meow_rules import (
    CHECKS,
    HARD_NEGATIVE,
    MISO,
    REPORT,
    REPORT_SUITES,
    UNKNOWN_WORDS,
    Persona,
    check,
)

DEFAULT_SAMPLING = SamplingConfig()  # meow-model's defaults, which meow-chat also uses


@dataclass(frozen=True)
class Scored:
    """One generated reply and its verdict."""

    prompt: str
    category: str
    sample: int
    reply: str
    failed: tuple[str, ...]
    reason: str
    dismissal: bool = False

    @property
    def graceful(self) -> bool:
        """In character whatever the topic: every check but topic passes, and no dismissal."""
        return not self.dismissal and all(name == "topic" for name in self.failed)


@dataclass
class EvalReport:
    """Aggregates over scored replies; `to_dict` is the JSON written by `meow-train eval`."""

    persona: str
    samples_per_prompt: int
    sampling: dict
    scored: list[Scored] = field(repr=False)
    train_replies: set[str] | None = field(default=None, repr=False)
    train_trigrams: set[tuple[str, ...]] | None = field(default=None, repr=False)
    suite: str = REPORT

    @property
    def pass_rate(self) -> float:
        return _rate(not s.failed for s in self.scored)

    def check_rates(self) -> dict[str, float]:
        return {name: _rate(name not in s.failed for s in self.scored) for name in CHECKS}

    def category_rates(self) -> dict[str, dict[str, float | int]]:
        groups: dict[str, list[Scored]] = defaultdict(list)
        for s in self.scored:
            groups[s.category].append(s)
        return {
            cat: {"pass_rate": _rate(not s.failed for s in rows), "replies": len(rows)}
            for cat, rows in groups.items()
        }

    def distinct_rate(self) -> float:
        return len({s.reply for s in self.scored}) / len(self.scored) if self.scored else 0.0

    def copy_rate(self) -> float | None:
        if self.train_replies is None:
            return None
        return _rate(s.reply in self.train_replies for s in self.scored)

    def closed_world_fluency(self) -> float | None:
        if self.train_trigrams is None:
            return None
        return _rate(_ngrams(s.reply) <= self.train_trigrams for s in self.scored)

    def to_dict(self) -> dict:
        hard = [s for s in self.scored if s.category == HARD_NEGATIVE]
        soft = [s for s in self.scored if s.category != HARD_NEGATIVE]
        fallback = (
            {
                "fallback_rate": _rate(s.graceful for s in self.scored),
                "topic_rate": _rate("topic" not in s.failed for s in self.scored),
            }
            if self.suite == UNKNOWN_WORDS
            else {}
        )
        return {
            "suite": self.suite,
            **fallback,
            "persona": self.persona,
            "prompts": len({(s.prompt, s.category) for s in self.scored}),
            "samples_per_prompt": self.samples_per_prompt,
            "replies": len(self.scored),
            "sampling": self.sampling,
            "pass_rate": self.pass_rate,
            "in_distribution_pass_rate": _rate(not s.failed for s in soft),
            "hard_negative_pass_rate": _rate(not s.failed for s in hard) if hard else None,
            "checks": self.check_rates(),
            "categories": self.category_rates(),
            "dismissal_rate": _rate(s.dismissal for s in soft),
            "distinct_reply_rate": self.distinct_rate(),
            "copy_rate": self.copy_rate(),
            "closed_world_fluency": self.closed_world_fluency(),
            "failures": [
                {"prompt": s.prompt, "category": s.category, "reply": s.reply, "reason": s.reason}
                for s in self.scored
                if s.failed
            ][:50],
        }


def _rate(flags) -> float:
    values = list(flags)
    return sum(values) / len(values) if values else 0.0


def _ngrams(text: str, n: int = 3) -> set[tuple[str, ...]]:
    words = text.split()
    size = min(n, len(words))
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)} if words else set()


def training_ngrams(replies: list[str]) -> set[tuple[str, ...]]:
    """Every word n-gram (trigrams, or shorter for short replies) of the training replies."""
    grams: set[tuple[str, ...]] = set()
    for reply in replies:
        words = reply.split()
        for size in range(1, 4):
            grams.update(tuple(words[i : i + size]) for i in range(len(words) - size + 1))
    return grams


def score(
    prompts: list[tuple[str, str]], replies: list[list[str]], persona: Persona = MISO
) -> list[Scored]:
    """Score `replies[k][i]` (sample k of prompt i) against the persona."""
    scored = []
    for k, sample in enumerate(replies):
        for (prompt, category), reply in zip(prompts, sample, strict=True):
            verdict = check(reply, category, persona)
            dismissal = category != HARD_NEGATIVE and persona.is_dismissal(reply)
            scored.append(
                Scored(
                    prompt, category, k, reply, verdict.failed_checks(), verdict.reason, dismissal
                )
            )
    return scored


def evaluate(
    model: Any,
    tokenizer: ChatTokenizer,
    persona: Persona = MISO,
    samples: int = 4,
    sampling: SamplingConfig = DEFAULT_SAMPLING,
    seed: int = 0,
    train_replies: list[str] | None = None,
    limit: int | None = None,
    suite: str = REPORT,
) -> EvalReport:
    """Generate `samples` replies per prompt of `suite` (seed + k for sample k) and score them."""
    prompts = [(p.prompt, p.category) for p in persona.suite(suite)][:limit]
    outputs = []
    for k in range(samples):
        cfg = replace(sampling, seed=seed + k)
        outputs.append(
            [r.text for r in generate_batch(model, tokenizer, [p for p, _ in prompts], cfg)]
        )
    sampling_info = {k: v for k, v in asdict(sampling).items() if k != "seed"} | {
        "seeds": [seed + k for k in range(samples)]
    }
    return EvalReport(
        persona=persona.name,
        samples_per_prompt=samples,
        sampling=sampling_info,
        scored=score(prompts, outputs, persona),
        suite=suite,
        train_replies=set(train_replies) if train_replies is not None else None,
        train_trigrams=training_ngrams(train_replies) if train_replies is not None else None,
    )


def evaluate_suites(
    model: Any,
    tokenizer: ChatTokenizer,
    persona: Persona = MISO,
    samples: int = 4,
    sampling: SamplingConfig = DEFAULT_SAMPLING,
    seed: int = 0,
    train_replies: list[str] | None = None,
    suites: tuple[str, ...] = REPORT_SUITES,
) -> dict:
    """Evaluate every non-empty suite in `suites`: the JSON `meow-train eval` writes."""
    # the training-data lookups are built once and shared by every suite's report
    replies = set(train_replies) if train_replies is not None else None
    trigrams = training_ngrams(train_replies) if train_replies is not None else None
    reports = {}
    for name in suites:
        if not persona.suite(name):
            continue
        report = evaluate(model, tokenizer, persona, samples, sampling, seed, suite=name)
        report.train_replies, report.train_trigrams = replies, trigrams
        reports[name] = report.to_dict()
    return {"persona": persona.name, "samples_per_prompt": samples, "suites": reports}


def format_report(report: dict) -> str:
    """A plain-text table of a suite report (`EvalReport.to_dict`) or of `evaluate_suites`."""
    if "suites" in report:
        return "\n\n".join(format_report(r) for r in report["suites"].values())
    lines = [
        f"persona {report['persona']}, suite {report.get('suite', REPORT)}: {report['prompts']} "
        f"held-out prompts x {report['samples_per_prompt']} samples = {report['replies']} replies",
    ]
    if "fallback_rate" in report:
        lines.append(f"  {'graceful fallback':<28}{report['fallback_rate']:8.1%}")
        lines.append(f"  {'on topic anyway':<28}{report['topic_rate']:8.1%}")
    lines += [
        f"  {'overall pass rate':<28}{report['pass_rate']:8.1%}",
        f"  {'in-distribution categories':<28}{report['in_distribution_pass_rate']:8.1%}",
        f"  {'dismissed a friendly prompt':<28}{report.get('dismissal_rate', 0.0):8.1%}",
    ]
    if report["hard_negative_pass_rate"] is not None:
        lines.append(f"  {'hard negatives':<28}{report['hard_negative_pass_rate']:8.1%}")
    lines += [
        "  per check:",
    ]
    lines += [f"    {name:<26}{rate:8.1%}" for name, rate in report["checks"].items()]
    lines.append("  per category:")
    lines += [
        f"    {cat:<26}{row['pass_rate']:8.1%}  ({row['replies']} replies)"
        for cat, row in sorted(report["categories"].items())
    ]
    lines.append(f"  {'distinct replies':<28}{report['distinct_reply_rate']:8.1%}")
    if report.get("copy_rate") is not None:
        lines.append(f"  {'copied from training data':<28}{report['copy_rate']:8.1%}")
        lines.append(f"  {'closed-world fluency':<28}{report['closed_world_fluency']:8.1%}")
    return "\n".join(lines)
