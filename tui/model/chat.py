"""Chat Completions provider (Ollama, vLLM, llama.cpp, …): the same internal items over `/chat/completions`.

History items are translated to chat messages on the way out; streamed chunks are accumulated
into the same `message` and `function_call` items the Responses path produces. Tool calls are
accumulated by index and decided by what arrived, never by `finish_reason` alone (several
servers say "stop" after emitting calls).
"""

from __future__ import annotations

import json
import uuid
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, AsyncGenerator

from tui.model.sdk import STREAM_ERRORS, rate_limit_headers, rate_limits_of, sdk_client, stream_error
from tui.model.types import (
    Completed,
    ModelError,
    ModelClient,
    ModelEvent,
    OutputItemDone,
    Prompt,
    TextDelta,
    Usage,
    clean,
    malformed,
)


def _text(item: dict[str, Any]) -> str:
    return "\n\n".join(p.get("text", "") for p in item.get("content") or [] if isinstance(p, dict))


def _output_text(output: object) -> str:
    """A call's output as the text a chat `tool` message carries: Chat Completions takes no
    image there, so an image part (a data URL) becomes a note of its type and size."""
    if isinstance(output, str):
        return output
    texts = []
    for part in output if isinstance(output, list) else ():
        if not isinstance(part, dict):
            continue
        if part.get("type") == "input_text":
            texts.append(str(part.get("text", "")))
        elif part.get("type") == "input_image":
            url = str(part.get("image_url") or "")
            head, _, data = url.partition(";base64,")
            mime = head.removeprefix("data:") if data else "image"
            size = len(data) * 3 // 4 - data[-2:].count("=")
            texts.append(f"[image: {mime}, {size} bytes]" if data else "[image]")
    return "\n".join(texts)


def _has_image(item: dict[str, Any]) -> bool:
    return any(isinstance(p, dict) and p.get("type") == "input_image" for p in item.get("content") or [])


def _chat_parts(item: dict[str, Any]) -> list[dict[str, Any]]:
    """A user message with images, in Chat Completions' part form (`image_url` parts)."""
    parts: list[dict[str, Any]] = []
    for p in item.get("content") or []:
        if not isinstance(p, dict):
            continue
        if p.get("type") == "input_image" and isinstance(p.get("image_url"), str):
            parts.append({"type": "image_url", "image_url": {"url": p["image_url"]}})
        elif isinstance(p.get("text"), str):
            parts.append({"type": "text", "text": p["text"]})
    return parts


def to_chat_messages(prompt: Prompt) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": prompt.instructions}]
    for item in prompt.input:
        kind = item.get("type")
        if kind == "message":
            role = item.get("role")
            # Few local servers know the `developer` role; `system` means the same to them.
            content: str | list[dict[str, Any]] = _text(item)
            if role == "user" and _has_image(item):
                content = _chat_parts(item)
            messages.append({"role": "system" if role == "developer" else role, "content": content})
        elif kind in ("function_call", "custom_tool_call"):
            args = item.get("arguments") if kind == "function_call" else json.dumps({"input": item.get("input", "")})
            call = {"id": item["call_id"], "type": "function", "function": {"name": item["name"], "arguments": args or "{}"}}
            last = messages[-1]
            if last.get("role") == "assistant" and "tool_calls" in last:
                last["tool_calls"].append(call)
            elif last.get("role") == "assistant" and last.get("content") and "tool_calls" not in last:
                last["tool_calls"] = [call]
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind in ("function_call_output", "custom_tool_call_output"):
            messages.append({"role": "tool", "tool_call_id": item["call_id"], "content": _output_text(item.get("output", ""))})
        # reasoning, compaction and web_search_call items have no chat form: skipped.
    return messages


def chat_response_format(text_format: dict[str, Any]) -> dict[str, Any]:
    """The Responses API's `text.format` as Chat Completions' `response_format`: the schema's
    fields move under `json_schema`."""
    fields = {k: v for k, v in text_format.items() if k != "type"}
    return {"type": text_format["type"], "json_schema": fields} if fields else {"type": text_format["type"]}


def to_chat_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for t in tools:
        if t.get("type") != "function":
            continue  # freeform tools exist only on the Responses API
        fn = {"name": t["name"], "description": t.get("description", ""), "parameters": t.get("parameters", {})}
        out.append({"type": "function", "function": fn})
    return out


@dataclass
class _PendingCall:
    call_id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class ChatClient(ModelClient):
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        idle_timeout_s: float = 300.0,
        request_max_retries: int = 4,
        headers: dict[str, str] | None = None,
    ) -> None:
        """`request_max_retries` is unused: this provider has no request the turn loop does not
        retry itself, and the SDK must not retry sampling requests (see sdk.py)."""
        self.base_url = base_url
        self._idle_timeout_s = idle_timeout_s
        self._client = sdk_client(base_url, api_key, idle_timeout_s, headers or {})
        self._rate_limits: dict[str, str] = {}

    def rate_limits(self) -> dict[str, str]:
        return self._rate_limits

    async def aclose(self) -> None:
        await self._client.close()

    async def stream(self, prompt: Prompt) -> AsyncGenerator[ModelEvent, None]:
        body: dict[str, Any] = {
            "model": prompt.model,
            "messages": to_chat_messages(prompt),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        tools = to_chat_tools(prompt.tools)
        if tools:
            body["tools"] = tools
            body["tool_choice"] = "auto"
            body["parallel_tool_calls"] = prompt.parallel_tool_calls
        if prompt.text_format is not None:
            body["response_format"] = chat_response_format(prompt.text_format)
        text: list[str] = []
        calls: dict[Any, _PendingCall] = {}
        usage: Usage | None = None
        finished = False
        try:
            async with await self._client.chat.completions.create(**body) as stream:
                self._rate_limits = rate_limit_headers(stream.response.headers)
                async with aclosing(stream.__aiter__()) as chunks:
                    async for chunk in chunks:
                        raw = chunk.to_dict(warnings=False)  # lenient: some servers send odd types
                        if not isinstance(raw, dict):
                            raise malformed("a chunk that is not an object")
                        if raw.get("usage"):
                            usage = _usage(raw["usage"])
                        for choice in _objects(raw.get("choices"), "choices"):
                            delta = choice.get("delta") or {}
                            if not isinstance(delta, dict):
                                raise malformed("a delta that is not an object")
                            content = delta.get("content")
                            if content is not None and not isinstance(content, str):
                                raise malformed("content that is not text")
                            if content:
                                content = clean(content)
                                text.append(content)
                                yield TextDelta(content)
                            for pos, tc in enumerate(_objects(delta.get("tool_calls"), "tool_calls")):
                                _accumulate(calls, pos, tc)
                            if choice.get("finish_reason"):
                                finished = True
        except STREAM_ERRORS as e:
            self._rate_limits = rate_limits_of(e) or self._rate_limits
            raise stream_error(e, idle_timeout_s=self._idle_timeout_s) from e
        if not finished:
            raise ModelError("chat stream closed before a finish_reason", retryable=True, kind="stream")
        if text:
            yield OutputItemDone({
                "type": "message", "role": "assistant",
                "content": [{"type": "output_text", "text": "".join(text)}],
            })
        for c in calls.values():  # in the order they started (indexes may be of any type)
            yield OutputItemDone({
                "type": "function_call", "name": c.name, "arguments": "".join(c.arguments),
                "call_id": c.call_id or f"call_{uuid.uuid4().hex[:24]}",
            })
        yield Completed(None, usage)


def _objects(value: Any, what: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise malformed(f"`{what}` that is not a list of objects")
    return value


def _accumulate(calls: dict[Any, _PendingCall], position: int, tc: dict[str, Any]) -> None:
    index = tc.get("index")
    if index is None:
        # Older Ollama omits the index: a fragment with an id starts a new call.
        index = ("auto", len(calls)) if tc.get("id") or not calls else next(reversed(calls))
    call = calls.get(index)
    if call is None or (tc.get("id") and call.call_id and tc["id"] != call.call_id):
        # Some servers put every parallel call at index 0: a new id means a new call.
        index = index if call is None else ("auto", len(calls))
        call = calls[index] = _PendingCall()
    fn = tc.get("function") or {}
    if not isinstance(fn, dict):
        raise malformed("a tool call whose `function` is not an object")
    ident, name, args = tc.get("id"), fn.get("name"), fn.get("arguments")
    if isinstance(args, dict):  # a LiteLLM/Ollama bug sends an object instead of a string
        args = json.dumps(args)
    for value in (ident, name, args):
        if value is not None and not isinstance(value, str):
            raise malformed("a tool call with a non-text id, name or arguments")
    if ident:
        call.call_id = clean(ident)
    if name:
        call.name = clean(name)
    if args:
        call.arguments.append(clean(args))


def _usage(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    prompt = raw.get("prompt_tokens_details")
    completion = raw.get("completion_tokens_details")
    # The same shape as the Responses API's usage, read by one tolerant reader.
    return Usage.from_responses({
        "input_tokens": raw.get("prompt_tokens"),
        "input_tokens_details": {"cached_tokens": prompt.get("cached_tokens")} if isinstance(prompt, dict) else {},
        "output_tokens": raw.get("completion_tokens"),
        "output_tokens_details": {"reasoning_tokens": completion.get("reasoning_tokens")} if isinstance(completion, dict) else {},
        "total_tokens": raw.get("total_tokens"),
    })
