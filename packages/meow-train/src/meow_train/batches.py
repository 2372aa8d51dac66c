"""Length-bucketed batches: deterministic per (seed, epoch), resumable, and split across ranks.

Samples are ~20-40 tokens; padding them to the 256-token context wastes ~90% of the compute.
Each epoch shuffles the samples, sorts them by length within large windows ("mega-batches"),
cuts batches and shuffles the batch order. Padding is then a few tokens per row, and no sample
is lost or repeated within an epoch.
"""

from __future__ import annotations

import torch

from meow_model import PAD_ID, SPECIAL_TOKENS
from meow_model.pytorch import IGNORE_INDEX
from meow_train.dataset import Encoded, targets_for


def epoch_batches(
    lengths: list[int], batch_size: int, seed: int, epoch: int, window: int = 64
) -> list[list[int]]:
    """The global batches of one epoch as lists of sample indices."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    order = torch.randperm(len(lengths), generator=g).tolist()
    span = batch_size * window
    batches: list[list[int]] = []
    for start in range(0, len(order), span):
        chunk = sorted(order[start : start + span], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    shuffle = torch.randperm(len(batches), generator=g).tolist()
    return [batches[i] for i in shuffle]


def shard(batch: list[int], rank: int, world: int) -> list[int]:
    """This rank's rows of a global batch (round-robin over the length-sorted rows)."""
    return batch[rank::world]


def collate(data: Encoded, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded inputs and targets [B, T]; prompt and padding positions are ignored."""
    rows = [data.ids[i] for i in indices]
    width = max(len(r) for r in rows) - 1
    inputs = torch.full((len(rows), width), PAD_ID, dtype=torch.long)
    targets = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
    for row, i in enumerate(indices):
        ids = data.ids[i]
        inputs[row, : len(ids) - 1] = torch.tensor(ids[:-1])
        targets[row, : len(ids) - 1] = torch.tensor(targets_for(ids, data.reply_starts[i]))
    return inputs, targets


def noisy_prompts(
    inputs: torch.Tensor,
    reply_starts: list[int],
    rate: float,
    vocab_size: int,
    generator: torch.Generator,
) -> torch.Tensor:
    """A copy of `inputs` with each prompt-text token swapped for a random ordinary token at `rate`.

    Word dropout for a model that reads prompts nobody wrote for it: a word it never saw (or a
    typo) becomes pieces it has no use for, so it learns to find the topic in the words around
    them. Only the text between `<bos><user>` and `<miso>` changes: the chat markers, the reply and
    the padding stay, and so do the targets (no loss is taken on prompt tokens).
    """
    if rate <= 0:
        return inputs
    rows, width = inputs.shape
    positions = torch.arange(width).expand(rows, width)
    ends = torch.tensor(reply_starts).unsqueeze(1) - 1  # the `<miso>` position
    in_prompt = (positions >= 2) & (positions < ends)
    hit = in_prompt & (torch.rand(rows, width, generator=generator) < rate)
    first = len(SPECIAL_TOKENS)
    random_ids = torch.randint(first, vocab_size, (rows, width), generator=generator)
    return torch.where(hit, random_ids, inputs)


def prompt_targets(inputs: torch.Tensor, reply_starts: list[int]) -> torch.Tensor:
    """Next-token targets on the prompt's text only [B, T] (for `prompt_loss_weight`).

    Position p predicts `inputs[p + 1]` for the prompt's text tokens, i.e. from the `<user>`
    marker to the token before `<miso>`; the markers, the reply and the padding are ignored.
    Built from the clean inputs, so word dropout never becomes something to predict.
    """
    rows, width = inputs.shape
    positions = torch.arange(width).expand(rows, width)
    miso = torch.tensor(reply_starts).unsqueeze(1) - 1  # the `<miso>` position in the inputs
    text = (positions >= 1) & (positions < miso - 1)
    following = torch.nn.functional.pad(inputs[:, 1:], (0, 1), value=PAD_ID)
    return torch.where(text, following, torch.full_like(inputs, IGNORE_INDEX))


def topic_batch(data: Encoded, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """For the topic head: each row's `<miso>` position in the inputs, and its category index."""
    positions = torch.tensor([data.reply_starts[i] - 1 for i in indices])
    topics = data.topics or []
    labels = torch.tensor([topics[i] if topics else IGNORE_INDEX for i in indices])
    return positions, labels


def padded_to_context(
    data: Encoded, indices: list[int], context: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The seed's batching, kept for the benchmark baseline: every row padded to the full context."""
    inputs, targets = collate(data, indices)
    pad = context - inputs.shape[1]
    inputs = torch.nn.functional.pad(inputs, (0, pad), value=PAD_ID)
    targets = torch.nn.functional.pad(targets, (0, pad), value=IGNORE_INDEX)
    return inputs, targets
