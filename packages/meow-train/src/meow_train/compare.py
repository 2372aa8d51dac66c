"""`meow-train compare`: two runs' eval reports side by side, with the difference.

A run is named by its run directory (its best/eval.json, as `meow-train eval RUN/best` writes
it), a model directory (its eval.json) or an eval report file. Rows: each suite's pass rate and
its checks, then each category, so a change shows where it came from.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPORT_FILE = "eval.json"


class CompareError(ValueError):
    """A run has no readable eval report."""


def find_report(path: str | Path) -> Path:
    path = Path(path)
    for candidate in (path, path / REPORT_FILE, path / "best" / REPORT_FILE):
        if candidate.is_file():
            return candidate
    raise CompareError(
        f"{path}: no eval report (looked for {path / REPORT_FILE} and "
        f"{path / 'best' / REPORT_FILE}); run `meow-train eval {path / 'best'}` first"
    )


def read_report(path: str | Path) -> dict[str, Any]:
    report_path = find_report(path)
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CompareError(f"{report_path}: not a readable eval report: {exc}") from None
    if not isinstance(report, dict) or not isinstance(report.get("suites"), dict):
        raise CompareError(f"{report_path}: not a meow-train eval report (no 'suites')")
    return report


def compare_reports(a: dict[str, Any], b: dict[str, Any], name_a: str, name_b: str) -> str:
    """A text table of every figure the two reports share, A, B and B - A in points."""
    rows: list[tuple[str, float | None, float | None]] = []
    suites_a, suites_b = a["suites"], b["suites"]
    for suite in [s for s in suites_a if s in suites_b] + [
        s for s in suites_b if s not in suites_a
    ]:
        sa, sb = suites_a.get(suite, {}), suites_b.get(suite, {})
        rows.append((f"{suite}: pass rate", sa.get("pass_rate"), sb.get("pass_rate")))
        for key in ("fallback_rate", "topic_rate", "dismissal_rate", "distinct_reply_rate"):
            if key in sa or key in sb:
                rows.append((f"{suite}: {key.replace('_', ' ')}", sa.get(key), sb.get(key)))
        for check in sorted(set(sa.get("checks", {})) | set(sb.get("checks", {}))):
            rows.append((f"{suite}: check {check}", sa.get("checks", {}).get(check),
                         sb.get("checks", {}).get(check)))  # fmt: skip
        cats_a, cats_b = sa.get("categories", {}), sb.get("categories", {})
        for cat in sorted(set(cats_a) | set(cats_b)):
            rows.append((f"{suite}: {cat}", cats_a.get(cat, {}).get("pass_rate"),
                         cats_b.get(cat, {}).get("pass_rate")))  # fmt: skip
    width = max(len(label) for label, _, _ in rows)
    col = max(len(name_a), len(name_b), 8)
    lines = [f"{'':<{width}}  {name_a:>{col}}  {name_b:>{col}}  {'change':>8}"]
    for label, va, vb in rows:
        change = f"{100 * (vb - va):+.1f}" if va is not None and vb is not None else ""
        lines.append(f"{label:<{width}}  {_pct(va):>{col}}  {_pct(vb):>{col}}  {change:>8}")
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"
