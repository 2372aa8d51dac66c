"""Data-parallel set-up for `torchrun`: gloo on CPU, NCCL on CUDA; single-process otherwise.

Restarted workers get a clean slate. torchrun shares its rendezvous TCP store with the workers and
keeps it for every attempt, but the default process group's keys carry no attempt number: after
`--max-restarts` brings the workers back, a rank can read the address its dead predecessor
published and wait on it (gloo: "Connection refused" until its 30-minute timeout). On one machine
(one torchrun agent, one restart count) each attempt's keys get their own prefix; across machines
the agents' counts can differ, so there the README's advice applies (export
`TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1` for torchrun: a fresh store per attempt).

Joining the group is also bounded in time: a worker that has not connected within
`MEOW_TRAIN_CONNECT_TIMEOUT` seconds says so and exits, so torchrun restarts the group or reports
the failure instead of the job hanging silently.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass

import torch
import torch.distributed as dist

CONNECT_TIMEOUT_ENV = "MEOW_TRAIN_CONNECT_TIMEOUT"
DEFAULT_CONNECT_TIMEOUT_S = 180.0  # torchrun's own rendezvous has already gathered every worker
CONNECT_TIMEOUT_EXIT = 75  # EX_TEMPFAIL: worth another attempt


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def init_world(device_type: str) -> World:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size == 1:
        return World()
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    backend = "nccl" if device_type == "cuda" else "gloo"
    if device_type == "cuda":
        torch.cuda.set_device(local)
    _join_within(connect_timeout(), backend, rank)
    return World(rank, size, local)


def connect_timeout() -> float:
    """Seconds a worker may take to join the process group (`MEOW_TRAIN_CONNECT_TIMEOUT`)."""
    raw = os.environ.get(CONNECT_TIMEOUT_ENV, "")
    if not raw:
        return DEFAULT_CONNECT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{CONNECT_TIMEOUT_ENV} must be a number of seconds > 0, got {raw!r}")
    return value


def _join_within(seconds: float, backend: str, rank: int) -> None:
    joined = threading.Event()

    def give_up() -> None:
        if not joined.wait(seconds):
            sys.stderr.write(
                f"meow-train: rank {rank} could not connect to the other workers within "
                f"{seconds:g} s ({CONNECT_TIMEOUT_ENV}); exiting so that torchrun can restart "
                "the group\n"
            )
            sys.stderr.flush()
            os._exit(CONNECT_TIMEOUT_EXIT)  # the handshake is stuck in C++: nothing else ends it

    threading.Thread(target=give_up, name="meow-train-connect", daemon=True).start()
    try:
        store = _store_of_this_attempt()
        if store is None:
            dist.init_process_group(backend=backend)
        else:
            size = int(os.environ["WORLD_SIZE"])
            dist.init_process_group(backend=backend, store=store, rank=rank, world_size=size)
    finally:
        joined.set()


def _store_of_this_attempt() -> dist.Store | None:
    """torchrun's shared store under a prefix of this attempt's own, on one machine; else None."""
    shared = os.environ.get("TORCHELASTIC_USE_AGENT_STORE") == "True"
    if not shared or os.environ.get("GROUP_WORLD_SIZE", "1") != "1":
        return None
    store, _, _ = next(dist.rendezvous("env://"))
    attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
    return dist.PrefixStore(f"meow-train/attempt-{attempt}", store)


def all_reduce_sum(value: torch.Tensor, world: World) -> torch.Tensor:
    if world.distributed:
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
    return value


def broadcast_flags(flags: list[bool], world: World) -> list[bool]:
    """Each flag true on every rank if it is true on any, in one collective (used to stop all
    ranks together)."""
    if not world.distributed:
        return flags
    t = torch.tensor([int(f) for f in flags])
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return [bool(v) for v in t.tolist()]


def rank0_value(value: int, world: World) -> int:
    """Rank 0's `value` on every rank (a decision all ranks must share, e.g. a planned length)."""
    if not world.distributed:
        return value
    t = torch.tensor([value if world.rank == 0 else 0])
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return int(t.item())


def barrier(world: World) -> None:
    if world.distributed:
        dist.barrier()


def shutdown(world: World) -> None:
    if world.distributed and dist.is_initialized():
        dist.destroy_process_group()
