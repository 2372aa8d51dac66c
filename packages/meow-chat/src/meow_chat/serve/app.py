"""The ASGI application: OpenAI's chat-completions API, /v1/models, /health and the chat page.

Starlette (the small toolkit FastAPI is built on, without pydantic) keeps the extra light; the
request checking lives in `chat_request`, generation in `engine`. Every error is OpenAI-shaped
JSON, never a traceback.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import threading
import time
import uuid
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from meow_chat.__about__ import __version__
from meow_chat.serve.chat_request import ChatRequest, parse_chat_request
from meow_chat.serve.config import ServeConfig
from meow_chat.serve.engine import Choice, Engine, Ticket
from meow_chat.serve.errors import APIError
from meow_model import Pretrained

FINGERPRINT = f"meow-chat-{__version__}"
logger = logging.getLogger("meow_chat.serve")


def create_app(pretrained: Pretrained, config: ServeConfig | None = None) -> Starlette:
    """An ASGI app serving `pretrained` (run it with uvicorn, or `meow-chat serve`)."""
    config = config or ServeConfig()
    engine = Engine(pretrained, config)
    created = int(time.time())
    page = resources.files("meow_chat.serve").joinpath("page.html").read_text(encoding="utf-8")

    def authorize(request: Request) -> None:
        if config.api_key is None:
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), config.api_key.encode()
        ):
            raise APIError(
                401,
                "missing or wrong API key: send 'Authorization: Bearer KEY'",
                "invalid_api_key",
                headers={"WWW-Authenticate": "Bearer"},
            )

    async def read_json(request: Request) -> Any:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > config.max_body_bytes:
            raise _too_large(config)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > config.max_body_bytes:
                raise _too_large(config)
        try:
            return json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise APIError(
                400, f"the request body is not valid JSON: {exc}", "invalid_json"
            ) from None
        except RecursionError:
            raise APIError(400, "the request body is nested too deeply", "invalid_json") from None

    async def chat_completions(request: Request) -> Response:
        authorize(request)
        chat = parse_chat_request(await read_json(request), config, engine.max_new_tokens)
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        if not chat.stream:
            with engine.admit():
                cancel = threading.Event()
                watcher = asyncio.create_task(_cancel_on_disconnect(request, cancel))
                try:
                    choices = await engine.complete(chat, cancel)
                finally:
                    watcher.cancel()
            return JSONResponse(_completion(completion_id, config.model_name, choices))
        ticket = engine.reserve()  # refuse with 503 now, before the 200 of a stream is sent
        events = _sse(engine, chat, completion_id, config.model_name, ticket)
        # a stream that never starts (the client left first) never runs its finally
        weakref.finalize(events, ticket.release)
        return StreamingResponse(
            events,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def models(request: Request) -> Response:
        authorize(request)
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {
                        "id": config.model_name,
                        "object": "model",
                        "created": created,
                        "owned_by": "meowllm",
                    }
                ],
            }
        )

    async def health(request: Request) -> Response:
        return JSONResponse(
            {"status": "ok", "model": config.model_name, **engine.counters.snapshot()}
        )

    async def index(request: Request) -> Response:
        return HTMLResponse(page)

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, APIError)
        return exc.response()

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        status = exc.status_code
        message = (
            f"no route {request.method} {request.url.path}"
            if status in (404, 405)
            else str(exc.detail)
        )
        code = "not_found" if status == 404 else "invalid_request"
        headers = dict(exc.headers or {})  # a 405 keeps its Allow header
        return APIError(status, message, code, headers=headers).response()

    async def server_error(request: Request, exc: Exception) -> Response:
        return APIError(500, "internal server error", "internal_error").response()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        engine.close()

    middleware = []
    if config.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(config.cors_origins),
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["*"],  # SDKs add their own headers (x-stainless-*, ...)
            )
        )
    app = Starlette(
        routes=[
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
            Route("/", index, methods=["GET"]),
        ],
        middleware=middleware,
        exception_handlers={
            APIError: api_error,
            HTTPException: http_error,
            Exception: server_error,
        },
        lifespan=lifespan,
    )
    app.state.engine = engine
    return app


async def _cancel_on_disconnect(request: Request, cancel: threading.Event) -> None:
    """Set `cancel` when the client of a non-streamed request goes away."""
    while not await request.is_disconnected():
        await asyncio.sleep(0.05)
    cancel.set()


def _too_large(config: ServeConfig) -> APIError:
    return APIError(
        413, f"the request body is larger than {config.max_body_bytes} bytes", "body_too_large"
    )


def _usage(choices: list[Choice]) -> dict[str, int]:
    prompt = choices[0].prompt_tokens if choices else 0
    completion = sum(c.completion_tokens for c in choices)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _completion(completion_id: str, model: str, choices: list[Choice]) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": FINGERPRINT,
        "choices": [
            {
                "index": c.index,
                "message": {"role": "assistant", "content": c.text},
                "finish_reason": c.finish_reason,
                "logprobs": None,
            }
            for c in choices
        ],
        "usage": _usage(choices),
    }


async def _sse(
    engine: Engine, chat: ChatRequest, completion_id: str, model: str, ticket: Ticket
) -> AsyncIterator[str]:
    """Server-sent events: a role delta per choice, one delta per text piece, a finish chunk, [DONE]."""
    created = int(time.time())

    def chunk(choices: list[dict[str, Any]], **extra: Any) -> str:
        body = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                "model": model, "system_fingerprint": FINGERPRINT, "choices": choices, **extra}  # fmt: skip
        return f"data: {json.dumps(body)}\n\n"

    def delta(index: int, content: dict[str, str], finish: str | None = None) -> dict[str, Any]:
        return {"index": index, "delta": content, "finish_reason": finish, "logprobs": None}

    started: set[int] = set()
    events = engine.stream(chat)
    try:
        yield chunk([delta(0, {"role": "assistant", "content": ""})])
        started.add(0)
        try:
            async for event in events:
                if isinstance(event, tuple):
                    index, text = event
                    if index not in started:
                        started.add(index)
                        yield chunk([delta(index, {"role": "assistant", "content": ""})])
                    yield chunk([delta(index, {"content": text})])
                    continue
                for choice in event:
                    if choice.index not in started:
                        yield chunk([delta(choice.index, {"role": "assistant", "content": ""})])
                    yield chunk([delta(choice.index, {}, choice.finish_reason)])
                if chat.include_usage:
                    yield chunk([], usage=_usage(event))
        except Exception:
            # the 200 is already sent: say so in the stream, as OpenAI does, instead of cutting it
            logger.exception("generation failed mid-stream")
            error = APIError(500, "internal server error during generation", "internal_error")
            yield f"data: {json.dumps(error.body())}\n\n"
            return
        yield "data: [DONE]\n\n"
    finally:
        await events.aclose()
        ticket.release()
