"""Fit the byte-level BPE tokenizer on a dataset's train split (never on val or eval prompts).

Prompts are fitted as the chat format writes them (`meow_model.format_prompt`: lowercased, after
one space), so the vocabulary holds the pieces the model will actually read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from meow_model import CHAT_FORMAT, SPECIAL_TOKENS, ChatTokenizer, format_prompt
from meow_train.config import MIN_VOCAB_SIZE
from meow_train.dataset import Example

# BPE re-scans a whole pre-token at every merge, so one huge run of non-space characters (a 1 MB
# "word" in a broken row) makes fitting quadratic. No real word is this long: such runs are cut
# into pieces of this many characters for fitting only; the dataset itself is untouched.
MAX_FIT_RUN = 64
_LONG_RUN = re.compile(rf"\S{{{MAX_FIT_RUN + 1},}}")


def fitting_texts(examples: Iterable[Example], chat_format: int = CHAT_FORMAT) -> Iterator[str]:
    """The prompts (as `chat_format` writes them) and replies the tokenizer is fitted on, with
    over-long runs cut into pieces."""
    for example in examples:
        for text in (format_prompt(example.input, chat_format), example.output):
            yield _LONG_RUN.sub(_cut, text) if len(text) > MAX_FIT_RUN else text


def _cut(match: re.Match[str]) -> str:
    run = match.group(0)
    return " ".join(run[i : i + MAX_FIT_RUN] for i in range(0, len(run), MAX_FIT_RUN))


def fit_tokenizer(
    examples: Iterable[Example], vocab_size: int = 2048, min_frequency: int = 2
) -> ChatTokenizer:
    """Train byte-level BPE on the prompts and replies of `examples`; specials take ids 0-4."""
    if vocab_size < MIN_VOCAB_SIZE:
        raise ValueError(
            f"vocab_size must be at least {MIN_VOCAB_SIZE} (bytes + special tokens), got {vocab_size}"
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
    tokenizer.train_from_iterator(fitting_texts(examples, CHAT_FORMAT), trainer)
    return ChatTokenizer(tokenizer, "<fitted>", CHAT_FORMAT)
