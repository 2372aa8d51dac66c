"""meow-rules: the persona contract of MeowLLM.

A persona (voice limits, banned assistant-speak, category keywords, held-out eval prompts) is
data loaded from TOML; `check` scores a reply against it. Pure Python, no dependencies.

    >>> from meow_rules import check
    >>> check("the bowl is empty. this is an emergency.", "hunger").ok
    True
"""

from meow_rules.__about__ import __version__
from meow_rules.check import CHECKS, Verdict, check
from meow_rules.miso import MISO, MISO_PATH
from meow_rules.persona import (
    HARD_NEGATIVE,
    REPORT,
    REPORT_SUITES,
    SCHEMA_VERSION,
    SELECTION,
    SUITES,
    UNKNOWN_WORDS,
    UNSEEN,
    EvalPrompt,
    Persona,
    PersonaError,
    load_persona,
    normalize_prompt,
    persona_from_dict,
)

__all__ = [
    "CHECKS",
    "HARD_NEGATIVE",
    "MISO",
    "MISO_PATH",
    "REPORT",
    "REPORT_SUITES",
    "SCHEMA_VERSION",
    "SELECTION",
    "SUITES",
    "UNKNOWN_WORDS",
    "UNSEEN",
    "EvalPrompt",
    "Persona",
    "PersonaError",
    "Verdict",
    "__version__",
    "check",
    "load_persona",
    "normalize_prompt",
    "persona_from_dict",
]
