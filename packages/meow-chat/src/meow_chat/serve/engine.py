"""Generation for the server: worker threads over one shared model, admission control, cancelling.

The NumPy model's weights are read-only and each reply builds its own KV cache, so replies run
in parallel threads without sharing mutable state (NumPy's matrix products release the GIL).
At most `workers` replies run at once and `queue_size` more wait; beyond that `admit` refuses at
once with 503, before any work is queued. A streamed reply checks its cancel flag before every
piece, so a client that disconnects stops its generation within one token.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from meow_chat.serve.chat_request import ChatRequest
from meow_chat.serve.config import ServeConfig
from meow_chat.serve.errors import APIError
from meow_chat.serve.stops import StopFilter
from meow_model import Pretrained, stream


@dataclass
class Choice:
    index: int
    text: str = ""
    finish_reason: str = "length"
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class Counters:
    """What /health reports: requests running or waiting now, and totals since start-up."""

    active: int = 0
    served: int = 0
    rejected_busy: int = 0
    cancelled: int = 0
    errors: int = 0
    tokens: int = 0
    # re-entrant: a stream's finalizer may release its ticket from the garbage collector while
    # the same thread already holds the lock
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def snapshot(self) -> dict[str, int]:
        with self.lock:
            return {k: v for k, v in vars(self).items() if k != "lock"}


class Ticket:
    """A request's place in the engine; `release` gives it back (once, however often called)."""

    def __init__(self, counters: Counters) -> None:
        self._counters = counters
        self._held = True

    def release(self) -> None:
        with self._counters.lock:
            if self._held:
                self._held = False
                self._counters.active -= 1


class Engine:
    def __init__(self, pretrained: Pretrained, config: ServeConfig) -> None:
        self.pretrained = pretrained
        self.config = config
        self.max_new_tokens = pretrained.model.config.max_seq_len // 2
        self.counters = Counters()
        self._pool = ThreadPoolExecutor(config.workers, thread_name_prefix="meow-chat-serve")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def reserve(self) -> Ticket:
        """Take one of the `workers + queue_size` places for a request, or refuse with 503."""
        with self.counters.lock:
            if self.counters.active >= self.config.workers + self.config.queue_size:
                self.counters.rejected_busy += 1
                raise APIError(
                    503,
                    "the server is busy: too many requests are running or waiting; retry shortly",
                    "server_busy",
                    headers={"Retry-After": "1"},
                )
            self.counters.active += 1
        return Ticket(self.counters)

    @contextmanager
    def admit(self) -> Iterator[None]:
        """`reserve` for the length of a `with` block."""
        ticket = self.reserve()
        try:
            yield
        finally:
            ticket.release()

    async def complete(
        self, request: ChatRequest, cancel: threading.Event | None = None
    ) -> list[Choice]:
        """Every choice of a non-streamed request, generated on a worker thread.

        Setting `cancel` (the client went away) stops the generation within one token.
        """
        loop = asyncio.get_running_loop()
        cancel = cancel or threading.Event()
        job = loop.run_in_executor(self._pool, self._run, request, None, cancel)
        try:
            choices = await job
        except asyncio.CancelledError:
            cancel.set()
            job.cancel()
            raise
        except Exception:
            self._add_count("errors")
            raise
        if cancel.is_set():
            self._add_count("cancelled")
        else:
            self._count(choices)
        return choices

    async def stream(self, request: ChatRequest) -> AsyncIterator[tuple[int, str] | list[Choice]]:
        """Yield (choice index, text) as it is generated, then the finished choices.

        Closing the iterator early (a client that went away) cancels the generation; an error
        in the generation is raised from here after the pieces before it.
        """
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
        cancel = threading.Event()

        def emit(index: int, text: str) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, (index, text))

        job = loop.run_in_executor(self._pool, self._run, request, emit, cancel)
        getter: asyncio.Future | None = None
        outcome = "cancelled"
        try:
            while True:
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, job}, return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    yield getter.result()
                    continue
                getter.cancel()
                while not queue.empty():
                    yield queue.get_nowait()
                try:
                    choices = job.result()
                except Exception:
                    outcome = "errors"
                    raise
                outcome = "served"
                self._count(choices)
                yield choices
                return
        finally:
            if getter is not None and not getter.done():
                getter.cancel()  # or the loop keeps a pending queue.get() task per disconnect
            if outcome != "served":
                cancel.set()
                job.cancel()  # a request still waiting for a worker never starts
                self._add_count(outcome)

    def _add_count(self, name: str) -> None:
        with self.counters.lock:
            setattr(self.counters, name, getattr(self.counters, name) + 1)

    def _count(self, choices: list[Choice]) -> None:
        with self.counters.lock:
            self.counters.served += 1
            self.counters.tokens += sum(c.completion_tokens for c in choices)

    def _run(
        self,
        request: ChatRequest,
        emit: Callable[[int, str], None] | None,
        cancel: threading.Event | None,
    ) -> list[Choice]:
        choices: list[Choice] = []
        for index in range(request.n):
            if cancel is not None and cancel.is_set():
                return choices
            sampling = request.sampling
            if sampling.seed is not None:  # each choice its own, reproducible seed
                sampling = replace(sampling, seed=sampling.seed + index)
            pieces = stream(
                self.pretrained.model, self.pretrained.tokenizer, request.prompt, sampling
            )
            choice = Choice(index, prompt_tokens=pieces.prompt_tokens)
            stops = StopFilter(request.stop)
            for piece in pieces:
                if cancel is not None and cancel.is_set():
                    return choices
                self._add(choice, stops.feed(piece), emit)
                if stops.stopped:
                    choice.finish_reason = "stop"
                    break
            else:
                self._add(choice, stops.flush(), emit)
                choice.finish_reason = "stop" if pieces.finished else "length"
            choice.completion_tokens = len(pieces.token_ids)
            choices.append(choice)
        return choices

    @staticmethod
    def _add(choice: Choice, text: str, emit: Callable[[int, str], None] | None) -> None:
        if text:
            choice.text += text
            if emit is not None:
                emit(choice.index, text)
