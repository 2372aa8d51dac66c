"""Fit the byte-level BPE tokenizer on a dataset's train split (never on val or eval prompts)."""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from meow_model import SPECIAL_TOKENS, ChatTokenizer
from meow_train.dataset import Example


def fit_tokenizer(
    examples: Iterable[Example], vocab_size: int = 2048, min_frequency: int = 2
) -> ChatTokenizer:
    """Train byte-level BPE on the prompts and replies of `examples`; specials take ids 0-4."""
    if vocab_size < 256 + len(SPECIAL_TOKENS):
        raise ValueError(
            f"vocab_size must be at least {256 + len(SPECIAL_TOKENS)} (bytes + special tokens)"
        )
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator((text for e in examples for text in (e.input, e.output)), trainer)
    return ChatTokenizer(tokenizer, "<fitted>")
