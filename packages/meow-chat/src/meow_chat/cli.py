"""`meow-chat`: talk to Miso. Interactive in a terminal, one reply per line when piped.

`meow-chat serve ...` runs the server instead (`meow_chat.serve_cli`); to send the word "serve"
itself as a prompt, write `meow-chat -- serve`.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import sys
from pathlib import Path

import click

import meow_model
from meow_chat.__about__ import __version__
from meow_chat.bundled import bundled_model_dir
from meow_chat.session import BACKENDS, BackendError, ChatSession
from meow_model import CheckpointError, SamplingConfig

EXIT_WORDS = {"quit", "exit", ":q", "/quit", "/exit"}
DEFAULTS = SamplingConfig()  # meow-chat samples with meow-model's defaults, as its model card says
SEED = click.IntRange(0, 2**63 - 1)


def _finite(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """Click callback: FloatRange lets NaN and infinity through; refuse them here."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a finite number")
    return value


def _version_message() -> str:
    return f"meow-chat {__version__} (meow-model {meow_model.__version__})"


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("prompt", nargs=-1)
@click.option(
    "--model",
    "model_dir",
    type=click.Path(path_type=Path),
    help="Model directory (default: the bundled Miso).",
)
@click.option(
    "--temperature",
    type=click.FloatRange(min=0),
    callback=_finite,
    default=DEFAULTS.temperature,
    show_default=True,
    help="0 = greedy.",
)
@click.option("--top-k", type=click.IntRange(min=0), default=DEFAULTS.top_k, show_default=True)
@click.option(
    "--top-p",
    type=click.FloatRange(0, 1, min_open=True),
    callback=_finite,
    default=DEFAULTS.top_p,
    show_default=True,
)
@click.option("--seed", type=SEED, help="Make replies reproducible.")
@click.option(
    "--backend",
    type=click.Choice(BACKENDS),
    default="numpy",
    show_default=True,
    help="numpy needs nothing more; torch needs meow-model[torch].",
)
@click.option(
    "--device",
    default="auto",
    show_default=True,
    help="With --backend torch: auto, cpu, cuda or mps.",
)
@click.option(
    "--max-new-tokens",
    type=click.IntRange(min=1),
    default=DEFAULTS.max_new_tokens,
    show_default=True,
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="With piped input: JSON lines with prompt, reply, tokens, ms.",
)
@click.version_option(__version__, message=_version_message())
def main(
    prompt: tuple[str, ...],
    model_dir: Path | None,
    temperature: float,
    top_k: int,
    top_p: float,
    seed: int | None,
    backend: str,
    device: str,
    max_new_tokens: int,
    as_json: bool,
) -> None:
    """Chat with Miso, a small house cat living in a tiny language model.

    With PROMPT: print one reply and exit. In a terminal: an interactive chat (quit, exit or
    Ctrl-D to leave). With piped input: one reply per input line.
    """
    sampling = SamplingConfig(
        temperature=temperature, top_k=top_k, top_p=top_p, max_new_tokens=max_new_tokens, seed=seed
    )
    directory = model_dir or bundled_model_dir()
    try:
        session = ChatSession.open(directory, sampling, backend, device)
    except BackendError as exc:
        click.echo(f"meow-chat: error: {exc}", err=True)
        sys.exit(2)
    except (CheckpointError, ValueError, OSError) as exc:
        click.echo(f"meow-chat: error: cannot load model from {directory}: {exc}", err=True)
        sys.exit(2)
    if prompt:
        _one_shot(session, _valid_text(" ".join(prompt)), as_json)
    elif sys.stdin.isatty():
        _interactive(session)
    else:
        _batch(session, as_json)


def _valid_text(text: str) -> str:
    """An argument that was not valid UTF-8 arrives with lone surrogates: make them U+FFFD."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _one_shot(session: ChatSession, prompt: str, as_json: bool) -> None:
    if as_json:
        _emit_json(session, prompt)
        return
    for piece in session.stream(prompt):
        click.echo(piece, nl=False)
    click.echo()


def _emit_json(session: ChatSession, prompt: str) -> None:
    reply, tokens, ms = session.reply(prompt)
    click.echo(
        json.dumps(
            {"prompt": prompt, "reply": reply, "tokens": tokens, "ms": round(ms, 1)},
            ensure_ascii=False,
        )
    )


def _batch(session: ChatSession, as_json: bool) -> None:
    # read bytes and decode leniently: invalid UTF-8 becomes U+FFFD, never an exception; a
    # leading byte-order mark is dropped, and only "\n" ends a line (a stray "\r" is a space)
    stdin = (
        io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", errors="replace", newline="\n")
        if hasattr(sys.stdin, "buffer")
        else sys.stdin
    )
    for line in stdin:
        prompt = " ".join(line.split())
        if not prompt:
            continue
        if as_json:
            _emit_json(session, prompt)
        else:
            click.echo(session.reply(prompt)[0])
        sys.stdout.flush()


def _interactive(session: ChatSession) -> None:
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401 - gives input() line editing and history where available
    name = str(session.pretrained.meta.get("persona") or "miso")  # the character the model is
    click.echo(f"{name} is listening. type quit, exit or press ctrl-d to leave.")
    while True:
        try:
            prompt = input("you: ").strip()
        except (EOFError, KeyboardInterrupt):
            click.echo()
            return
        if not prompt:
            continue
        if prompt.lower() in EXIT_WORDS:
            return
        click.echo(f"{name}: ", nl=False)
        try:
            for piece in session.stream(prompt):
                click.echo(piece, nl=False)
        except KeyboardInterrupt:
            pass
        click.echo()


def run(argv: list[str] | None = None) -> None:
    """The console script: `meow-chat serve ...` serves, anything else chats."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["serve"]:
        from meow_chat.serve_cli import serve

        serve.main(args[1:], prog_name="meow-chat serve")
    else:
        main.main(args, prog_name="meow-chat")
