"""MeowLLM's chat format as the templates other tools render: Jinja (transformers, llama.cpp) and Go (Ollama).

A MeowLLM model is single-turn: a turn is `<bos><user>{message}<miso>{reply}<eos>`. Given a
conversation, the templates answer its last user message; earlier turns and system messages are
left out, because the model has never seen them and would only drift.
"""

from __future__ import annotations

# The special tokens are meow_model.SPECIAL_TOKENS (a test holds them equal). With
# add_generation_prompt this renders exactly `ChatTokenizer.encode_chat(last_user_message)`;
# a conversation ending in an assistant reply renders the full training turn (for fine-tuning).
CHAT_TEMPLATE = (
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
    "{%- endif -%}"
    "{{- '<bos><user>' + ns.user -}}"
    "{%- if ns.reply is not none -%}"
    "{{- '<miso>' + ns.reply + '<eos>' -}}"
    "{%- elif add_generation_prompt -%}"
    "{{- '<miso>' -}}"
    "{%- endif -%}"
)

# Ollama's Go template: the same turn for the conversation's last user message.
OLLAMA_TEMPLATE = (
    '{{- $user := "" }}{{- range .Messages }}{{- if eq .Role "user" }}{{- $user = .Content }}'
    "{{- end }}{{- end }}"
    "<bos><user>{{ $user }}<miso>"
)
