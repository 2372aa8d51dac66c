"""The PyTorch runtime's generation loops, with a KV cache (mirrored by `meow_model.numpy_generate`).

`generate_ids` prefills one prompt once, then feeds one token a step; `generate_rows` decodes a
left-padded batch together, dropping rows (and their cache) as they finish. `meow_model.generate`,
`generate_batch` and `stream` build on these two for whichever runtime the model belongs to.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from meow_model.pytorch.model import MeowForCausalLM
from meow_model.pytorch.sampling import next_token, penalize_repeats
from meow_model.sampling import SamplingConfig
from meow_model.tokenizer import EOS_ID, PAD_ID

BATCH_SIZE = 256  # rows per batch of generate_batch


def sampler(cfg: SamplingConfig, model: MeowForCausalLM) -> torch.Generator | None:
    """The random source of one generation call: seeded from `cfg.seed`, None when greedy."""
    if cfg.greedy or cfg.seed is None:
        return None
    return torch.Generator(device=_device(model)).manual_seed(cfg.seed)


def _device(model: MeowForCausalLM) -> torch.device:
    return model.model.embed_tokens.weight.device


@torch.inference_mode()
def generate_ids(
    model: MeowForCausalLM, ids: list[int], cfg: SamplingConfig = SamplingConfig()
) -> Iterator[int]:
    """Yield reply token ids for an encoded prompt until `<eos>`, `max_new_tokens` or the context end."""
    device = _device(model)
    generator = sampler(cfg, model)
    total = min(len(ids) + cfg.max_new_tokens, model.config.max_seq_len)
    cache = model.new_cache(1, total)
    logits = model.decode(torch.tensor([ids], device=device), cache)
    seen = None
    if cfg.repetition_penalty != 1.0:
        seen = torch.zeros(1, model.config.vocab_size, dtype=torch.bool, device=device)
        seen[0, ids] = True
    for step in range(total - len(ids)):
        if seen is not None:
            logits = penalize_repeats(logits, seen, cfg.repetition_penalty)
        token = next_token(logits, cfg, generator)
        value = int(token)
        if value == EOS_ID:
            return
        yield value
        if step + 1 == total - len(ids):
            return
        if seen is not None:
            seen[0, value] = True
        logits = model.decode(token, cache)


@torch.inference_mode()
def generate_rows(
    model: MeowForCausalLM,
    rows: list[list[int]],
    cfg: SamplingConfig,
    generator: torch.Generator | None,
) -> list[tuple[list[int], bool]]:
    device = _device(model)
    b, width = len(rows), max(len(r) for r in rows)
    total = min(width + cfg.max_new_tokens, model.config.max_seq_len)
    ids = torch.full((b, width), PAD_ID, dtype=torch.long)
    valid = torch.zeros(b, total, dtype=torch.bool)
    for i, row in enumerate(rows):
        ids[i, width - len(row) :] = torch.tensor(row)
        valid[i, width - len(row) : width] = True
    ids, valid = ids.to(device), valid.to(device)
    positions = (valid[:, :width].cumsum(1) - 1).clamp(min=0)
    causal = torch.ones(width, width, dtype=torch.bool, device=device).tril()
    # padding queries attend to themselves only, so no softmax row is empty
    eye = torch.eye(width, dtype=torch.bool, device=device)
    mask = ((causal & valid[:, None, :width]) | eye)[:, None]
    cache = model.new_cache(b, total)
    logits = model.decode(ids, cache, position_ids=positions, mask=mask)
    next_pos = positions[:, -1:] + 1
    seen = None
    if cfg.repetition_penalty != 1.0:
        seen = torch.zeros(b, model.config.vocab_size, dtype=torch.bool, device=device)
        seen.scatter_(1, ids, True)
        seen[:, PAD_ID] = False
    active = torch.arange(b, device=device)
    outputs: list[list[int]] = [[] for _ in range(b)]
    finished = [False] * b
    for step in range(total - width):
        if seen is not None:
            logits = penalize_repeats(logits, seen, cfg.repetition_penalty)
        tokens = next_token(logits, cfg, generator)
        done = tokens[:, 0] == EOS_ID
        for row, token, stop in zip(
            active.tolist(), tokens[:, 0].tolist(), done.tolist(), strict=True
        ):
            if stop:
                finished[row] = True
            else:
                outputs[row].append(token)
        if step + 1 == total - width:
            break
        if bool(done.any()):
            keep = (~done).nonzero()[:, 0]
            if keep.numel() == 0:
                break
            active, tokens, next_pos = active[keep], tokens[keep], next_pos[keep]
            valid = valid[keep]
            cache.select(keep)
            if seen is not None:
                seen = seen[keep]
        if seen is not None:
            seen.scatter_(1, tokens, True)
        valid[:, width + step] = True
        step_mask = valid[:, None, None, : width + step + 1]
        logits = model.decode(tokens, cache, position_ids=next_pos, mask=step_mask)
        next_pos = next_pos + 1
    return list(zip(outputs, finished, strict=True))
