"""The notebooks run top to bottom in a real Jupyter kernel, and are committed without outputs.

Runs in the `notebooks` tox environment (nbclient, ipykernel, matplotlib). The training
notebook gets a small fixed step budget through MEOW_NOTEBOOK_STEPS.
"""

import json

import pytest
from integration_helpers import ROOT

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = ROOT / "notebooks"


def execute(name: str, tmp_path, monkeypatch, **env: str):
    for key, value in env.items():
        monkeypatch.setenv(key, value)  # the kernel inherits this process's environment
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=900,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    return notebook


def text_of(notebook) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                parts.append(output["text"])
            elif "data" in output and "text/plain" in output["data"]:
                parts.append(output["data"]["text/plain"])
    return "".join(parts)


def test_the_committed_notebooks_carry_no_outputs():
    names = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    assert names == ["chat_with_miso.ipynb", "train_miso.ipynb"]
    for name in names:
        raw = json.loads((NOTEBOOKS / name).read_text())
        for cell in raw["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, name


def test_the_chat_notebook_runs_and_miso_stays_in_character(tmp_path, monkeypatch):
    text = text_of(execute("chat_with_miso.ipynb", tmp_path, monkeypatch))
    assert "in character: True" in text
    assert "miso: " in text and text.split("miso: ", 1)[1].split("\n", 1)[0].strip()
    assert "temperature 0.0:" in text and "top_p 0.3:" in text


def test_the_training_notebook_runs_from_data_to_export(tmp_path, monkeypatch):
    work = tmp_path / "work"
    notebook = execute("train_miso.ipynb", tmp_path, monkeypatch, MEOW_NOTEBOOK_STEPS="60",
                       MEOW_NOTEBOOK_SAMPLES="3000", MEOW_NOTEBOOK_WORK=str(work))  # fmt: skip
    text = text_of(notebook)
    assert "trained 60 steps" in text
    for suite in ("report", "unseen", "unknown_words"):
        assert f"{suite}: pass rate " in text
    replies = [line for line in text.splitlines() if line.startswith("miso: ")]
    assert len(replies) == 4 and all(r[6:].strip() for r in replies)
    images = [
        o for c in notebook.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})
    ]
    assert len(images) == 1  # the training curves
    assert (work / "miso-hf" / "config.json").is_file() and (
        work / "run" / "training.png"
    ).is_file()
