"""The `meow-model` command: export a model directory to Hugging Face or GGUF."""

from __future__ import annotations

import time
from pathlib import Path

import click

from meow_model.directory import CheckpointError
from meow_model.export.gguf_file import export_gguf, modelfile_path
from meow_model.export.hf import export_hf
from meow_model.export.output import ExportError


@click.group()
@click.version_option(package_name="meow-model")
def main() -> None:
    """Tools for MeowLLM model directories."""


@main.command()
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["hf", "gguf"]),
    required=True,
    help="hf: a transformers LlamaForCausalLM directory; gguf: one file for llama.cpp/Ollama.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="Directory (hf) or file (gguf) to write.",
)
@click.option(
    "--dtype",
    type=click.Choice(["float32", "float16"]),
    default="float32",
    show_default=True,
    help="Weight precision of the export (float16 halves the size).",
)
@click.option("--force", is_flag=True, help="Replace an earlier export at --out.")
def export(model_dir: Path, fmt: str, out: Path, dtype: str, force: bool) -> None:
    """Export MODEL_DIR for transformers (--format hf) or llama.cpp and Ollama (--format gguf)."""
    started = time.perf_counter()
    try:
        if fmt == "hf":
            export_hf(model_dir, out, dtype=dtype, force=force)
        else:
            export_gguf(model_dir, out, dtype=dtype, force=force)
    except (ExportError, CheckpointError) as exc:
        raise click.ClickException(str(exc)) from None
    size = sum(p.stat().st_size for p in out.rglob("*")) if out.is_dir() else out.stat().st_size
    click.echo(f"wrote {out} ({size / 1e6:.2f} MB) in {time.perf_counter() - started:.2f} s")
    if fmt == "gguf":
        click.echo(f"wrote {modelfile_path(out)} (ollama create NAME -f {modelfile_path(out)})")
