"""The run directory: what `--force` may delete, and a lock so two runs never share one.

A directory becomes a MeowLLM run when training writes its marker file (`meow-run.json`) into
it. `--force` replaces only such a directory: anything else (a dataset, a home directory, `.`)
is refused, because deleting a user's files is never the answer to a typo in `--out`.

While a run trains it holds an advisory lock (`fcntl.flock`) on `RUN_DIR/.lock`, which records
the holder's pid. A second run into the same directory — even with `--force` or `--resume` — is
refused instead of interleaving metrics and checkpoints with the first. The kernel releases the
lock when the holder exits, so a crashed run never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path
from types import TracebackType

from meow_model import recover_directory
from meow_train.__about__ import __version__
from meow_train.config import TrainConfig
from meow_train.state import STATE_DIR

MARKER_FILE = "meow-run.json"
ELASTIC_RESTART_COUNT, ELASTIC_RUN_ID = "TORCHELASTIC_RESTART_COUNT", "TORCHELASTIC_RUN_ID"
LOCK_FILE = ".lock"
CONFIG_FILE = "train_config.json"
# What a resumed run may change: when to stop, how often to report, where to run. Everything
# else defines the run (data, optimisation, architecture, seed) and must stay as it was.
RESUME_ADJUSTABLE = frozenset(
    {
        "out",
        "steps",
        "epochs",
        "max_minutes",
        "eval_every",
        "eval_limit",
        "log_every",
        "device",
        "compile",
    }
)


class RunDirError(ValueError):
    """The run directory cannot be used as asked (exists without --resume/--force, is not a
    run, is in use by another run, or has nothing to resume)."""


class RunLock:
    """Exclusive advisory lock on a run directory, held for the life of a training run."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / LOCK_FILE
        self._fd: int | None = None

    @staticmethod
    def refuse_if_held(run_dir: Path) -> None:
        """Refuse a directory another run holds, without creating anything in it.

        Checked before the other refusals, so a busy directory is reported as busy (and not as,
        say, having nothing to resume because the other run has not saved yet).
        """
        try:
            fd = os.open(run_dir / LOCK_FILE, os.O_RDONLY)
        except OSError:
            return  # no lock file (or none we may read): nobody holds it, or __enter__ will say
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _in_use(run_dir, fd) from None
        finally:
            os.close(fd)  # closing drops the probe's own lock, if it got one

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            error = _in_use(self.path.parent, fd)
            os.close(fd)
            raise error from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _in_use(run_dir: Path, fd: int) -> RunDirError:
    holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
    return RunDirError(
        f"{run_dir} is in use by another training run (pid {holder}); "
        "wait for it to finish or choose another --out"
    )


def check_run_dir(run_dir: Path, resume: bool, force: bool) -> list[Path]:
    """Refuse what --resume / --force cannot do with RUN_DIR; return what --force would delete.

    Changes nothing, so a refused `--out` (a dataset, `.`) is left exactly as it was.
    """
    if run_dir.exists() and not run_dir.is_dir():
        raise RunDirError(f"{run_dir} exists and is not a directory")
    content = [p for p in run_dir.iterdir() if p.name != LOCK_FILE] if run_dir.exists() else []
    if resume:
        if not (run_dir / STATE_DIR / "state.json").is_file() and not any(
            p.name.startswith(f".{STATE_DIR}-") for p in content
        ):
            hint = (
                "; it was stopped before its first checkpoint: start it again without --resume"
                if _never_checkpointed(run_dir)
                else ""
            )
            raise RunDirError(f"{run_dir}: nothing to resume (no {STATE_DIR}/state.json){hint}")
        return []
    if content and _never_checkpointed(run_dir):
        return content  # a run stopped during start-up (Ctrl-C): nothing trained to lose
    if content and not force:
        raise RunDirError(
            f"{run_dir} already exists and is not empty; pass --resume to continue it or --force to overwrite it"
        )
    if content and not (run_dir / MARKER_FILE).is_file():
        raise RunDirError(
            f"{run_dir} is not a MeowLLM run directory (no {MARKER_FILE}); --force only "
            "replaces earlier runs. Choose an empty or new --out, or remove it yourself"
        )
    return content


def _never_checkpointed(run_dir: Path) -> bool:
    """A MeowLLM run that was stopped before it saved any weights or training state."""
    return (run_dir / MARKER_FILE).is_file() and not any(
        p.name.startswith((STATE_DIR, "best", "last", f".{STATE_DIR}-", ".best-", ".last-"))
        for p in run_dir.iterdir()
    )


def prepare_run_dir(run_dir: Path, resume: bool, force: bool) -> None:
    """Under the run's lock: check RUN_DIR again, clear it for --force, and mark it as a run."""
    content = check_run_dir(run_dir, resume, force)
    if resume:
        recover_directory(run_dir / STATE_DIR)
        if not (run_dir / STATE_DIR / "state.json").is_file():
            raise RunDirError(f"{run_dir}: nothing to resume (no {STATE_DIR}/state.json)")
    else:
        for path in content:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    run_dir.mkdir(parents=True, exist_ok=True)
    marker = {"kind": "meow-train run", "meow_train_version": __version__}
    if job := os.environ.get(ELASTIC_RUN_ID):
        marker["torchelastic_run_id"] = job
    (run_dir / MARKER_FILE).write_text(json.dumps(marker) + "\n", encoding="utf-8")


def elastic_restart_can_resume(run_dir: Path) -> bool:
    """True when torchrun restarted this job's workers and the job's own run has a saved state.

    torchrun (`--max-restarts N`) restarts every worker with the same command line after one
    dies; the restarted workers continue the run their first attempt started (recorded in
    the run's marker with torchrun's run id) instead of refusing its directory.
    """
    if int(os.environ.get(ELASTIC_RESTART_COUNT, "0")) < 1:
        return False
    try:
        marker = json.loads((run_dir / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    same_job = marker.get("torchelastic_run_id") == os.environ.get(ELASTIC_RUN_ID)
    has_state = (run_dir / STATE_DIR / "state.json").is_file() or any(
        run_dir.glob(f".{STATE_DIR}-old-*")
    )
    return same_job and has_state


def saved_config(run_dir: Path) -> dict:
    """The configuration a run was started with (`RUN_DIR/train_config.json`)."""
    path = run_dir / CONFIG_FILE
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunDirError(f"{path}: cannot read the run's configuration: {exc}") from None
    if not isinstance(saved, dict):
        raise RunDirError(f"{path}: not a JSON object")
    return saved


def check_resume_config(cfg: TrainConfig, run_dir: Path) -> dict[str, tuple[object, object]]:
    """Refuse a resume that would change what the run is; return the adjustable changes.

    A different dataset, learning rate, batch size, seed or shape would make the saved run a mix
    of two runs recorded as one, so it is an error naming each flag; a longer `--steps` or another
    `--eval-every` is allowed and returned as {field: (was, now)} for the log.
    """
    saved = saved_config(run_dir)
    now = cfg.to_dict()
    conflicts, changes = [], {}
    for name, value in now.items():
        if name not in saved or _same(name, saved[name], value):
            continue
        if name in RESUME_ADJUSTABLE:
            changes[name] = (saved[name], value)
        else:
            flag = "--" + name.replace("_", "-")
            conflicts.append(f"{flag} {value} (this run was started with {saved[name]})")
    if conflicts:
        raise RunDirError(
            f"{run_dir}: --resume continues the run as it was started; refusing "
            + "; ".join(conflicts)
            + ". Start a new run (another --out) to change these"
        )
    return changes


def _same(name: str, a: object, b: object) -> bool:
    if name in _PATH_FIELDS and isinstance(a, str) and isinstance(b, str):
        return Path(a).resolve() == Path(b).resolve()
    return a == b


_PATH_FIELDS = frozenset({"data", "out", "tokenizer", "persona"})


def relative_to_run(path: str | Path, run_dir: Path) -> str:
    """`path` as seen from the run directory, so checkpoint metadata names no machine path."""
    return os.path.relpath(Path(path).resolve(), run_dir.resolve())


def portable_config(cfg: TrainConfig, run_dir: Path) -> dict:
    """The configuration for meta.json: every path relative to the run directory."""
    return {
        name: relative_to_run(value, run_dir) if name in _PATH_FIELDS and value else value
        for name, value in cfg.to_dict().items()
    }
