"""The chat tokenizer: a Hugging Face byte-level BPE file plus MeowLLM's chat format.

Special tokens `<pad> <bos> <eos> <user> <miso>` sit at ids 0-4 and a conversation turn is
`<bos><user>{prompt}<miso>{output}<eos>`. The model learns to write the part after `<miso>`.

`{prompt}` is the user's text as the tokenizer's chat format writes it (`format_prompt`):
- format 1 (model directories written before meow-model 2.2): the text exactly as typed;
- format 2: typographic punctuation made plain (a phone's ’ “ ” – … become ' " " - ...), then
  trimmed, lowercased and put after one space. "Dogs!", "DOGS!" and "dogs!" become the same
  tokens, "what’s" the same as "what's", and the first word gets the tokens it has mid-sentence
  (" dogs" is one token; a leading "dogs" was "do" + "gs"). A small model then learns each word
  once instead of in up to four spellings, and understands prompts typed in a way its training
  data rarely was.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer
from tokenizers.decoders import DecodeStream

SPECIAL_TOKENS = ("<pad>", "<bos>", "<eos>", "<user>", "<miso>")
PAD_ID, BOS_ID, EOS_ID, USER_ID, MISO_ID = range(len(SPECIAL_TOKENS))
CHAT_FORMATS = (1, 2)
CHAT_FORMAT = 2  # what new tokenizers use
# Chat format 2's plain forms of the punctuation phones and word processors type (smart quotes,
# dashes, the ellipsis character, no-break spaces); training data and most keyboards are ASCII.
PLAIN_PUNCTUATION = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u2013": "-", "\u2014": "-", "\u2026": "...", "\u00a0": " ",
}  # fmt: skip


class TokenizerError(ValueError):
    """A tokenizer file is missing, unreadable, or breaks the special-token contract."""


def checked_chat_format(chat_format: object, where: str = "") -> int:
    """`chat_format` if this meow-model knows it, else a `TokenizerError` (prefixed by `where`)."""
    if isinstance(chat_format, bool) or chat_format not in CHAT_FORMATS:
        prefix = f"{where}: " if where else ""
        raise TokenizerError(
            f"{prefix}unknown chat format {chat_format!r}; this meow-model knows {CHAT_FORMATS}"
        )
    return chat_format  # type: ignore[return-value]


def format_prompt(text: str, chat_format: int = CHAT_FORMAT) -> str:
    """The user's text as `chat_format` puts it between `<user>` and `<miso>` (see above)."""
    if checked_chat_format(chat_format) == 1:
        return text
    for typed, plain in PLAIN_PUNCTUATION.items():
        text = text.replace(typed, plain)
    return " " + text.strip().lower()


@dataclass(frozen=True)
class ChatEncoding:
    """Token ids of one chat turn and the index of the first reply token."""

    ids: list[int]
    reply_start: int


class ChatTokenizer:
    """Byte-level BPE with the chat format. Build with `ChatTokenizer.from_file` or from a `Tokenizer`.

    `chat_format` defaults to 1, as before meow-model 2.2, so existing callers encode as they did;
    model directories name theirs, and new tokenizers (meow-train >= 3.3) use `CHAT_FORMAT`.
    """

    def __init__(
        self, tokenizer: Tokenizer, source: str = "<memory>", chat_format: int = 1
    ) -> None:
        checked_chat_format(chat_format, source)
        for expected, token in enumerate(SPECIAL_TOKENS):
            actual = tokenizer.token_to_id(token)
            if actual is None:
                raise TokenizerError(
                    f"{source}: special token {token} is missing (expected at id {expected})"
                )
            if actual != expected:
                raise TokenizerError(
                    f"{source}: special token {token} has id {actual}, expected {expected}"
                )
        self._tk = tokenizer
        self.source = source
        self.chat_format = chat_format

    @classmethod
    def from_file(cls, path: str | Path, chat_format: int = 1) -> ChatTokenizer:
        path = Path(path)
        if not path.is_file():
            raise TokenizerError(f"{path}: tokenizer file not found")
        try:
            tokenizer = Tokenizer.from_file(str(path))
        except Exception as exc:  # tokenizers raises a bare Exception on malformed JSON
            raise TokenizerError(f"{path}: not a valid tokenizers JSON file: {exc}") from None
        return cls(tokenizer, str(path), chat_format)

    def save(self, path: str | Path) -> None:
        """Write tokenizer.json atomically: a full disk or a kill never leaves a partial file."""
        path = Path(path)
        staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            staging.write_text(self._tk.to_str(pretty=True), encoding="utf-8")
            os.replace(staging, path)
        finally:
            staging.unlink(missing_ok=True)

    def to_str(self) -> str:
        return self._tk.to_str()

    @property
    def vocab_size(self) -> int:
        return self._tk.get_vocab_size()

    @property
    def backend(self) -> Tokenizer:
        """The wrapped `tokenizers.Tokenizer` (for streaming decoders and tooling)."""
        return self._tk

    def encode(self, text: str) -> list[int]:
        """Plain text to ids, no special tokens added."""
        return self._tk.encode(text, add_special_tokens=False).ids

    def decode(self, ids: list[int]) -> str:
        """Ids to text, special tokens dropped."""
        return self._tk.decode(ids, skip_special_tokens=True)

    def format_prompt(self, user: str) -> str:
        """`user` as this tokenizer's chat format encodes it."""
        return format_prompt(user, self.chat_format)

    def encode_chat(self, user: str, reply: str | None = None) -> ChatEncoding:
        """`<bos><user>{prompt}<miso>` plus `{reply}<eos>` when a reply is given."""
        ids = [BOS_ID, USER_ID, *self.encode(self.format_prompt(user)), MISO_ID]
        reply_start = len(ids)
        if reply is not None:
            ids += [*self.encode(reply), EOS_ID]
        return ChatEncoding(ids, reply_start)

    def encode_batch_chat(self, pairs: list[tuple[str, str | None]]) -> list[ChatEncoding]:
        """`encode_chat` for many turns at once, using the tokenizer's parallel batch encoder."""
        users = self._tk.encode_batch(
            [self.format_prompt(u) for u, _ in pairs], add_special_tokens=False
        )
        replies_in = [r for _, r in pairs if r is not None]
        replies = (
            iter(self._tk.encode_batch(replies_in, add_special_tokens=False))
            if replies_in
            else iter(())
        )
        out = []
        for user, (_, reply) in zip(users, pairs, strict=True):
            ids = [BOS_ID, USER_ID, *user.ids, MISO_ID]
            start = len(ids)
            if reply is not None:
                ids += [*next(replies).ids, EOS_ID]
            out.append(ChatEncoding(ids, start))
        return out

    def stream_decoder(self) -> StreamDecoder:
        return StreamDecoder(self._tk)


class StreamDecoder:
    """Incremental detokenizer: yields text only once complete UTF-8 characters are available."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self._tk = tokenizer
        self._stream = DecodeStream(skip_special_tokens=True)

    def step(self, token_id: int) -> str:
        return self._stream.step(self._tk, token_id) or ""
