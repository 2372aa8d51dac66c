"""Each package's wheel, built with hatch, installs into a fresh venv with only its declared dependencies."""

import subprocess
import sys
import venv
from pathlib import Path

import pytest
from integration_helpers import ROOT

PACKAGES = ("meow-rules", "meow-data", "meow-model", "meow-train", "meow-chat")
SIBLINGS = {"meow-rules", "meow-data", "meow-model", "meow-train", "meow-chat"}


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("wheels")
    built = {}
    for name in PACKAGES:
        subprocess.run([sys.executable, "-m", "hatch", "build", "-t", "wheel", str(out)], cwd=ROOT / "packages" / name,
                       check=True, capture_output=True, timeout=300)  # fmt: skip
        built[name] = next(out.glob(f"{name.replace('-', '_')}-*.whl"))
    return built


def fresh_env(path: Path) -> Path:
    venv.create(path, with_pip=True)
    return path / "bin" / "python"


def install(python: Path, *wheels: Path) -> set[str]:
    subprocess.run(
        [python, "-m", "pip", "install", "-q", *map(str, wheels)],
        check=True,
        capture_output=True,
        timeout=900,
    )
    freeze = subprocess.run(
        [python, "-m", "pip", "list", "--format=freeze"], check=True, capture_output=True, text=True
    )
    return {line.split("==")[0].lower() for line in freeze.stdout.split()}


def imports(python: Path, module: str) -> None:
    subprocess.run([python, "-W", "ignore", "-c", f"import {module}; assert {module}.__all__ and {module}.__version__"],
                   check=True, capture_output=True, timeout=120)  # fmt: skip


def test_meow_rules_pulls_in_nothing(wheels, tmp_path):
    python = fresh_env(tmp_path / "rules")
    installed = install(python, wheels["meow-rules"]) - {"pip", "setuptools", "wheel"}
    assert installed == {"meow-rules"}
    imports(python, "meow_rules")


def test_meow_data_needs_only_rules_and_click(wheels, tmp_path):
    python = fresh_env(tmp_path / "data")
    installed = install(python, wheels["meow-rules"], wheels["meow-data"])
    assert "torch" not in installed and installed & SIBLINGS == {"meow-rules", "meow-data"}
    imports(python, "meow_data")


def test_meow_chat_needs_no_torch_data_or_train(wheels, tmp_path):
    python = fresh_env(tmp_path / "chat")
    installed = install(python, wheels["meow-model"], wheels["meow-chat"])
    assert installed & SIBLINGS == {"meow-model", "meow-chat"}
    assert "torch" not in installed, "meow-chat must chat on the NumPy runtime"
    imports(python, "meow_chat")
    reply = subprocess.run(
        [python.parent / "meow-chat", "--seed", "0", "hi miso"], capture_output=True, timeout=120
    )
    assert reply.returncode == 0 and reply.stdout.strip()


def test_meow_train_installs_with_model_and_rules(wheels, tmp_path):
    python = fresh_env(tmp_path / "train")
    installed = install(python, wheels["meow-rules"], wheels["meow-model"], wheels["meow-train"])
    assert installed & SIBLINGS == {"meow-rules", "meow-model", "meow-train"}
    imports(python, "meow_train")
