"""The `meow-data` command line: generate, validate and inspect datasets."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import click

from meow_data.__about__ import __version__
from meow_data.banks import BankError, load_banks
from meow_data.card import write_dataset_card
from meow_data.dataset import DatasetExistsError, write_dataset
from meow_data.generate import MAX_SAMPLES, GenerateConfig, generate
from meow_data.lint import lint_banks
from meow_data.scaffold import DEFAULT_CATEGORIES, ScaffoldError, scaffold_character
from meow_data.stats import dataset_stats
from meow_data.validate import validate
from meow_rules import MISO, Persona, PersonaError, load_persona

SEED = click.IntRange(0, 2**63 - 1)


def _finite(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """Click callback: FloatRange lets NaN and infinity through; refuse them here."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a finite number")
    return value


_PERSONA = click.option(
    "--persona",
    "persona_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Persona TOML file (default: Miso, bundled with meow-rules).",
)


def _persona(path: Path | None) -> Persona:
    if path is None:
        return MISO
    try:
        return load_persona(path)
    except PersonaError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
@click.version_option(__version__, prog_name="meow-data")
def main() -> None:
    """Generate, validate and inspect MeowLLM character datasets."""


@main.command("generate")
@click.option(
    "--n",
    "n",
    type=click.IntRange(1, MAX_SAMPLES),
    default=20_000,
    show_default=True,
    help="Samples to generate.",
)
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Dataset directory.",
)
@click.option(
    "--val-fraction",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    callback=_finite,
    default=0.05,
    show_default=True,
)
@_PERSONA
@click.option(
    "--banks",
    "banks_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Slot bank directory (default: the Miso banks bundled with meow-data).",
)
@click.option("--force", is_flag=True, help="Overwrite an existing dataset in --out.")
def generate_cmd(
    n: int,
    seed: int,
    out: Path,
    val_fraction: float,
    persona_path: Path | None,
    banks_dir: Path | None,
    force: bool,
) -> None:
    """Generate a dataset: train.jsonl, val.jsonl and manifest.json in --out."""
    config = GenerateConfig(
        n=n,
        seed=seed,
        val_fraction=val_fraction,
        persona=_persona(persona_path),
        banks_dir=banks_dir,
    )
    start = time.perf_counter()
    try:
        generated = generate(config)
        manifest = write_dataset(generated, config, out, force=force)
    except (BankError, DatasetExistsError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(
            f"cannot write the dataset to {out}: {exc.strerror or exc}"
        ) from None
    elapsed = time.perf_counter() - start
    counts, unique = manifest["counts"], manifest["unique"]
    click.echo(
        f"wrote {counts['total']} samples to {out} in {elapsed:.2f}s (persona {manifest['persona']}, seed {seed})"
    )
    click.echo(f"  {'category':<20} {'train':>7} {'val':>6}")
    for category, split in manifest["categories"].items():
        click.echo(f"  {category:<20} {split['train']:>7} {split['val']:>6}")
    click.echo(f"  {'total':<20} {counts['train']:>7} {counts['val']:>6}")
    click.echo(
        f"unique prompts {unique['inputs']} ({unique['normalized_inputs']} normalized), unique replies {unique['outputs']}"
    )
    rejected = ", ".join(f"{k} {v}" for k, v in manifest["rejections"].items()) or "none"
    click.echo(f"rejected during generation: {rejected}")


@main.command("validate")
@click.argument("target", type=click.Path(path_type=Path))
@_PERSONA
@click.option(
    "--max-problems",
    type=int,
    default=50,
    show_default=True,
    help="Problems to print (all are counted).",
)
def validate_cmd(target: Path, persona_path: Path | None, max_problems: int) -> None:
    """Check every line of a dataset file or directory; exit 1 on any problem."""
    report = validate(target, _persona(persona_path))
    for problem in report.problems[:max_problems]:
        click.echo(str(problem), err=True)
    if len(report.problems) > max_problems:
        click.echo(f"... and {len(report.problems) - max_problems} more", err=True)
    if not report.ok:
        click.echo(
            f"FAILED: {len(report.problems)} problem(s) in {report.rows} rows of {target}", err=True
        )
        raise SystemExit(1)
    click.echo(f"ok: {report.rows} rows in {target}")


@main.command("stats")
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "--top", type=int, default=10, show_default=True, help="Most repeated replies to list."
)
def stats_cmd(directory: Path, top: int) -> None:
    """Per-category counts, diversity of replies and the manifest of a dataset."""
    try:
        stats = dataset_stats(directory, top=top)
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    total = sum(stats.split_sizes.values())
    click.echo(
        f"{directory}: {total} samples ({', '.join(f'{k} {v}' for k, v in stats.split_sizes.items())})"
    )
    for category, count in stats.categories.items():
        click.echo(f"  {category:<20} {count:>7}  {count / total:6.1%}")
    click.echo(
        f"unique prompts {stats.unique_prompts} ({stats.unique_normalized_prompts} normalized), "
        f"unique replies {stats.unique_replies}"
    )
    click.echo(
        f"distinct-1 {stats.distinct_1:.4f}  distinct-2 {stats.distinct_2:.4f}  (of reply words)"
    )
    click.echo("most repeated replies:")
    for reply, count in stats.top_replies:
        click.echo(f"  {count:>5}  {reply}")
    click.echo("manifest:")
    click.echo(json.dumps(stats.manifest, indent=2, sort_keys=True))


@main.command("init")
@click.argument("name")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Directory to create.")
@click.option(
    "--categories",
    default=",".join(DEFAULT_CATEGORIES),
    show_default=True,
    help="Comma-separated topic categories.",
)
def init_cmd(name: str, out: Path, categories: str) -> None:
    """Scaffold a new character NAME: a persona TOML and one bank per category, valid at once."""
    wanted = tuple(c.strip() for c in categories.split(",") if c.strip())
    try:
        files = scaffold_character(name, out, wanted)
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from None
    for path in files:
        click.echo(f"wrote {path}")
    persona, banks = out / "persona.toml", out / "banks"
    click.echo(
        "next: edit the EDIT lines and the banks, then\n"
        f"  meow-data lint --persona {persona} --banks {banks}\n"
        f"  meow-data generate --persona {persona} --banks {banks} --out {out / 'data'}"
    )


@main.command("lint")
@_PERSONA
@click.option(
    "--banks",
    "banks_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Slot bank directory (default: the Miso banks bundled with meow-data).",
)
@click.option("--notes", is_flag=True, help="Also print notes (worth a look, not a problem).")
def lint_cmd(persona_path: Path | None, banks_dir: Path | None, notes: bool) -> None:
    """Point at weak banks before training; exit 1 when there is a warning."""
    persona = _persona(persona_path)
    try:
        banks = load_banks(banks_dir, persona)
    except BankError as exc:
        raise click.ClickException(str(exc)) from None
    findings = lint_banks(banks, persona)
    warnings = [f for f in findings if f.level == "warning"]
    for finding in findings:
        if finding.level == "warning" or notes:
            click.echo(str(finding))
    hidden = "" if notes else " (--notes shows them)"
    click.echo(
        f"{len(warnings)} warning(s), {len(findings) - len(warnings)} note(s){hidden} "
        f"in {len(banks)} banks",
        err=True,
    )
    if warnings:
        raise SystemExit(1)


@main.command("card")
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--force", is_flag=True, help="Replace an existing DATASET_CARD.md.")
def card_cmd(directory: Path, force: bool) -> None:
    """Write DIRECTORY/DATASET_CARD.md (Hub front matter) from the dataset's manifest."""
    try:
        click.echo(f"wrote {write_dataset_card(directory, force)}")
    except (FileNotFoundError, FileExistsError, ValueError, KeyError) as exc:
        raise click.ClickException(str(exc)) from None
