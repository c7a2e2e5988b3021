"""Chat Completions provider (Ollama, vLLM, llama.cpp, …): the same internal items over `/chat/completions`.

History items are translated to chat messages on the way out; streamed chunks are accumulated
into the same `message` and `function_call` items the Responses path produces. Tool calls are
accumulated by index and decided by what arrived, never by `finish_reason` alone (several
servers say "stop" after emitting calls).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any, AsyncGenerator

import openai

from tui.model.sdk import sdk_client, sdk_error
from tui.model.types import (
    Completed,
    ModelError,
    ModelEvent,
    OutputItemDone,
    Prompt,
    TextDelta,
    Usage,
)


def _text(item: dict[str, Any]) -> str:
    return "\n\n".join(p.get("text", "") for p in item.get("content") or [] if isinstance(p, dict))


def to_chat_messages(prompt: Prompt) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": prompt.instructions}]
    for item in prompt.input:
        kind = item.get("type")
        if kind == "message":
            role = item.get("role")
            # Few local servers know the `developer` role; `system` means the same to them.
            messages.append({"role": "system" if role == "developer" else role, "content": _text(item)})
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
            messages.append({"role": "tool", "tool_call_id": item["call_id"], "content": item.get("output", "")})
        # reasoning and compaction items have no chat form: skipped.
    return messages


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


class ChatClient:
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
        self._idle_timeout_s = idle_timeout_s
        self._client = sdk_client(base_url, api_key, idle_timeout_s, headers or {})

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
        text: list[str] = []
        calls: dict[int, _PendingCall] = {}
        usage: Usage | None = None
        finished = False
        try:
            async with await self._client.chat.completions.create(**body) as stream:
                async for chunk in stream:
                    raw = chunk.to_dict(warnings=False)  # lenient: some servers send odd types
                    if raw.get("usage"):
                        usage = _usage(raw["usage"])
                    for choice in raw.get("choices") or []:
                        delta = choice.get("delta") or {}
                        if delta.get("content"):
                            text.append(delta["content"])
                            yield TextDelta(delta["content"])
                        for pos, tc in enumerate(delta.get("tool_calls") or []):
                            _accumulate(calls, pos, tc)
                        if choice.get("finish_reason"):
                            finished = True
        except openai.OpenAIError as e:
            raise sdk_error(e, idle_timeout_s=self._idle_timeout_s) from e
        if not finished:
            raise ModelError("chat stream closed before a finish_reason", retryable=True)
        if text:
            yield OutputItemDone({
                "type": "message", "role": "assistant",
                "content": [{"type": "output_text", "text": "".join(text)}],
            })
        for index in sorted(calls):
            c = calls[index]
            yield OutputItemDone({
                "type": "function_call", "name": c.name, "arguments": "".join(c.arguments),
                "call_id": c.call_id or f"call_{uuid.uuid4().hex[:24]}",
            })
        yield Completed(None, usage)


def _accumulate(calls: dict[int, _PendingCall], position: int, tc: dict[str, Any]) -> None:
    index = tc.get("index")
    if index is None:
        # Older Ollama omits the index: a fragment with an id starts a new call.
        index = len(calls) if tc.get("id") or not calls else max(calls)
    call = calls.get(index)
    if call is None or (tc.get("id") and call.call_id and tc["id"] != call.call_id):
        # Some servers put every parallel call at index 0: a new id means a new call.
        index = index if call is None else max(calls) + 1
        call = calls[index] = _PendingCall()
    fn = tc.get("function") or {}
    if tc.get("id"):
        call.call_id = tc["id"]
    if fn.get("name"):
        call.name = fn["name"]
    args = fn.get("arguments")
    if isinstance(args, dict):  # a LiteLLM/Ollama bug sends an object instead of a string
        args = json.dumps(args)
    if args:
        call.arguments.append(args)


def _usage(raw: dict[str, Any]) -> Usage:
    prompt_details = raw.get("prompt_tokens_details") or {}
    completion_details = raw.get("completion_tokens_details") or {}
    return Usage(
        input_tokens=int(raw.get("prompt_tokens") or 0),
        cached_input_tokens=int(prompt_details.get("cached_tokens") or 0),
        output_tokens=int(raw.get("completion_tokens") or 0),
        reasoning_tokens=int(completion_details.get("reasoning_tokens") or 0),
        total_tokens=int(raw.get("total_tokens") or 0),
    )
