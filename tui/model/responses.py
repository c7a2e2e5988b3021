"""The OpenAI Responses API client: one streamed request → internal model events.

Stateless on purpose (ZDR-safe, cache-friendly): `store: false`, the whole history every time,
never `previous_response_id`, encrypted reasoning requested so reasoning items can be replayed.
"""

from __future__ import annotations

from contextlib import aclosing
from typing import Any, AsyncGenerator

import openai

from tui.model.sdk import STREAM_ERRORS, classify_error, sdk_client, sdk_error, stream_error
from tui.model.types import (
    Completed,
    clean,
    malformed,
    ModelError,
    ModelEvent,
    OutputItemDone,
    Prompt,
    ReasoningSummaryDelta,
    TextDelta,
    Usage,
)


def history_item(item: dict[str, Any]) -> dict[str, Any] | None:
    """The replayable form of an output item (see `_replayable`), lone surrogates cleaned."""
    out = _replayable(item)
    return clean(out) if out is not None else None


def _replayable(item: dict[str, Any]) -> dict[str, Any] | None:
    """The replayable form of an output item.

    Ids and statuses are dropped (with `store: false` the server cannot resolve ids, and a
    reasoning id without its encrypted content is refused); `phase` stays on assistant messages
    because the API asks for it back.
    """
    kind = item.get("type")
    if kind == "message":
        parts = [
            {"type": "output_text", "text": p["text"]}
            for p in _list(item.get("content"))
            if isinstance(p, dict) and p.get("type") == "output_text" and isinstance(p.get("text"), str)
        ]
        out: dict[str, Any] = {"type": "message", "role": "assistant", "content": parts}
        if isinstance(item.get("phase"), str) and item["phase"]:
            out["phase"] = item["phase"]
        return out
    if kind == "reasoning":
        summary = [
            {"type": "summary_text", "text": p["text"]}
            for p in _list(item.get("summary"))
            if isinstance(p, dict) and isinstance(p.get("text"), str)
        ]
        out = {"type": "reasoning", "summary": summary}
        content = [p for p in _list(item.get("content")) if isinstance(p, dict) and isinstance(p.get("text"), str)]
        if content:
            out["content"] = content
        if isinstance(item.get("encrypted_content"), str) and item["encrypted_content"]:
            out["encrypted_content"] = item["encrypted_content"]
        return out
    if kind in ("function_call", "custom_tool_call") and not _str(item.get("call_id")):
        return None  # a call nobody can answer; the turn loop treats it as a broken stream
    if kind == "function_call":
        return {
            "type": "function_call",
            "name": _str(item.get("name")),
            "arguments": _str(item.get("arguments")),
            "call_id": _str(item.get("call_id")),
        }
    if kind == "custom_tool_call":
        return {
            "type": "custom_tool_call",
            "name": _str(item.get("name")),
            "input": _str(item.get("input")),
            "call_id": _str(item.get("call_id")),
        }
    if kind == "compaction":
        blob = _str(item.get("encrypted_content"))
        return {"type": "compaction", "encrypted_content": blob} if blob else None
    if kind == "web_search_call":
        return _web_search_call(item)
    return None


# The fields each web search action carries (openai-python's ResponseFunctionWebSearch); `sources`
# is left out: it is only sent when asked for with `include`, and the model does not need it back.
_SEARCH_ACTION_FIELDS = {"search": ("query", "queries"), "open_page": ("url",), "find_in_page": ("url", "pattern")}
_SEARCH_STATUSES = ("in_progress", "searching", "completed", "failed", "incomplete")


def _web_search_call(item: dict[str, Any]) -> dict[str, Any] | None:
    """A hosted search, replayed as Codex replays it: without its id (under `store: false` the
    server has nothing stored to resolve it against), with its status and action."""
    action = item.get("action")
    if not isinstance(action, dict) or not isinstance(action.get("type"), str) or action["type"] not in _SEARCH_ACTION_FIELDS:
        return None  # nothing the API would take back, and nothing the model needs
    kept: dict[str, Any] = {"type": action["type"]}
    for name in _SEARCH_ACTION_FIELDS[action["type"]]:
        value = action.get(name)
        if name == "queries":
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                kept[name] = list(value)
        elif isinstance(value, str):
            kept[name] = value
    if action["type"] == "find_in_page" and not ("url" in kept and "pattern" in kept):
        return None  # both are required by the API
    out: dict[str, Any] = {"type": "web_search_call"}
    if item.get("status") in _SEARCH_STATUSES:
        out["status"] = item["status"]
    out["action"] = kept
    return out


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


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
    return body


class ResponsesClient:
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
        self._idle_timeout_s = idle_timeout_s
        self._client = sdk_client(base_url, api_key, idle_timeout_s, default_headers)
        # A copy sharing the connection pool: closing `_client` closes both.
        self._compact_client = self._client.with_options(max_retries=request_max_retries)

    @property
    def sdk(self) -> openai.AsyncOpenAI:
        return self._client

    async def aclose(self) -> None:
        await self._client.close()

    async def compact(self, prompt: Prompt) -> list[dict[str, Any]]:
        """`POST /responses/compact`: the history in, its compacted replacement out."""
        try:
            result = await self._compact_client.responses.compact(
                model=prompt.model,
                input=prompt.input,  # type: ignore[arg-type]
                instructions=prompt.instructions,
                prompt_cache_key=prompt.prompt_cache_key,
                # Same tools and settings as /responses, as Codex sends them: the prefix the
                # server may have cached for this conversation stays the same.
                extra_body={"tools": prompt.tools, "parallel_tool_calls": prompt.parallel_tool_calls,
                            **({"reasoning": prompt.reasoning} if prompt.reasoning is not None else {})},
            )
        except openai.OpenAIError as e:
            raise sdk_error(e) from e
        # warnings=False: the SDK types user messages in this output as assistant ones.
        return [item.to_dict(warnings=False) for item in result.output]

    async def stream(self, prompt: Prompt) -> AsyncGenerator[ModelEvent, None]:
        body = request_body(prompt)
        try:
            # `async with` + `aclosing`: stopping at the terminal event closes the HTTP response
            # and the SDK's iterator now, instead of leaving them to the garbage collector.
            async with await self._client.responses.create(**body) as stream:
                async with aclosing(stream.__aiter__()) as events:
                    async for event in events:
                        out = _translate(event)
                        if out is None:
                            continue
                        yield out
                        if isinstance(out, Completed):
                            return
        except STREAM_ERRORS as e:
            # Includes a nested `error` event mid-stream: the SDK raises instead of yielding it.
            raise stream_error(e, idle_timeout_s=self._idle_timeout_s) from e
        # The SDK ends iteration silently when the connection closes early.
        raise ModelError("stream closed before response.completed", retryable=True)


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
    """One SDK event → an internal event. The SDK builds events without validating them, so
    every field is checked here: a wrong shape is a broken stream (retried), never a crash."""
    kind = getattr(event, "type", None)
    if kind not in _HANDLED:
        return None
    d = event.to_dict(warnings=False)
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
        raw = d.get("response") if isinstance(d.get("response"), dict) else {}
        err = raw.get("error") if isinstance(raw.get("error"), dict) else {}
        raise classify_error(_str_or_none(err.get("code")), _str_or_none(err.get("message")) or "response failed")
    if kind == "response.incomplete":
        raw = d.get("response") if isinstance(d.get("response"), dict) else {}
        details = raw.get("incomplete_details") if isinstance(raw.get("incomplete_details"), dict) else {}
        reason = _str_or_none(details.get("reason")) or "unknown"
        raise ModelError(f"incomplete response ({reason})", retryable=False, code=reason)
    nested = d.get("error") if isinstance(d.get("error"), dict) else d
    raise classify_error(_str_or_none(nested.get("code")), _str_or_none(nested.get("message")) or "stream error")


_HANDLED = frozenset({
    "response.output_text.delta", "response.reasoning_summary_text.delta", "response.output_item.done",
    "response.completed", "response.failed", "response.incomplete", "error",
})


def _str_or_none(value: Any) -> str | None:
    return clean(value) if isinstance(value, str) else None if value is None else str(value)
