"""The OpenAI Responses API client: one streamed request → internal model events.

Stateless on purpose (ZDR-safe, cache-friendly): `store: false`, the whole history every time,
never `previous_response_id`, encrypted reasoning requested so reasoning items can be replayed.
"""

from __future__ import annotations

from contextlib import aclosing
from typing import Any, AsyncGenerator

import openai

from tui.model.sdk import classify_error, sdk_client, sdk_error
from tui.model.types import (
    Completed,
    ModelError,
    ModelEvent,
    OutputItemDone,
    Prompt,
    ReasoningSummaryDelta,
    TextDelta,
    Usage,
)


def history_item(item: dict[str, Any]) -> dict[str, Any] | None:
    """The replayable form of an output item.

    Ids and statuses are dropped (with `store: false` the server cannot resolve ids, and a
    reasoning id without its encrypted content is refused); `phase` stays on assistant messages
    because the API asks for it back.
    """
    kind = item.get("type")
    if kind == "message":
        parts = [
            {"type": "output_text", "text": p.get("text", "")}
            for p in item.get("content") or []
            if p.get("type") == "output_text"
        ]
        out: dict[str, Any] = {"type": "message", "role": "assistant", "content": parts}
        if item.get("phase"):
            out["phase"] = item["phase"]
        return out
    if kind == "reasoning":
        out = {"type": "reasoning", "summary": item.get("summary") or []}
        if item.get("content"):
            out["content"] = item["content"]
        if item.get("encrypted_content"):
            out["encrypted_content"] = item["encrypted_content"]
        return out
    if kind == "function_call":
        return {
            "type": "function_call",
            "name": item.get("name", ""),
            "arguments": item.get("arguments") or "",
            "call_id": item.get("call_id", ""),
        }
    if kind == "custom_tool_call":
        return {
            "type": "custom_tool_call",
            "name": item.get("name", ""),
            "input": item.get("input") or "",
            "call_id": item.get("call_id", ""),
        }
    if kind == "compaction":
        return {"type": "compaction", "encrypted_content": item.get("encrypted_content", "")}
    if kind in ("web_search_call",):
        return {k: v for k, v in item.items() if k != "status"}
    return None


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
        except openai.OpenAIError as e:
            # Includes a nested `error` event mid-stream: the SDK raises instead of yielding it.
            raise sdk_error(e, idle_timeout_s=self._idle_timeout_s) from e
        # The SDK ends iteration silently when the connection closes early.
        raise ModelError("stream closed before response.completed", retryable=True)


def _translate(event: Any) -> ModelEvent | None:
    kind = getattr(event, "type", None)
    if kind == "response.output_text.delta":
        return TextDelta(event.delta)
    if kind == "response.reasoning_summary_text.delta":
        return ReasoningSummaryDelta(event.delta)
    if kind == "response.output_item.done":
        # The `.done` copy is the final one (encrypted content differs from `.added`).
        return OutputItemDone(event.item.to_dict())
    if kind == "response.completed":
        raw = event.response.to_dict()
        return Completed(raw.get("id"), Usage.from_responses(raw.get("usage")))
    if kind == "response.failed":
        err = (event.response.to_dict().get("error")) or {}
        raise classify_error(err.get("code"), err.get("message") or "response failed")
    if kind == "response.incomplete":
        details = event.response.to_dict().get("incomplete_details") or {}
        reason = details.get("reason") or "unknown"
        raise ModelError(f"incomplete response ({reason})", retryable=False, code=reason)
    if kind == "error":
        raw = event.to_dict()
        nested = raw.get("error") if isinstance(raw.get("error"), dict) else raw
        raise classify_error(nested.get("code"), nested.get("message") or "stream error")
    return None
