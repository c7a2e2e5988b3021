"""The OpenAI Responses API client: one streamed request → internal model events.

Stateless on purpose (ZDR-safe, cache-friendly): `store: false`, the whole history every time,
never `previous_response_id`, encrypted reasoning requested so reasoning items can be replayed.
"""

from __future__ import annotations

from contextlib import aclosing
from typing import Any, AsyncGenerator, cast

import openai

from tui.model.sdk import (
    STREAM_ERRORS,
    classify_error,
    rate_limit_headers,
    rate_limits_of,
    sdk_client,
    sdk_error,
    stream_error,
)
from tui.model.types import (
    Completed,
    ModelError,
    ModelClient,
    ModelEvent,
    OutputItemDone,
    Prompt,
    ReasoningSummaryDelta,
    TextDelta,
    Usage,
    clean,
    malformed,
)


def request_body(prompt: Prompt) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": prompt.model,
        "instructions": prompt.instructions,
        "input": prompt.input,
        "tools": prompt.tools,
        "tool_choice": "auto",
        "parallel_tool_calls": prompt.parallel_tool_calls,
        "store": False,
        "stream": True,
        "prompt_cache_key": prompt.prompt_cache_key,
    }
    if prompt.reasoning is not None:
        body["reasoning"] = prompt.reasoning
        # Without storage, reasoning can only be replayed from its encrypted content.
        body["include"] = ["reasoning.encrypted_content"]
    if prompt.text_format is not None:
        body["text"] = {"format": prompt.text_format}
    return body


class ResponsesClient(ModelClient):
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        idle_timeout_s: float = 300.0,
        request_max_retries: int = 4,
        headers: dict[str, str] | None = None,
        session_id: str | None = None,
    ) -> None:
        """`request_max_retries` applies to `/responses/compact` only: sampling requests are
        retried, visibly, by the turn loop (see sdk.py for why the SDK must not retry them)."""
        default_headers = dict(headers or {})
        if session_id:
            default_headers.setdefault("session_id", session_id)
        self.base_url = base_url
        self._idle_timeout_s = idle_timeout_s
        self._client = sdk_client(base_url, api_key, idle_timeout_s, default_headers)
        # A copy sharing the connection pool: closing `_client` closes both.
        self._compact_client = self._client.with_options(max_retries=request_max_retries)
        self._rate_limits: dict[str, str] = {}

    def rate_limits(self) -> dict[str, str]:
        return self._rate_limits

    @property
    def sdk(self) -> openai.AsyncOpenAI:
        return self._client

    supports_compact = True

    async def aclose(self) -> None:
        await self._client.close()

    async def compact(self, prompt: Prompt) -> list[dict[str, Any]]:
        """`POST /responses/compact`: the history in, its compacted replacement out."""
        body: dict[str, Any] = {
            "model": prompt.model, "input": prompt.input, "instructions": prompt.instructions,
            "prompt_cache_key": prompt.prompt_cache_key,
            # Same tools and settings as /responses, as Codex sends them: the prefix the
            # server may have cached for this conversation stays the same.
            "tools": prompt.tools, "parallel_tool_calls": prompt.parallel_tool_calls,
            **({"reasoning": prompt.reasoning} if prompt.reasoning is not None else {}),
        }  # fmt: skip
        try:
            # The answer as the JSON it arrived as, not the SDK's model of it: a provider's
            # `{"output": "text"}` made the typed path crash (`'str' object has no attribute
            # 'to_dict'`) instead of falling back to a local summary.
            result = await self._compact_client.post("/responses/compact", body=body, cast_to=object)
        except openai.OpenAIError as e:
            raise sdk_error(e) from e
        except ValueError as e:  # the SDK parses a JSON content type; truncated JSON lands here
            raise ModelError(f"malformed compaction answer: not JSON ({e})", retryable=False) from e
        return compact_output(result)

    async def stream(self, prompt: Prompt) -> AsyncGenerator[ModelEvent, None]:
        body = request_body(prompt)
        try:
            # `async with` + `aclosing`: stopping at the terminal event closes the HTTP response
            # and the SDK's iterator now, instead of leaving them to the garbage collector.
            # The SDK's own request, auth, error mapping and SSE decoding, with the events left as
            # the JSON objects they arrived as: `_translate` checks each field it uses anyway, and
            # skipping the SDK's typing of the request and of every event saves ~0.15 s on the
            # first request (building its pydantic schemas) and O(history) work on each.
            stream = await self._client.post(
                "/responses", body=body, cast_to=object, stream=True, stream_cls=openai.AsyncStream[object]
            )
            self._rate_limits = rate_limit_headers(stream.response.headers)
            async with stream:
                async with aclosing(cast(AsyncGenerator[object, None], stream.__aiter__())) as events:
                    async for event in events:
                        out = _translate(event)
                        if out is None:
                            continue
                        yield out
                        if isinstance(out, Completed):
                            return
        except STREAM_ERRORS as e:
            self._rate_limits = rate_limits_of(e) or self._rate_limits
            # Includes a nested `error` event mid-stream: the SDK raises instead of yielding it.
            raise stream_error(e, idle_timeout_s=self._idle_timeout_s) from e
        # The SDK ends iteration silently when the connection closes early.
        raise ModelError("stream closed before response.completed", retryable=True, kind="stream")


def compact_output(answer: Any) -> list[dict[str, Any]]:
    """The `output` list of a /responses/compact answer, each item an object; anything else is a
    clear, non-retryable error (the caller then summarises locally)."""
    if not isinstance(answer, dict):
        raise ModelError(f"malformed compaction answer: a {type(answer).__name__}, not an object", retryable=False)
    output = answer.get("output")
    if not isinstance(output, list):
        raise ModelError(
            f"malformed compaction answer: `output` is a {type(output).__name__}, not a list", retryable=False
        )
    return [clean(item) for item in output if isinstance(item, dict)]


def _dict_or_empty(value: object) -> dict[str, Any]:
    """`value` when the provider sent an object there, else an empty one (fields are optional)."""
    return value if isinstance(value, dict) else {}


def _text_of(d: dict[str, Any], key: str) -> str:
    value = d.get(key)
    if not isinstance(value, str):
        raise malformed(f"{d.get('type')} without a text `{key}`")
    return clean(value)


def _dict_of(d: dict[str, Any], key: str) -> dict[str, Any]:
    value = d.get(key)
    if not isinstance(value, dict):
        raise malformed(f"{d.get('type')} without an object `{key}`")
    return value


def _translate(event: Any) -> ModelEvent | None:
    """One decoded SSE event (a JSON value) → an internal event. Every field used is checked
    here: a wrong shape is a broken stream (retried), never a crash."""
    if not isinstance(event, dict) or event.get("type") not in _HANDLED:
        return None
    d: dict[str, Any] = event
    kind = d["type"]
    if kind == "response.output_text.delta":
        return TextDelta(_text_of(d, "delta"))
    if kind == "response.reasoning_summary_text.delta":
        return ReasoningSummaryDelta(_text_of(d, "delta"))
    if kind == "response.output_item.done":
        # The `.done` copy is the final one (encrypted content differs from `.added`).
        return OutputItemDone(clean(_dict_of(d, "item")))
    if kind == "response.completed":
        raw = _dict_of(d, "response")
        rid = raw.get("id")
        return Completed(rid if isinstance(rid, str) else None, Usage.from_responses(raw.get("usage")))
    if kind == "response.failed":
        raw = _dict_or_empty(d.get("response"))
        err = _dict_or_empty(raw.get("error"))
        raise classify_error(_str_or_none(err.get("code")), _str_or_none(err.get("message")) or "response failed")
    if kind == "response.incomplete":
        raw = _dict_or_empty(d.get("response"))
        details = _dict_or_empty(raw.get("incomplete_details"))
        reason = _str_or_none(details.get("reason")) or "unknown"
        raise ModelError(f"incomplete response ({reason})", retryable=False, code=reason)
    nested = d["error"] if isinstance(d.get("error"), dict) else d
    raise classify_error(_str_or_none(nested.get("code")), _str_or_none(nested.get("message")) or "stream error")


_HANDLED = frozenset({
    "response.output_text.delta", "response.reasoning_summary_text.delta", "response.output_item.done",
    "response.completed", "response.failed", "response.incomplete", "error",
})


def _str_or_none(value: Any) -> str | None:
    return clean(value) if isinstance(value, str) else None if value is None else str(value)
