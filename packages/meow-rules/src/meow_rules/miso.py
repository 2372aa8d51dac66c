"""The bundled default persona, Miso, loaded from the package's own TOML file."""

from __future__ import annotations

from importlib.resources import as_file, files

from meow_rules.persona import Persona, load_persona

MISO_PATH = files("meow_rules") / "personas" / "miso.toml"


def _load_miso() -> Persona:
    with as_file(MISO_PATH) as path:
        return load_persona(path)


MISO: Persona = _load_miso()
"""Miso, the house cat: the default persona of every meow-rules function."""
