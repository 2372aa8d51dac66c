"""What both runtimes share about a reply: how a prompt becomes a chat turn, and what comes back.

A prompt longer than the context is cut from the left, keeping the `<bos><user>` and `<miso>`
markers, so the model still sees a well-formed turn and has room left to answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from meow_model.tokenizer import BOS_ID, MISO_ID, USER_ID, ChatTokenizer


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
    return fit_prompt(tokenizer.encode_chat(prompt).ids, max_seq_len, max_new_tokens)


def fit_prompt(ids: list[int], max_seq_len: int, max_new_tokens: int) -> list[int]:
    """Left-truncate an encoded turn to leave room for `max_new_tokens` (at most half the context)."""
    budget = max(4, max_seq_len - min(max_new_tokens, max_seq_len // 2))
    if len(ids) <= budget:
        return ids
    body = ids[2:-1]
    return [BOS_ID, USER_ID, *body[len(body) - (budget - 3) :], MISO_ID]


def encode_prompts(
    tokenizer: ChatTokenizer, prompts: list[str], max_seq_len: int, max_new_tokens: int
) -> list[list[int]]:
    """`prompt_ids` for many prompts at once (the tokenizer batches the work)."""
    return [
        fit_prompt(e.ids, max_seq_len, max_new_tokens)
        for e in tokenizer.encode_batch_chat([(p, None) for p in prompts])
    ]
