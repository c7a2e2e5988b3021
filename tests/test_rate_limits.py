"""The provider's `x-ratelimit-*` response headers: captured by the model clients from the real
HTTP response the SDK got (the fake server sends them over real SSE), bounded, and forwarded by
the lazy client. /status shows them (tests/test_app_settings.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui.config import ModelProviderInfo, ProviderSettings
from tui.engine.bootstrap import LazyClient
from tui.model.chat import ChatClient
from tui.model.responses import ResponsesClient
from tui.model.sdk import MAX_RATE_LIMIT_HEADERS, MAX_RATE_LIMIT_VALUE
from tui.model.types import ModelClient, ModelError, Prompt

LIMITS = {
    "X-RateLimit-Limit-Requests": "5000",
    "x-ratelimit-remaining-tokens": "799000",
    "x-ratelimit-reset-requests": "12ms",
    "x-request-budget": "not a rate limit",
}


def _prompt() -> Prompt:
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
    return Prompt("gpt-5.4", "BASE", [item], [], True, "session-1")


async def _drain(client: ModelClient) -> list[Any]:
    return [e async for e in client.stream(_prompt())]


async def test_responses_client_keeps_the_rate_limit_headers_of_the_last_answer(fake_openai: FakeOpenAI) -> None:
    client = ResponsesClient(base_url=fake_openai.base_url, api_key="k")
    assert client.rate_limits() == {}
    fake_openai.stream_headers = dict(LIMITS)
    fake_openai.queue_response(fe.turn(fe.message_item("one")))
    try:
        await _drain(client)
        assert client.rate_limits() == {
            "x-ratelimit-limit-requests": "5000",
            "x-ratelimit-remaining-tokens": "799000",
            "x-ratelimit-reset-requests": "12ms",
        }
        fake_openai.stream_headers = {"x-ratelimit-remaining-tokens": "1000"}
        fake_openai.queue_response(fe.turn(fe.message_item("two")))
        await _drain(client)
        assert client.rate_limits() == {"x-ratelimit-remaining-tokens": "1000"}
    finally:
        await client.aclose()


async def test_a_refused_request_updates_them_too(fake_openai: FakeOpenAI) -> None:
    client = ResponsesClient(base_url=fake_openai.base_url, api_key="k")
    fake_openai.queue_http_error(
        429, {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}},
        headers={"x-should-retry": "false", "x-ratelimit-remaining-requests": "0", "retry-after": "1"},
    )
    try:
        with pytest.raises(ModelError):
            await _drain(client)
        assert client.rate_limits() == {"x-ratelimit-remaining-requests": "0"}
    finally:
        await client.aclose()


async def test_a_hostile_provider_gets_a_bounded_copy(fake_openai: FakeOpenAI) -> None:
    # Kept under h11's header limit (the SDK refuses a bigger head outright).
    fake_openai.stream_headers = {f"x-ratelimit-h{n:02d}": "v" * 200 for n in range(30)}
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    client = ResponsesClient(base_url=fake_openai.base_url, api_key="k")
    try:
        await _drain(client)
    finally:
        await client.aclose()
    limits = client.rate_limits()
    assert len(limits) == MAX_RATE_LIMIT_HEADERS
    assert all(len(v) == MAX_RATE_LIMIT_VALUE for v in limits.values())


async def test_chat_client_and_the_lazy_client_report_them(fake_openai: FakeOpenAI) -> None:
    fake_openai.stream_headers = {"x-ratelimit-remaining-requests": "41"}
    fake_openai.queue_chat(fe.chat_text_chunks("hello"))
    chat = ChatClient(base_url=fake_openai.base_url, api_key="k")
    try:
        await _drain(chat)
    finally:
        await chat.aclose()
    assert chat.rate_limits() == {"x-ratelimit-remaining-requests": "41"}

    provider = ProviderSettings("local", fake_openai.base_url, "k", "responses", ModelProviderInfo())
    lazy = LazyClient(provider, "s")
    assert lazy.rate_limits() == {} and lazy._client is None, "asking must not build the client"
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    try:
        await _drain(lazy)
    finally:
        await lazy.aclose()
    assert lazy.rate_limits() == {"x-ratelimit-remaining-requests": "41"}
