"""The `meow-train` command line: fit a tokenizer, train a model, evaluate a model."""

from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import fields
from pathlib import Path

import click
from click.core import ParameterSource

from meow_model import CheckpointError, SamplingConfig
from meow_model import load_pretrained as load_numpy
from meow_model.pytorch import load_pretrained, pick_device
from meow_rules import MISO, REPORT_SUITES, SUITES, PersonaError, load_persona
from meow_train.__about__ import __version__
from meow_train.compare import CompareError, compare_reports, read_report
from meow_train.config import MIN_VOCAB_SIZE, TrainConfig
from meow_train.dataset import DatasetError, load_dataset
from meow_train.evaluate import DEFAULT_SAMPLING, evaluate_suites, format_report
from meow_train.plot import PlotError, plot_run
from meow_train.run_dir import RunDirError, saved_config
from meow_train.state import StateError
from meow_train.tokenizer_fit import fit_tokenizer
from meow_train.trainer import train

_PATH = click.Path(path_type=Path)
SEED = click.IntRange(0, 2**63 - 1)
# The run command's defaults are TrainConfig's, so the CLI and the Python API never disagree.
_D = {f.name: f.default for f in fields(TrainConfig)}
VOCAB = click.IntRange(MIN_VOCAB_SIZE, 1 << 18)  # the top is far above any character model's needs


def _finite(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """Click callback: FloatRange lets NaN and infinity through; refuse them here."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a finite number")
    return value


def _loss_weight(name: str, help: str):
    """A `--NAME` option for a finite loss weight >= 0 (0 turns that loss off)."""
    return click.option(
        f"--{name.replace('_', '-')}",
        type=click.FloatRange(min=0),
        callback=_finite,
        default=_D[name],
        show_default=True,
        help=help,
    )


@click.group()
@click.version_option(__version__, prog_name="meow-train")
def main() -> None:
    """Train and evaluate MeowLLM character models."""


@main.command("tokenizer")
@click.argument("data_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--vocab-size", type=VOCAB, default=2048, show_default=True)
@click.option("--out", type=_PATH, required=True, help="Where to write tokenizer.json.")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def tokenizer_cmd(data_dir: Path, vocab_size: int, out: Path, force: bool) -> None:
    """Fit the byte-level BPE tokenizer on DATA_DIR's train split."""
    if out.exists() and not force:
        raise click.ClickException(f"{out} already exists; pass --force to overwrite it")
    try:
        dataset = load_dataset(data_dir)
    except DatasetError as exc:
        raise click.ClickException(str(exc)) from None
    tokenizer = fit_tokenizer(dataset.train, vocab_size)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tokenizer.save(out)
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from None
    click.echo(
        f"wrote {out}: {tokenizer.vocab_size} tokens fitted on {len(dataset.train)} train samples"
    )


@main.command("run")
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Dataset directory.",
)
@click.option("--out", type=_PATH, required=True, help="Run directory (checkpoints, metrics).")
@click.option("--steps", type=click.IntRange(min=1), help="Stop after this many optimizer steps.")
@click.option(
    "--epochs",
    type=click.FloatRange(min=0, min_open=True),
    callback=_finite,
    help="Stop after this many passes over the data.",
)
@click.option(
    "--max-minutes",
    type=click.FloatRange(min=0, min_open=True),
    callback=_finite,
    help="Stop after this much training time (default 10 when no other limit is given).",
)
@click.option(
    "--batch-size", type=click.IntRange(1, 1 << 16), default=_D["batch_size"], show_default=True
)
@click.option(
    "--lr",
    type=click.FloatRange(min=0, min_open=True),
    callback=_finite,
    default=_D["lr"],
    show_default=True,
    help="Peak learning rate.",
)
@click.option(
    "--warmup-steps", type=click.IntRange(min=0), default=_D["warmup_steps"], show_default=True
)
@_loss_weight("topic_loss_weight", "Weight of the training-only topic head's loss (0: off).")
@_loss_weight(
    "prompt_loss_weight", "Weight of the next-token loss on the prompt's own text (0: reply only)."
)
@click.option(
    "--prompt-noise",
    type=click.FloatRange(min=0, max=1, max_open=True),
    default=_D["prompt_noise"],
    show_default=True,
    help="Share of prompt tokens replaced by random ones at each step (word dropout; 0: off).",
)
@click.option(
    "--d-model", type=click.IntRange(8, 1 << 14), default=_D["d_model"], show_default=True
)
@click.option(
    "--layers",
    "n_layers",
    type=click.IntRange(1, 1 << 10),
    default=_D["n_layers"],
    show_default=True,
)
@click.option(
    "--heads", "n_heads", type=click.IntRange(1, 1 << 10), default=_D["n_heads"], show_default=True
)
@click.option(
    "--ffn", "ffn_dim", type=click.IntRange(8, 1 << 16), default=_D["ffn_dim"], show_default=True
)
@click.option(
    "--context",
    "max_seq_len",
    type=click.IntRange(16, 1 << 14),
    default=_D["max_seq_len"],
    show_default=True,
)
@click.option(
    "--vocab-size",
    type=VOCAB,
    default=_D["vocab_size"],
    show_default=True,
    help="When fitting the tokenizer.",
)
@click.option(
    "--tokenizer",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Use this tokenizer.json instead of fitting one.",
)
@click.option(
    "--persona",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Persona TOML for evaluation (default: Miso).",
)
@click.option("--seed", type=SEED, default=_D["seed"], show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@click.option(
    "--precision",
    type=click.Choice(["auto", "fp32", "bf16"]),
    default="auto",
    show_default=True,
    help="auto: bf16 autocast on CUDA and on CPUs with native bf16.",
)
@click.option(
    "--compile",
    "compile_",
    is_flag=True,
    help="torch.compile the model (slow start, faster steps on GPU).",
)
@click.option(
    "--eval-every", type=click.IntRange(min=1), default=_D["eval_every"], show_default=True
)
@click.option(
    "--eval-limit",
    type=click.IntRange(min=1),
    help="Evaluate on only the first N selection-suite prompts during training.",
)
@click.option(
    "--log-every",
    type=click.IntRange(min=1),
    default=_D["log_every"],
    show_default=True,
    help="Steps between metrics.jsonl lines.",
)
@click.option(
    "--no-verify",
    "verify_data",
    flag_value=False,
    default=True,
    help="Train on a dataset whose files no longer match its manifest (recorded in meta.json).",
)
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last saved state.")
@click.option("--force", is_flag=True, help="Delete an existing --out and start over.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def run_cmd(**opts: object) -> None:
    """Train a model on a dataset; best/ is chosen on the persona's selection suite."""
    resume, force, quiet = opts.pop("resume"), opts.pop("force"), opts.pop("quiet")
    if resume and force:
        raise click.UsageError("--resume and --force contradict each other")
    opts["compile"] = opts.pop("compile_")
    try:
        if resume:
            opts = _resumed_options(opts)
        elif opts["steps"] is None and opts["epochs"] is None and opts["max_minutes"] is None:
            opts["max_minutes"] = 10.0
        pick_device(str(opts["device"]))
        cfg = TrainConfig(**opts)  # type: ignore[arg-type]
        result = train(cfg, resume=bool(resume), force=bool(force), quiet=bool(quiet))
    except (DatasetError, RunDirError, StateError, PersonaError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:  # a full disk or an unwritable --out
        where = f" {exc.filename}" if exc.filename else f" into {opts['out']}"
        raise click.ClickException(f"cannot write{where}: {exc.strerror or exc}") from None
    if result.interrupted:
        sys.exit(130)
    if int(os.environ.get("RANK", "0")) == 0:  # one plot per run, by the main process
        try:
            click.echo(f"training curves: {plot_run(cfg.out)}", err=True)
        except PlotError as exc:
            click.echo(f"no training plot: {exc}", err=True)


def _resumed_options(opts: dict[str, object]) -> dict[str, object]:
    """--resume: the run's saved configuration, with only the flags given on this command line.

    The trainer then refuses any given flag that would change what the run is (`--lr`, `--data`,
    `--d-model`, …) and logs the ones a run may change (`--steps`, `--eval-every`, …).
    """
    ctx = click.get_current_context()
    out = Path(str(opts["out"]))
    if not (out / "train_config.json").is_file():
        raise RunDirError(f"{out}: nothing to resume (no train_config.json)")
    saved = saved_config(out)
    merged = dict(opts)
    for name in opts:
        given = ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE
        if not given and name in saved:
            merged[name] = saved[name]
    for name in ("data", "out", "tokenizer", "persona"):
        merged[name] = Path(str(merged[name])) if merged[name] is not None else None
    return merged


@main.command("eval")
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.option(
    "--persona",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Persona TOML (default: Miso).",
)
@click.option(
    "--samples",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Replies per held-out prompt.",
)
@click.option(
    "--temperature",
    type=click.FloatRange(min=0),
    callback=_finite,
    default=DEFAULT_SAMPLING.temperature,
    show_default=True,
)
@click.option(
    "--top-k", type=click.IntRange(min=0), default=DEFAULT_SAMPLING.top_k, show_default=True
)
@click.option(
    "--top-p",
    type=click.FloatRange(0, 1, min_open=True),
    callback=_finite,
    default=DEFAULT_SAMPLING.top_p,
    show_default=True,
)
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    help="Dataset, for copy rate and closed-world fluency.",
)
@click.option("--device", default="auto", show_default=True)
@click.option(
    "--backend",
    type=click.Choice(["torch", "numpy"]),
    default="torch",
    show_default=True,
    help="Runtime that generates the replies (greedy reports are identical in both).",
)
@click.option(
    "--suite",
    "suites",
    type=click.Choice(SUITES),
    multiple=True,
    help=f"Held-out suite to run (repeatable; default: {', '.join(REPORT_SUITES)}).",
)
@click.option(
    "--json", "json_out", type=_PATH, help="Write the report here (default: MODEL_DIR/eval.json)."
)
def eval_cmd(model_dir: Path, persona: Path | None, samples: int, temperature: float, top_k: int, top_p: float, seed: int, data: Path | None, device: str, backend: str, suites: tuple[str, ...], json_out: Path | None) -> None:  # fmt: skip
    """Score MODEL_DIR's replies to the persona's held-out report suites.

    The selection suite, which chose best/ during training, is left out unless asked for: a
    figure measured on it flatters the model.
    """
    try:
        loaded = (
            load_numpy(model_dir)
            if backend == "numpy"
            else load_pretrained(model_dir, device=pick_device(device))
        )
        persona_obj = load_persona(persona) if persona else MISO
        train_replies = [e.output for e in load_dataset(data).train] if data else None
    except (CheckpointError, PersonaError, DatasetError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    sampling = SamplingConfig(
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        max_new_tokens=DEFAULT_SAMPLING.max_new_tokens,
    )
    report = evaluate_suites(
        loaded.model,
        loaded.tokenizer,
        persona_obj,
        samples,
        sampling,
        seed,
        train_replies,
        suites=tuple(dict.fromkeys(suites)) or REPORT_SUITES,
    )
    click.echo(format_report(report))
    out = json_out or model_dir / "eval.json"
    try:
        out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(
            f"cannot write the report to {out}: {exc} (choose another path with --json)"
        ) from None
    click.echo(f"report written to {out}")


@main.command("plot")
@click.argument("run_dir", type=_PATH)
@click.option("--out", type=_PATH, help="PNG to write (default: RUN_DIR/training.png).")
def plot_cmd(run_dir: Path, out: Path | None) -> None:
    """Draw a run's loss, val loss, learning rate and held-out pass rates (per category) as a PNG."""
    try:
        click.echo(f"wrote {plot_run(run_dir, out)}")
    except PlotError as exc:
        raise click.ClickException(str(exc)) from None


@main.command("compare")
@click.argument("run_a", type=_PATH)
@click.argument("run_b", type=_PATH)
def compare_cmd(run_a: Path, run_b: Path) -> None:
    """Print two runs' eval reports side by side (run dirs, model dirs or eval.json files)."""
    try:
        a, b = read_report(run_a), read_report(run_b)
    except CompareError as exc:
        raise click.ClickException(str(exc)) from None
    label_a, label_b = (p.parent.name if p.is_file() else p.name for p in (run_a, run_b))
    if label_a == label_b:
        label_a, label_b = str(run_a), str(run_b)
    click.echo(compare_reports(a, b, label_a, label_b))
