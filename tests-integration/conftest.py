"""Fixtures shared by the integration tests."""

from pathlib import Path

import pytest
from integration_helpers import cli


@pytest.fixture(scope="session")
def miso_data(tmp_path_factory) -> Path:
    """A small Miso dataset made by the real `meow-data generate`."""
    out = tmp_path_factory.mktemp("miso") / "data"
    cli("meow-data", "generate", "--n", "3000", "--seed", "0", "--out", out)
    return out
