"""Shared fixtures for meow-rules tests."""

from pathlib import Path

import pytest

from meow_rules import Persona, load_persona

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def otter() -> Persona:
    return load_persona(DATA / "otter.toml")
