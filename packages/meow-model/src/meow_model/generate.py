"""Text generation with a KV cache: streaming for one prompt, batched for many.

The prompt is prefilled once, then each step feeds one token. A prompt longer than the context
is cut from the left, keeping the `<bos><user>` and `<miso>` markers, so the model still sees a
well-formed turn. Streaming yields text as soon as complete UTF-8 characters are decoded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from meow_model.model import MeowForCausalLM
from meow_model.sampling import SamplingConfig, next_token, penalize_repeats
from meow_model.tokenizer import BOS_ID, EOS_ID, MISO_ID, PAD_ID, USER_ID, ChatTokenizer


@dataclass(frozen=True)
class Reply:
    """One generated reply and how it ended."""

    text: str
    token_ids: list[int]
    prompt_tokens: int
    finished: bool  # True: the model emitted <eos>; False: stopped at the token or context limit


def prompt_ids(
    tokenizer: ChatTokenizer, prompt: str, max_seq_len: int, max_new_tokens: int
) -> list[int]:
    """Encode `prompt` as a chat turn, left-truncated so that some room is left for the reply."""
    ids = tokenizer.encode_chat(prompt).ids
    return _fit(ids, max_seq_len, max_new_tokens)


def _fit(ids: list[int], max_seq_len: int, max_new_tokens: int) -> list[int]:
    budget = max(4, max_seq_len - min(max_new_tokens, max_seq_len // 2))
    if len(ids) <= budget:
        return ids
    body = ids[2:-1]
    return [BOS_ID, USER_ID, *body[len(body) - (budget - 3) :], MISO_ID]


def _generator(cfg: SamplingConfig, device: torch.device) -> torch.Generator | None:
    if cfg.greedy or cfg.seed is None:
        return None
    return torch.Generator(device=device).manual_seed(cfg.seed)


def _device(model: MeowForCausalLM) -> torch.device:
    return model.model.embed_tokens.weight.device


@torch.inference_mode()
def generate_ids(
    model: MeowForCausalLM, ids: list[int], cfg: SamplingConfig = SamplingConfig()
) -> Iterator[int]:
    """Yield reply token ids for an encoded prompt until `<eos>`, `max_new_tokens` or the context end."""
    device = _device(model)
    generator = _generator(cfg, device)
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


def stream(
    model: MeowForCausalLM,
    tokenizer: ChatTokenizer,
    prompt: str,
    cfg: SamplingConfig = SamplingConfig(),
) -> Iterator[str]:
    """Yield the reply to `prompt` piece by piece as it is generated."""
    decoder = tokenizer.stream_decoder()
    ids = prompt_ids(tokenizer, prompt, model.config.max_seq_len, cfg.max_new_tokens)
    for token in generate_ids(model, ids, cfg):
        piece = decoder.step(token)
        if piece:
            yield piece


def generate(
    model: MeowForCausalLM,
    tokenizer: ChatTokenizer,
    prompt: str,
    cfg: SamplingConfig = SamplingConfig(),
) -> Reply:
    """The whole reply to one prompt."""
    ids = prompt_ids(tokenizer, prompt, model.config.max_seq_len, cfg.max_new_tokens)
    out = list(generate_ids(model, ids, cfg))
    limit = min(cfg.max_new_tokens, model.config.max_seq_len - len(ids))
    return Reply(tokenizer.decode(out).strip(), out, len(ids), len(out) < limit)


@torch.inference_mode()
def generate_batch(
    model: MeowForCausalLM,
    tokenizer: ChatTokenizer,
    prompts: list[str],
    cfg: SamplingConfig = SamplingConfig(),
    batch_size: int = 256,
) -> list[Reply]:
    """Replies to many prompts, `batch_size` rows at a time (left-padded, KV-cached).

    Prompts are grouped by length to limit padding; results come back in input order. Greedy
    results equal one-by-one generation. With sampling, one generator seeded from `cfg.seed`
    drives the whole call, so the same prompts and seed give the same replies.
    """
    encoded = [
        _fit(e.ids, model.config.max_seq_len, cfg.max_new_tokens)
        for e in tokenizer.encode_batch_chat([(p, None) for p in prompts])
    ]
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
    generator = _generator(cfg, _device(model))
    replies: list[Reply | None] = [None] * len(prompts)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        outs = _generate_padded(model, [encoded[i] for i in chunk], cfg, generator)
        for i, (tokens, finished) in zip(chunk, outs, strict=True):
            replies[i] = Reply(tokenizer.decode(tokens).strip(), tokens, len(encoded[i]), finished)
    return replies  # type: ignore[return-value]


def _generate_padded(
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
