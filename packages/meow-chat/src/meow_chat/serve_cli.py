"""`meow-chat serve`: run the OpenAI-compatible server and chat page on a model directory."""

from __future__ import annotations

import ipaddress
import socket
import sys
from pathlib import Path

import click

from meow_chat.bundled import bundled_model_dir
from meow_model import CheckpointError, load_pretrained

API_KEY_ENV = "MEOW_CHAT_API_KEY"


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--model",
    "model_dir",
    type=click.Path(path_type=Path),
    help="Model directory (default: the bundled Miso).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="0: any free port.",
)
@click.option(
    "--api-key",
    envvar=API_KEY_ENV,
    help=f"Demand 'Authorization: Bearer KEY' on every endpoint but /health (or ${API_KEY_ENV}).",
)
@click.option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    help="Allow browser pages from this origin to call the API (repeatable; off by default).",
)
@click.option(
    "--name",
    help="Model id in the API (default: miso for the bundled model, else the directory name).",
)
@click.option(
    "--workers", type=click.IntRange(1, 64), default=2, show_default=True,
    help="Replies generated at once.",
)  # fmt: skip
@click.option(
    "--queue-size", type=click.IntRange(0, 10_000), default=64, show_default=True,
    help="Requests that may wait for a worker; more are answered 503.",
)  # fmt: skip
def serve(
    model_dir: Path | None,
    host: str,
    port: int,
    api_key: str | None,
    cors_origins: tuple[str, ...],
    name: str | None,
    workers: int,
    queue_size: int,
) -> None:
    """Serve a model over OpenAI's chat-completions API, with a chat page at /."""
    try:
        import uvicorn

        from meow_chat.serve.app import create_app
        from meow_chat.serve.config import ServeConfig
    except ImportError:
        raise click.ClickException(
            "meow-chat serve needs the serve extra: pip install 'meow-chat[serve]'"
        ) from None
    directory = model_dir or bundled_model_dir()
    try:
        pretrained = load_pretrained(directory)
    except (CheckpointError, OSError) as exc:
        raise click.ClickException(f"cannot load model from {directory}: {exc}") from None
    try:
        config = ServeConfig(
            model_name=name or ("miso" if model_dir is None else directory.resolve().name),
            api_key=api_key,
            cors_origins=cors_origins,
            workers=workers,
            queue_size=queue_size,
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if api_key is None and not _is_loopback(host):
        click.echo(
            f"meow-chat: warning: serving on {host} without an API key: anyone who can reach this "
            f"machine can use it. Set --api-key or ${API_KEY_ENV}.",
            err=True,
        )
    try:
        sock = listen(host, port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    click.echo(
        f"Miso ({config.model_name}) is listening on http://{shown}:{bound}  "
        f"(chat page: /, OpenAI API: /v1, health: /health)"
    )
    sys.stdout.flush()
    server = uvicorn.Server(
        uvicorn.Config(create_app(pretrained, config), log_level="warning", access_log=False)
    )
    server.run(sockets=[sock])


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket for uvicorn (port 0: any free port).

    Made with an explicit IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted connections only
    when the listening socket says TCP, and without it every reply on a kept-alive connection
    waits ~40 ms for the client's delayed ACK (socket.create_server leaves the protocol 0).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock
