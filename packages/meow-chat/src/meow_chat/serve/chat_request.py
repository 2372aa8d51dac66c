"""Check a `POST /v1/chat/completions` body and turn it into what the engine needs.

Every problem is an `APIError` naming the field: 400 for a body that is not a usable request
(malformed, missing fields, no user message), 404 for an unknown model, 413 for an oversize
prompt, 422 for a field with the wrong type or range, or one this server does not support.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from meow_chat.serve.config import ServeConfig
from meow_chat.serve.errors import APIError
from meow_model import SamplingConfig

DEFAULTS = SamplingConfig()
ROLES = {"system", "developer", "user", "assistant", "tool"}
IGNORED = {"user", "metadata", "store", "service_tier"}  # accepted, no effect on a reply
# OpenAI fields with no meaning for a character model: refused rather than silently ignored.
UNSUPPORTED = {
    "tools", "tool_choice", "functions", "function_call", "parallel_tool_calls", "logit_bias",
    "top_logprobs", "audio", "modalities", "prediction", "reasoning_effort", "web_search_options",
}  # fmt: skip
KNOWN = {
    "model", "messages", "stream", "stream_options", "temperature", "top_p", "top_k", "min_p",
    "repetition_penalty", "max_tokens", "max_completion_tokens", "seed", "stop", "n",
    "presence_penalty", "frequency_penalty", "logprobs", "response_format",
} | IGNORED | UNSUPPORTED  # fmt: skip


@dataclass(frozen=True)
class ChatRequest:
    prompt: str
    sampling: SamplingConfig
    n: int
    stop: tuple[str, ...]
    stream: bool
    include_usage: bool


def parse_chat_request(body: Any, config: ServeConfig, max_new_tokens: int) -> ChatRequest:
    """Validate a decoded JSON body; `max_new_tokens` is the most the model's context allows."""
    if not isinstance(body, dict):
        raise APIError(400, "the request body must be a JSON object", "invalid_body")
    for field in body:
        if field not in KNOWN:
            raise APIError(422, f"unknown field '{field}'", "unknown_field", field)
        if field in UNSUPPORTED and body[field] is not None:
            raise APIError(
                422, f"'{field}' is not supported by this server", "unsupported_field", field
            )
    _check_unsupported_values(body)
    model = _required(body, "model", str)
    if model != config.model_name:
        raise APIError(
            404,
            f"the model '{model}' does not exist; this server serves '{config.model_name}'",
            "model_not_found",
            "model",
        )
    prompt = _last_user_message(_required(body, "messages", list))
    if len(prompt) > config.max_prompt_chars:
        raise APIError(
            413,
            f"the last user message has {len(prompt)} characters; the limit is "
            f"{config.max_prompt_chars}",
            "prompt_too_long",
            "messages",
        )
    newer = body.get("max_completion_tokens")  # OpenAI's newer name wins when both are given
    max_tokens = newer if newer is not None else body.get("max_tokens")
    param = "max_completion_tokens" if newer is not None else "max_tokens"
    max_tokens = _integer(max_tokens, param, DEFAULTS.max_new_tokens, 1, max_new_tokens)
    seed = _integer(body.get("seed"), "seed", None, 0, 2**63 - 1)
    sampling = SamplingConfig(
        temperature=_number(body.get("temperature"), "temperature", DEFAULTS.temperature, 0, 2),
        top_p=_number(body.get("top_p"), "top_p", DEFAULTS.top_p, 0, 1, low_open=True),
        top_k=_integer(body.get("top_k"), "top_k", DEFAULTS.top_k, 0, 1 << 20),
        min_p=_number(body.get("min_p"), "min_p", DEFAULTS.min_p, 0, 1, high_open=True),
        repetition_penalty=_number(
            body.get("repetition_penalty"),
            "repetition_penalty",
            DEFAULTS.repetition_penalty,
            0,
            10,
            low_open=True,
        ),
        max_new_tokens=max_tokens,
        seed=seed,
    )
    stream = _boolean(body.get("stream"), "stream", False)
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise APIError(422, "'stream_options' must be an object", "invalid_type", "stream_options")
    include_usage = _boolean(
        (options or {}).get("include_usage"), "stream_options.include_usage", False
    )
    return ChatRequest(
        prompt=prompt,
        sampling=sampling,
        n=_integer(body.get("n"), "n", 1, 1, config.max_choices),
        stop=_stop(body.get("stop")),
        stream=stream,
        include_usage=include_usage,
    )


def _check_unsupported_values(body: dict[str, Any]) -> None:
    for field in ("presence_penalty", "frequency_penalty"):
        value = _number(body.get(field), field, 0.0, -2, 2)
        if value != 0:
            raise APIError(
                422,
                f"'{field}' other than 0 is not supported; use 'repetition_penalty'",
                "unsupported_value",
                field,
            )
    if _boolean(body.get("logprobs"), "logprobs", False):
        raise APIError(422, "'logprobs' is not supported", "unsupported_value", "logprobs")
    fmt = body.get("response_format")
    if fmt is not None and fmt != {"type": "text"}:
        raise APIError(
            422, "only the 'text' response_format is supported", "unsupported_value",
            "response_format",
        )  # fmt: skip


def _last_user_message(messages: list[Any]) -> str:
    """The model is single-turn: it answers the conversation's last user message."""
    if not messages:
        raise APIError(400, "'messages' must not be empty", "empty_messages", "messages")
    prompt = None
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise APIError(422, f"{where} must be an object", "invalid_type", where)
        role = message.get("role")
        if role not in ROLES:
            raise APIError(
                422, f"{where}.role must be one of {', '.join(sorted(ROLES))}, got {role!r}",
                "invalid_value", f"{where}.role",
            )  # fmt: skip
        if role == "user":
            prompt = _text(message.get("content"), f"{where}.content")
    if prompt is None:
        raise APIError(400, "'messages' holds no user message", "no_user_message", "messages")
    if not prompt.strip():
        raise APIError(400, "the last user message is empty", "empty_message", "messages")
    return prompt


def _text(content: Any, where: str) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text":
                raise APIError(
                    422, f"{where} may only hold text parts", "unsupported_content", where
                )
            if not isinstance(part.get("text"), str):
                raise APIError(
                    422, f"{where}: a text part needs a string 'text'", "invalid_type", where
                )
            parts.append(part["text"])
        return " ".join(parts)
    raise APIError(422, f"{where} must be a string or a list of text parts", "invalid_type", where)


def _required(body: dict[str, Any], field: str, kind: type) -> Any:
    if field not in body:
        raise APIError(400, f"missing required field '{field}'", "missing_field", field)
    if not isinstance(body[field], kind):
        raise APIError(422, f"'{field}' must be a {_KIND_NAMES[kind]}", "invalid_type", field)
    return body[field]


_KIND_NAMES = {str: "string", list: "list", dict: "object"}


def _boolean(value: Any, field: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise APIError(422, f"'{field}' must be true or false", "invalid_type", field)
    return value


def _integer(value: Any, field: str, default: Any, low: int, high: int) -> Any:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise APIError(422, f"'{field}' must be an integer", "invalid_type", field)
    if not low <= value <= high:
        raise APIError(
            422, f"'{field}' must be from {low} to {high}, got {value}", "out_of_range", field
        )
    return value


def _number(
    value: Any,
    field: str,
    default: float,
    low: float,
    high: float,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise APIError(422, f"'{field}' must be a finite number", "invalid_type", field)
    if value < low or value > high or (low_open and value == low) or (high_open and value == high):
        lo, hi = "(" if low_open else "[", ")" if high_open else "]"
        raise APIError(
            422, f"'{field}' must be in {lo}{low}, {high}{hi}, got {value}", "out_of_range", field
        )
    return float(value)


def _stop(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    stops = [value] if isinstance(value, str) else value
    if (
        not isinstance(stops, list)
        or not all(isinstance(s, str) and s for s in stops)
        or len(stops) > 4
    ):
        raise APIError(
            422, "'stop' must be a non-empty string or a list of up to 4 of them",
            "invalid_value", "stop",
        )  # fmt: skip
    return tuple(stops)
