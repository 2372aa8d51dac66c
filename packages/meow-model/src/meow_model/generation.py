"""`generate`, `generate_batch` and `stream` for either runtime: the model's type picks the loops.

A `NumpyModel` runs `numpy_generate`; anything else is taken for a PyTorch `MeowForCausalLM` and
runs `meow_model.pytorch.generate`, imported only then, so code that only ever sees NumPy models
never imports PyTorch. Each runtime provides `generate_ids` (one prompt, token by token),
`generate_rows` (a batch), `sampler` (the call's random source) and `BATCH_SIZE`.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

from meow_model import numpy_generate
from meow_model.numpy_model import NumpyModel
from meow_model.replies import Reply, encode_prompts, prompt_ids
from meow_model.sampling import SamplingConfig
from meow_model.tokenizer import ChatTokenizer


def _runtime(model: Any) -> ModuleType:
    if isinstance(model, NumpyModel):
        return numpy_generate
    from meow_model.pytorch import generate as torch_generate

    return torch_generate


class ReplyStream(Iterator[str]):
    """The reply to one prompt as text pieces, never splitting a UTF-8 character.

    Iterate it for the pieces; meanwhile `token_ids` grows, and once it is exhausted `finished`
    says how it ended (True: the model wrote `<eos>`; False: it hit `max_new_tokens` or the end
    of the context). Stopping early is simply not asking for the next piece.
    """

    def __init__(
        self, model: Any, tokenizer: ChatTokenizer, prompt: str, cfg: SamplingConfig
    ) -> None:
        ids = prompt_ids(tokenizer, prompt, model.config.max_seq_len, cfg.max_new_tokens)
        self.prompt_tokens = len(ids)
        self.token_ids: list[int] = []
        self.finished: bool | None = None  # None until the reply has ended
        self._limit = min(cfg.max_new_tokens, model.config.max_seq_len - len(ids))
        self._tokens = _runtime(model).generate_ids(model, ids, cfg)
        self._decoder = tokenizer.stream_decoder()

    def __iter__(self) -> ReplyStream:
        return self

    def __next__(self) -> str:
        for token in self._tokens:
            self.token_ids.append(token)
            if piece := self._decoder.step(token):
                return piece
        if self.finished is None:
            self.finished = len(self.token_ids) < self._limit
        raise StopIteration


def stream(
    model: Any, tokenizer: ChatTokenizer, prompt: str, cfg: SamplingConfig = SamplingConfig()
) -> ReplyStream:
    """The reply to `prompt` piece by piece, never splitting a UTF-8 character (a `ReplyStream`)."""
    return ReplyStream(model, tokenizer, prompt, cfg)


def generate(
    model: Any, tokenizer: ChatTokenizer, prompt: str, cfg: SamplingConfig = SamplingConfig()
) -> Reply:
    """The whole reply to one prompt."""
    ids = prompt_ids(tokenizer, prompt, model.config.max_seq_len, cfg.max_new_tokens)
    out = list(_runtime(model).generate_ids(model, ids, cfg))
    limit = min(cfg.max_new_tokens, model.config.max_seq_len - len(ids))
    return Reply(tokenizer.decode(out).strip(), out, len(ids), len(out) < limit)


def generate_batch(
    model: Any,
    tokenizer: ChatTokenizer,
    prompts: list[str],
    cfg: SamplingConfig = SamplingConfig(),
    batch_size: int | None = None,
) -> list[Reply]:
    """Replies to many prompts, `batch_size` rows at a time (default: the runtime's), in input order.

    Prompts are grouped by length to limit padding, left-padded and KV-cached; greedy replies
    equal one-by-one generation. One random source seeded from `cfg.seed` drives the whole call,
    so the same prompts and seed give the same replies.
    """
    runtime = _runtime(model)
    encoded = encode_prompts(tokenizer, prompts, model.config.max_seq_len, cfg.max_new_tokens)
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
    rng = runtime.sampler(cfg, model)
    size = batch_size or runtime.BATCH_SIZE
    replies: list[Reply | None] = [None] * len(prompts)
    for start in range(0, len(order), size):
        chunk = order[start : start + size]
        outs = runtime.generate_rows(model, [encoded[i] for i in chunk], cfg, rng)
        for i, (tokens, finished) in zip(chunk, outs, strict=True):
            replies[i] = Reply(tokenizer.decode(tokens).strip(), tokens, len(encoded[i]), finished)
    return replies  # type: ignore[return-value]
