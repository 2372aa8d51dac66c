"""`meow-chat serve`: the OpenAI-compatible API and chat page, against a live server on loopback.

The real `openai` client talks to a uvicorn server in a thread; bad requests, access control,
back-pressure and client disconnects are each checked on the wire. A slowed-down copy of the
model makes "busy" and "disconnected mid-stream" observable without timing assumptions.
"""

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import httpx
import pytest

pytest.importorskip("starlette")
uvicorn = pytest.importorskip("uvicorn")
openai = pytest.importorskip("openai")

from meow_chat import ServeConfig, bundled_model_dir, create_app  # noqa: E402
from meow_chat.cli import run  # noqa: E402
from meow_chat.serve_cli import listen  # noqa: E402
from meow_model import NumpyModel, Pretrained, load_pretrained  # noqa: E402
from meow_rules import check  # noqa: E402

USER = [{"role": "user", "content": "are you hungry"}]


class LiveServer:
    """A uvicorn server for `app` on a free loopback port, in a background thread."""

    def __init__(self, app):
        self.sock = listen("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.app = app
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.01)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=30)

    def health(self):
        return httpx.get(f"{self.url}/health").json()


class BrokenModel(NumpyModel):
    """Fails on its fifth decoding step: an error after a stream has started."""

    calls = 0

    def decode(self, *args, **kwargs):
        type(self).calls += 1
        if type(self).calls == 5:
            raise RuntimeError("the cat sat on the keyboard")
        return super().decode(*args, **kwargs)


class SlowModel(NumpyModel):
    """The bundled weights, 30 ms per decoding step: long enough to be busy or interrupted."""

    calls = 0
    delay = 0.03

    def decode(self, *args, **kwargs):
        type(self).calls += 1
        time.sleep(type(self).delay)
        return super().decode(*args, **kwargs)


@pytest.fixture(scope="module")
def miso():
    return load_pretrained(bundled_model_dir())


@pytest.fixture(scope="module")
def live(miso):
    with LiveServer(create_app(miso, ServeConfig())) as server:
        yield server


@pytest.fixture(scope="module")
def client(live):
    return openai.OpenAI(base_url=f"{live.url}/v1", api_key="unused", max_retries=0)


def slow_copy(miso, kind=None) -> Pretrained:
    kind = kind or SlowModel
    slow = kind.__new__(kind)
    slow.__dict__.update(miso.model.__dict__)
    return replace(miso, model=slow)


def post(url, body, **kwargs):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"content-type": "application/json", **kwargs.pop("headers", {})}
    timeout = kwargs.pop("timeout", 60)
    return httpx.post(f"{url}/v1/chat/completions", content=data, headers=headers,
                      timeout=timeout, **kwargs)  # fmt: skip


# --- the openai client ----------------------------------------------------------------------


def test_the_openai_client_lists_the_model(client):
    assert [m.id for m in client.models.list()] == ["miso"]


def test_a_completion_is_miso_in_character_with_usage(client):
    out = client.chat.completions.create(model="miso", messages=USER, seed=3)
    choice = out.choices[0]
    assert choice.message.role == "assistant" and choice.finish_reason == "stop"
    verdict = check(choice.message.content)  # Miso's voice; topic is the eval suites' business
    assert set(verdict.failed_checks()) <= {"topic"}, verdict.reason
    assert out.usage.completion_tokens > 0
    assert out.usage.total_tokens == out.usage.prompt_tokens + out.usage.completion_tokens


def test_a_streamed_completion_reassembles_to_the_same_text(client):
    plain = client.chat.completions.create(model="miso", messages=USER, seed=7)
    chunks = list(
        client.chat.completions.create(
            model="miso", messages=USER, seed=7, stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len({c.id for c in chunks}) == 1
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == plain.choices[0].message.content
    finals = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finals == ["stop"]
    assert (
        chunks[-1].choices == []
        and chunks[-1].usage.completion_tokens == plain.usage.completion_tokens
    )


def test_n_choices_each_have_their_own_seed(client):
    many = client.chat.completions.create(model="miso", messages=USER, seed=11, n=3)
    assert [c.index for c in many.choices] == [0, 1, 2]
    for i, choice in enumerate(many.choices):
        one = client.chat.completions.create(model="miso", messages=USER, seed=11 + i)
        assert choice.message.content == one.choices[0].message.content


def test_history_is_answered_by_its_last_user_message(client):
    history = [
        {"role": "system", "content": "you are a helpful assistant"},
        {"role": "user", "content": "hi miso"},
        {"role": "assistant", "content": "hello."},
        *USER,
    ]
    a = client.chat.completions.create(model="miso", messages=history, seed=5)
    b = client.chat.completions.create(model="miso", messages=USER, seed=5)
    assert a.choices[0].message.content == b.choices[0].message.content


def test_max_tokens_ends_with_length_and_stop_cuts_the_reply(client):
    short = client.chat.completions.create(model="miso", messages=USER, seed=1, max_tokens=2)
    assert short.choices[0].finish_reason == "length" and short.usage.completion_tokens == 2
    full = client.chat.completions.create(model="miso", messages=USER, seed=1)
    text = full.choices[0].message.content
    word = text.split()[1]
    cut = client.chat.completions.create(model="miso", messages=USER, seed=1, stop=[word])
    assert cut.choices[0].message.content == text[: text.index(word)]
    assert cut.choices[0].finish_reason == "stop"
    streamed = client.chat.completions.create(
        model="miso", messages=USER, seed=1, stop=word, stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in streamed) == text[: text.index(word)]


def test_sampling_extras_are_honoured(client):
    body = {"top_k": 1, "min_p": 0.1, "repetition_penalty": 1.1}
    greedy_like = client.chat.completions.create(
        model="miso", messages=USER, extra_body=body, seed=1
    )
    again = client.chat.completions.create(model="miso", messages=USER, extra_body=body, seed=99)
    assert greedy_like.choices[0].message.content == again.choices[0].message.content  # top_k=1


def test_concurrent_requests_do_not_disturb_each_other(live, client):
    def ask(seed):
        out = client.chat.completions.create(model="miso", messages=USER, seed=seed)
        return out.choices[0].message.content

    alone = [ask(seed) for seed in range(12)]
    with ThreadPoolExecutor(12) as pool:
        together = list(pool.map(ask, range(12)))
    assert together == alone


# --- bad requests ---------------------------------------------------------------------------

OK = {"model": "miso", "messages": USER}
BAD = [
    (b"{not json", 400, "invalid_json"),
    (b"\xff\xfe", 400, "invalid_json"),
    (b"[1, 2]", 400, "invalid_body"),
    ({"messages": USER}, 400, "missing_field"),
    ({"model": "miso"}, 400, "missing_field"),
    ({"model": "miso", "messages": []}, 400, "empty_messages"),
    ({"model": "miso", "messages": [{"role": "system", "content": "x"}]}, 400, "no_user_message"),
    ({"model": "miso", "messages": [{"role": "user", "content": "   "}]}, 400, "empty_message"),
    ({"model": "gpt-4o", "messages": USER}, 404, "model_not_found"),
    ({"model": 7, "messages": USER}, 422, "invalid_type"),
    ({"model": "miso", "messages": "hi"}, 422, "invalid_type"),
    ({"model": "miso", "messages": [{"role": "cat", "content": "x"}]}, 422, "invalid_value"),
    ({"model": "miso", "messages": [{"role": "user", "content": 5}]}, 422, "invalid_type"),
    ({**OK, "temperature": "hot"}, 422, "invalid_type"),
    ({**OK, "temperature": 3}, 422, "out_of_range"),
    (b'{"model": "miso", "messages": [{"role": "user", "content": "x"}], "top_p": NaN}', 422, "invalid_type"),
    ({**OK, "top_p": 0}, 422, "out_of_range"),
    ({**OK, "max_tokens": 0}, 422, "out_of_range"),
    ({**OK, "max_tokens": 100000}, 422, "out_of_range"),
    ({**OK, "max_tokens": True}, 422, "invalid_type"),
    ({**OK, "max_completion_tokens": None, "max_tokens": 0}, 422, "out_of_range"),
    ({**OK, "stream": True, "stream_options": {"include_usage": 1}}, 422, "invalid_type"),
    (b"[" * 100_000 + b"]" * 100_000, 413, "body_too_large"),
    (b'{"a":' * 5000 + b"1" + b"}" * 5000, 400, "invalid_json"),
    ({**OK, "n": 9}, 422, "out_of_range"),
    ({**OK, "seed": -1}, 422, "out_of_range"),
    ({**OK, "stop": ["a", ""]}, 422, "invalid_value"),
    ({**OK, "stream": "yes"}, 422, "invalid_type"),
    ({**OK, "tools": [{"type": "function"}]}, 422, "unsupported_field"),
    ({**OK, "logprobs": True}, 422, "unsupported_value"),
    ({**OK, "presence_penalty": 0.5}, 422, "unsupported_value"),
    ({**OK, "response_format": {"type": "json_object"}}, 422, "unsupported_value"),
    ({**OK, "temperatur": 0.5}, 422, "unknown_field"),
    ({"model": "miso", "messages": [{"role": "user", "content": "x" * 5000}]}, 413, "prompt_too_long"),
    (json.dumps({**OK, "pad": "x" * 70_000}).encode(), 413, "body_too_large"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "status", "code"), BAD)
def test_a_bad_request_gets_an_openai_style_error(live, body, status, code):
    response = post(live.url, body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"] and error["type"]
    assert "Traceback" not in response.text


def test_unknown_routes_and_methods_get_json_errors(live):
    missing = httpx.get(f"{live.url}/v1/completions")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = httpx.get(f"{live.url}/v1/chat/completions")
    assert wrong.status_code == 405 and "error" in wrong.json()
    assert wrong.headers["allow"] == "POST"


def test_an_error_mid_stream_arrives_as_an_error_event(miso):
    app = create_app(slow_copy(miso, BrokenModel), ServeConfig())
    with LiveServer(app) as server:
        BrokenModel.calls = 0
        body = {**OK, "stream": True, "max_tokens": 40, "temperature": 1.5, "seed": 0}
        with httpx.stream("POST", f"{server.url}/v1/chat/completions", json=body) as r:
            events = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
        assert r.status_code == 200 and events[-1] != "[DONE]"
        error = json.loads(events[-1])["error"]
        assert error["code"] == "internal_error" and "Traceback" not in events[-1]
        BrokenModel.calls = 0
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0)
        with pytest.raises(openai.APIError, match="internal server error"):
            list(client.chat.completions.create(model="miso", messages=USER, stream=True))
        health = server.health()
        assert health["errors"] == 2 and health["active"] == 0 and health["cancelled"] == 0


def test_the_chat_page_and_health_are_served(live):
    page = httpx.get(live.url)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/v1/chat/completions" in page.text and 'name="viewport"' in page.text
    assert "<script src=" not in page.text and "<link" not in page.text  # no CDN, no build step
    assert "https://" not in page.text and "http://" not in page.text
    health = live.health()
    assert health["status"] == "ok" and health["model"] == "miso"


# --- access ---------------------------------------------------------------------------------


def test_an_api_key_guards_everything_but_health_and_the_page(miso):
    with LiveServer(create_app(miso, ServeConfig(api_key="s3cret"))) as server:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
            denied = httpx.get(f"{server.url}/v1/models", headers=headers)
            assert denied.status_code == 401
            assert denied.json()["error"]["code"] == "invalid_api_key"
            assert post(server.url, OK, headers=headers).status_code == 401
        ok = httpx.get(f"{server.url}/v1/models", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        assert httpx.get(f"{server.url}/health").status_code == 200
        assert httpx.get(server.url).status_code == 200  # static page; it asks for the key
        keyed = openai.OpenAI(base_url=f"{server.url}/v1", api_key="s3cret", max_retries=0)
        assert keyed.chat.completions.create(model="miso", messages=USER).choices[0].message.content
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=f"{server.url}/v1", api_key="nope", max_retries=0).models.list()


def test_cors_is_off_unless_an_origin_is_allowed(live, miso):
    preflight = {"Origin": "https://example.org", "Access-Control-Request-Method": "POST"}
    assert (
        "access-control-allow-origin"
        not in httpx.options(f"{live.url}/v1/chat/completions", headers=preflight).headers
    )
    app = create_app(miso, ServeConfig(cors_origins=("https://example.org",)))
    with LiveServer(app) as server:
        sdk = {**preflight, "Access-Control-Request-Headers": "authorization,x-stainless-os"}
        allowed = httpx.options(f"{server.url}/v1/chat/completions", headers=sdk)
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://example.org"
        other = {**preflight, "Origin": "https://evil.example"}
        assert (
            "access-control-allow-origin"
            not in httpx.options(f"{server.url}/v1/chat/completions", headers=other).headers
        )


@pytest.mark.parametrize("key", ["", " padded", "schlüssel", "tab\tkey"])
def test_an_api_key_that_could_never_match_is_refused_at_start(key):
    with pytest.raises(ValueError, match="printable ASCII"):
        ServeConfig(api_key=key)


# --- back-pressure and disconnects ----------------------------------------------------------


def test_a_full_queue_answers_503_with_retry_after(miso):
    app = create_app(slow_copy(miso), ServeConfig(workers=1, queue_size=0))
    with LiveServer(app) as server:
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(post, server.url, {**OK, "max_tokens": 40})
            deadline = time.monotonic() + 30
            while server.health()["active"] < 1:
                assert time.monotonic() < deadline
                time.sleep(0.01)
            busy = post(server.url, OK)
            assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
            assert busy.json()["error"]["code"] == "server_busy"
            stream_busy = post(server.url, {**OK, "stream": True})
            assert stream_busy.status_code == 503
            assert first.result().status_code == 200
        assert server.health()["rejected_busy"] == 2


def test_a_client_that_disconnects_mid_stream_stops_the_generation(miso):
    app = create_app(slow_copy(miso), ServeConfig())
    with LiveServer(app) as server:
        SlowModel.calls = 0
        body = {**OK, "stream": True, "max_tokens": 120, "temperature": 1.5, "seed": 0}
        with httpx.stream("POST", f"{server.url}/v1/chat/completions", json=body, timeout=60) as r:
            lines = r.iter_lines()
            assert next(lines).startswith("data: ")
        deadline = time.monotonic() + 30
        while (h := server.health())["active"] or not h["cancelled"]:
            assert time.monotonic() < deadline, h
            time.sleep(0.02)
        calls = SlowModel.calls
        time.sleep(0.3)
        assert SlowModel.calls == calls, "the generation went on after the client left"
        assert calls < 60, f"{calls} decoding steps for a reply of up to 120 tokens"
        assert h["cancelled"] == 1 and h["served"] == 0

        # a client that gives up waiting for a whole (non-streamed) reply
        SlowModel.calls, SlowModel.delay = 0, 0.25
        try:
            with pytest.raises(httpx.ReadTimeout):
                post(server.url, {**body, "stream": False}, timeout=0.4)
            deadline = time.monotonic() + 30
            while (h := server.health())["active"] or h["cancelled"] < 2:
                assert time.monotonic() < deadline, h
                time.sleep(0.02)
            calls = SlowModel.calls
            time.sleep(0.6)
            assert SlowModel.calls == calls < 10 and h["served"] == 0
        finally:
            SlowModel.delay = 0.03


# --- the command ----------------------------------------------------------------------------


def test_serve_is_a_subcommand_and_a_prompt_can_still_say_serve(capsys):
    with pytest.raises(SystemExit) as exit_:
        run(["serve", "--help"])
    assert exit_.value.code == 0
    assert "--api-key" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        run(["--seed", "0", "--", "serve"])
    assert capsys.readouterr().out.strip()  # Miso answered the word "serve"


def test_the_listening_socket_is_tcp_so_replies_are_not_held_by_nagle():
    """asyncio sets TCP_NODELAY on accepted connections only when the listener says TCP."""
    import socket

    sock = listen("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP and sock.getsockname()[1] > 0
    finally:
        sock.close()
