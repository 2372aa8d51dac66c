"""The chat tokenizer: special-token contract, chat layout, file errors."""

import json

import pytest
from tokenizers import Tokenizer, models

from meow_model import (
    BOS_ID,
    EOS_ID,
    MISO_ID,
    SPECIAL_TOKENS,
    USER_ID,
    ChatTokenizer,
    TokenizerError,
    format_prompt,
)


def test_special_tokens_at_fixed_ids(tokenizer):
    assert SPECIAL_TOKENS == ("<pad>", "<bos>", "<eos>", "<user>", "<miso>")
    assert [tokenizer.backend.token_to_id(t) for t in SPECIAL_TOKENS] == [0, 1, 2, 3, 4]


def test_encode_chat_layout(tokenizer):
    enc = tokenizer.encode_chat("hi miso", "hello.")
    user, reply = tokenizer.encode(" hi miso"), tokenizer.encode("hello.")
    assert enc.ids == [BOS_ID, USER_ID, *user, MISO_ID, *reply, EOS_ID]
    assert enc.reply_start == 3 + len(user)
    assert enc.ids[enc.reply_start - 1] == MISO_ID
    prompt_only = tokenizer.encode_chat("hi miso")
    assert prompt_only.ids == enc.ids[: enc.reply_start]


def test_batch_encoding_matches_single(tokenizer):
    pairs = [("hi", "hello."), ("are you hungry", None), ("😺", "meow.")]
    assert tokenizer.encode_batch_chat(pairs) == [tokenizer.encode_chat(u, r) for u, r in pairs]


def test_round_trip_and_specials_skipped(tokenizer):
    text = "the bowl is almost empty. this is an emergency."
    assert tokenizer.decode(tokenizer.encode(text)) == text
    assert tokenizer.decode(tokenizer.encode_chat("hi", "ok.").ids) == " hiok."


def test_chat_format_2_reads_every_casing_and_position_of_a_word_alike(tokenizer):
    """Sentence case, shouting, stray spaces and a word's place in the prompt change nothing."""
    same = ["the bowl is empty", "The bowl is empty", "THE BOWL IS EMPTY", "  the bowl is empty \n"]
    assert len({tuple(tokenizer.encode_chat(p).ids) for p in same}) == 1
    first, middle = tokenizer.encode_chat("bowl"), tokenizer.encode_chat("the bowl")
    assert first.ids[2:-1] == middle.ids[-1 - len(first.ids[2:-1]) : -1]  # " bowl" both times
    assert format_prompt("  Hi MISO ") == " hi miso" and format_prompt("Hi MISO", 1) == "Hi MISO"
    # a phone's smart punctuation reads as the keyboard's
    assert format_prompt("What\u2019s \u201cthat\u201d \u2013 a box\u2026\u00a0") == (
        ' what\'s "that" - a box...'
    )
    assert tokenizer.encode_chat("what\u2019s up").ids == tokenizer.encode_chat("What's up").ids
    assert tokenizer.format_prompt("Hi") == " hi"


def test_a_tokenizer_made_without_a_chat_format_is_format_1_as_before_2_2(tokenizer):
    assert ChatTokenizer(tokenizer.backend).chat_format == 1
    assert ChatTokenizer(tokenizer.backend).encode_chat("Hi").ids[2:-1] == tokenizer.encode("Hi")


def test_chat_format_1_encodes_the_prompt_as_typed(tokenizer):
    old = ChatTokenizer(tokenizer.backend, "old.json", chat_format=1)
    assert old.encode_chat("Hi Miso").ids[2:-1] == tokenizer.encode("Hi Miso")
    assert old.encode_batch_chat([("Hi Miso", "ok.")]) == [old.encode_chat("Hi Miso", "ok.")]
    assert old.encode_chat("Hi Miso").ids != tokenizer.encode_chat("Hi Miso").ids


@pytest.mark.parametrize("bad", [0, 3, True, "2"])
def test_an_unknown_chat_format_is_refused(tokenizer, bad):
    with pytest.raises(TokenizerError, match="unknown chat format"):
        ChatTokenizer(tokenizer.backend, "t.json", chat_format=bad)
    with pytest.raises(TokenizerError, match="unknown chat format"):
        format_prompt("hi", bad)


def test_wrong_special_ids_are_refused(tmp_path):
    tk = Tokenizer(models.BPE())
    tk.add_special_tokens(["<bos>", "<pad>", "<eos>", "<user>", "<miso>"])
    with pytest.raises(TokenizerError, match="special token <pad> has id 1, expected 0"):
        ChatTokenizer(tk, "swapped.json")
    bare = Tokenizer(models.BPE())
    bare.add_special_tokens(["<pad>", "<bos>"])
    with pytest.raises(TokenizerError, match="special token <eos> is missing"):
        ChatTokenizer(bare)


def test_file_errors(tmp_path, tokenizer):
    with pytest.raises(TokenizerError, match="tokenizer file not found"):
        ChatTokenizer.from_file(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(TokenizerError, match=r"bad.json: not a valid tokenizers JSON"):
        ChatTokenizer.from_file(bad)
    good = tmp_path / "tok.json"
    tokenizer.save(good)
    assert ChatTokenizer.from_file(good).encode("hi miso") == tokenizer.encode("hi miso")
    assert json.loads(good.read_text())["added_tokens"][0]["content"] == "<pad>"
