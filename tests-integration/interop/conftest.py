"""Fixtures for the interop suite: the bundled Miso exported by the real `meow-model export`.

Runs in the `interop` tox environment (transformers and llama-cpp-python installed); each test
module skips itself when its library is missing.
"""

from pathlib import Path

import pytest
from integration_helpers import cli

from meow_chat import bundled_model_dir
from meow_model import SamplingConfig, generate, load_pretrained
from meow_rules import MISO

GREEDY = SamplingConfig(temperature=0)


@pytest.fixture(scope="session")
def miso():
    return load_pretrained(bundled_model_dir())


@pytest.fixture(scope="session")
def report_prompts() -> list[str]:
    return [p.prompt for p in MISO.eval_prompts]


@pytest.fixture(scope="session")
def typed_prompts(report_prompts) -> list[str]:
    """The report prompts and a few typed the way people type: shouted, sentence case, padded,
    with a phone's curly apostrophe."""
    variants = [v for p in report_prompts[:20] for v in (p.upper(), p.capitalize(), f"  {p} \n")]
    curly = [p.replace("'", "\u2019") for p in report_prompts if "'" in p][:20]
    return report_prompts + variants + curly


@pytest.fixture(scope="session")
def greedy_replies(miso, report_prompts) -> dict[str, str]:
    """meow-model's own greedy replies: what every other runtime must reproduce."""
    return {p: generate(miso.model, miso.tokenizer, p, GREEDY).text for p in report_prompts}


def export_bundle(folder: Path, fmt: str, outputs: dict[str, str]) -> Path:
    """Export the bundled Miso with the real `meow-model export`, once per (name, dtype)."""
    for name, dtype in outputs.items():
        cli("meow-model", "export", bundled_model_dir(), "--format", fmt, "--out", folder / name,
            "--dtype", dtype)  # fmt: skip
    return folder


@pytest.fixture(scope="session")
def hf_exports(tmp_path_factory) -> Path:
    """The bundled Miso as Hugging Face directories hf/ (float32) and hf16/ (float16)."""
    return export_bundle(tmp_path_factory.mktemp("hf"), "hf", {"hf": "float32", "hf16": "float16"})


@pytest.fixture(scope="session")
def gguf_exports(tmp_path_factory) -> Path:
    """The bundled Miso as miso.gguf (float32) and miso-f16.gguf, each with its Modelfile."""
    outputs = {"miso.gguf": "float32", "miso-f16.gguf": "float16"}
    return export_bundle(tmp_path_factory.mktemp("gguf"), "gguf", outputs)
