"""The NumPy runtime's generation loops: a mirror of `meow_model.pytorch.generate`.

`generate_ids` prefills one prompt once, then feeds one token a step; `generate_rows` decodes a
left-padded batch together, dropping rows (and their cache) as they finish. Greedy replies equal
one-by-one generation and the PyTorch runtime's (tested).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.random import Generator, default_rng

from meow_model.numpy_model import NumpyModel
from meow_model.sampling import SamplingConfig, next_token, penalize_repeats
from meow_model.tokenizer import EOS_ID, PAD_ID

BATCH_SIZE = 64  # rows per batch of generate_batch: NumPy gains little from wider batches


def sampler(cfg: SamplingConfig, model: NumpyModel) -> Generator | None:
    """The random source of one generation call: seeded from `cfg.seed`, None when greedy."""
    return None if cfg.greedy or cfg.seed is None else default_rng(cfg.seed)


def generate_ids(
    model: NumpyModel, ids: list[int], cfg: SamplingConfig = SamplingConfig()
) -> Iterator[int]:
    """Yield reply token ids for an encoded prompt until `<eos>`, `max_new_tokens` or the context end."""
    rng = sampler(cfg, model)
    total = min(len(ids) + cfg.max_new_tokens, model.config.max_seq_len)
    cache = model.new_cache(1, total)
    logits = model.decode(np.array([ids]), cache)
    seen = None
    if cfg.repetition_penalty != 1.0:
        seen = np.zeros((1, model.config.vocab_size), dtype=bool)
        seen[0, ids] = True
    for step in range(total - len(ids)):
        if seen is not None:
            logits = penalize_repeats(logits, seen, cfg.repetition_penalty)
        value = int(next_token(logits, cfg, rng)[0])
        if value == EOS_ID:
            return
        yield value
        if step + 1 == total - len(ids):
            return
        if seen is not None:
            seen[0, value] = True
        logits = model.decode(np.array([[value]]), cache)


def generate_rows(
    model: NumpyModel, rows: list[list[int]], cfg: SamplingConfig, rng: Generator | None
) -> list[tuple[list[int], bool]]:
    b, width = len(rows), max(len(r) for r in rows)
    total = min(width + cfg.max_new_tokens, model.config.max_seq_len)
    ids = np.full((b, width), PAD_ID, dtype=np.int64)
    valid = np.zeros((b, total), dtype=bool)
    for i, row in enumerate(rows):
        ids[i, width - len(row) :] = row
        valid[i, width - len(row) : width] = True
    positions = np.clip(valid[:, :width].cumsum(1) - 1, 0, None)
    causal = np.tril(np.ones((width, width), dtype=bool))
    # padding queries attend to themselves only, so no softmax row is empty
    mask = (causal[None] & valid[:, None, :width]) | np.eye(width, dtype=bool)[None]
    cache = model.new_cache(b, total)
    logits = model.decode(ids, cache, position_ids=positions, mask=mask)
    next_pos = positions[:, -1:] + 1
    seen = None
    if cfg.repetition_penalty != 1.0:
        seen = np.zeros((b, model.config.vocab_size), dtype=bool)
        np.put_along_axis(seen, ids, True, axis=1)
        seen[:, PAD_ID] = False
    active = np.arange(b)
    outputs: list[list[int]] = [[] for _ in range(b)]
    finished = [False] * b
    for step in range(total - width):
        if seen is not None:
            logits = penalize_repeats(logits, seen, cfg.repetition_penalty)
        tokens = next_token(logits, cfg, rng)
        done = tokens == EOS_ID
        for row, token, stop in zip(active.tolist(), tokens.tolist(), done.tolist(), strict=True):
            if stop:
                finished[row] = True
            else:
                outputs[row].append(token)
        if step + 1 == total - width or done.all():
            break
        if done.any():
            keep = np.flatnonzero(~done)
            active, tokens, next_pos, valid = (
                active[keep],
                tokens[keep],
                next_pos[keep],
                valid[keep],
            )
            cache.select(keep)
            if seen is not None:
                seen = seen[keep]
        if seen is not None:
            seen[np.arange(len(tokens)), tokens] = True
        valid[:, width + step] = True
        logits = model.decode(tokens[:, None], cache, position_ids=next_pos,
                              mask=valid[:, None, : width + step + 1])  # fmt: skip
        next_pos = next_pos + 1
    return list(zip(outputs, finished, strict=True))
