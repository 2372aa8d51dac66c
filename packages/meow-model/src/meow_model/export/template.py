"""MeowLLM's chat format as the templates other tools render: Jinja (transformers, llama.cpp) and Go (Ollama).

A MeowLLM model is single-turn: a turn is `<bos><user>{prompt}<miso>{reply}<eos>`. Given a
conversation, the templates answer its last user message; earlier turns and system messages are
left out, because the model has never seen them and would only drift.
"""

from __future__ import annotations

from meow_model.tokenizer import CHAT_FORMAT, PLAIN_PUNCTUATION, checked_chat_format


def _literal(text: str) -> str:
    """A Jinja string literal (none of the texts here holds both kinds of quote)."""
    return f'"{text}"' if "'" in text else f"'{text}'"


# How each chat format writes the user's message, step for step as format_prompt does it
# (Jinja's `replace`, `trim` and `lower` are Python's str.replace, str.strip and str.lower).
_PLAIN = "".join(
    f" | replace({_literal(typed)}, {_literal(plain)})"
    for typed, plain in PLAIN_PUNCTUATION.items()
)
_PROMPT = {1: "ns.user", 2: f"' ' + (ns.user{_PLAIN} | trim | lower)"}


def chat_template(chat_format: int = CHAT_FORMAT) -> str:
    """The Jinja chat template of `chat_format`.

    The special tokens are meow_model.SPECIAL_TOKENS (a test holds them equal). With
    add_generation_prompt this renders exactly `ChatTokenizer.encode_chat(last_user_message)` in
    Python's Jinja (transformers, llama-cpp-python); llama.cpp's C++ template engine lowercases
    and trims ASCII only, so there a message with non-ASCII capitals or spaces may tokenize
    differently. A conversation ending in an assistant reply renders the full training turn
    (for fine-tuning).
    """
    checked_chat_format(chat_format)
    return (
        "{%- set ns = namespace(user=none, reply=none) -%}"
        "{%- for message in messages -%}"
        "{%- if message['role'] == 'user' -%}"
        "{%- set ns.user = message['content'] -%}{%- set ns.reply = none -%}"
        "{%- elif message['role'] == 'assistant' and ns.user is not none -%}"
        "{%- set ns.reply = message['content'] -%}"
        "{%- endif -%}"
        "{%- endfor -%}"
        "{%- if ns.user is none -%}"
        "{{- raise_exception('a MeowLLM model answers a user message; the conversation has none') -}}"
        "{%- elif ns.user is not string -%}"
        "{{- raise_exception('a MeowLLM model reads text: the user message must be a string') -}}"
        "{%- endif -%}"
        "{{- '<bos><user>' + " + _PROMPT[chat_format] + " -}}"
        "{%- if ns.reply is not none -%}"
        "{{- '<miso>' + ns.reply + '<eos>' -}}"
        "{%- elif add_generation_prompt -%}"
        "{{- '<miso>' -}}"
        "{%- endif -%}"
    )


# Chat format 1's template, as before meow-model 2.2 (a model's own: chat_template(tokenizer.chat_format)).
CHAT_TEMPLATE = chat_template(1)


def ollama_template(chat_format: int = CHAT_FORMAT) -> str:
    """Ollama's Go template: the same turn for the conversation's last user message.

    Go's templates have no lowercase, replace or trim function, so under chat format 2 Ollama
    writes the format's one space and then the message as typed: a model answers capitalised
    prompts there a little less well than in meow-chat, transformers or llama.cpp (the
    Modelfile says so).
    """
    space = " " if checked_chat_format(chat_format) == 2 else ""
    return (
        '{{- $user := "" }}{{- range .Messages }}{{- if eq .Role "user" }}{{- $user = .Content }}'
        "{{- end }}{{- end }}"
        f"<bos><user>{space}{{{{ $user }}}}<miso>"
    )
