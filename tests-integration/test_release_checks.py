"""tools/check_versions.py: passes on this repository, and catches each kind of API breach."""

import re
import shutil
import subprocess
import sys

from integration_helpers import ROOT

CHECK = ROOT / "tools" / "check_versions.py"


def run(root=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(CHECK), *([str(root)] if root else [])],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_repository_passes():
    result = run()
    assert result.returncode == 0, result.stdout
    assert "meow-rules 1." in result.stdout


def test_breaches_are_reported(tmp_path):
    for name in ("meow-rules", "meow-data"):
        shutil.copytree(
            ROOT / "packages" / name,
            tmp_path / "packages" / name,
            ignore=shutil.ignore_patterns("tests", "banks"),
        )
    (tmp_path / "tests-integration").mkdir()
    (tmp_path / "tests-integration" / "test_x.py").write_text(
        "from meow_rules.check import _banned\n"
    )
    data = tmp_path / "packages" / "meow-data"
    pyproject = data / "pyproject.toml"
    text, pins = re.subn(r'"meow-rules~=1\.\d+"', '"meow-rules~=2.0"', pyproject.read_text())
    assert pins == 1, "meow-data's pyproject no longer pins meow-rules ~=1.x"
    pyproject.write_text(text)
    init = data / "src" / "meow_data" / "__init__.py"
    init.write_text(
        init.read_text().replace("__all__ = [", "_hidden = [")
        + "\nfrom meow_rules.persona import Persona\n"
    )
    result = run(tmp_path)
    assert result.returncode == 1
    out = result.stdout
    assert "'meow-rules~=2.0' does not admit meow-rules 1." in out
    assert "meow_data/__init__.py: no __all__" in out
    assert "imports private module meow_rules.persona" in out
    assert "test_x.py:1: imports private module meow_rules.check" in out
