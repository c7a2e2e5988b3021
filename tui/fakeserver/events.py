"""Builders for Responses API stream events and Chat Completions chunks.

Item builders (`message_item`, `function_call_item`, ...) return the events of one output item
without `output_index` bookkeeping or `sequence_number`; `turn()` assembles them into a full,
consistent stream: created, in_progress, the items at output_index 0, 1, 2..., then a terminal
event whose `response.output` is the list of the items' final (`output_item.done`) objects.
Every event `turn()` emits passes its SDK class's `model_validate` (tests pin that).

Shapes follow the real captures in tests/data/openai (see responses-protocol.md §1). Loading
those captures is test-only (tests/fakeopenai/events.py): tests/data/ is not part of the package.
"""

from __future__ import annotations

import copy
import secrets
import time
from typing import Any

DEFAULT_MODEL = "gpt-5.4"
ENCRYPTED = "gAAAAABfakeopenai-encrypted-reasoning=="

Event = dict[str, Any]


def new_id(prefix: str) -> str:
    """A realistic-looking id such as `msg_0a63f4…`; pass explicit ids where a test needs stability."""
    return f"{prefix}_{secrets.token_hex(12)}"


def chunks_of(text: str, size: int = 4) -> list[str]:
    """Split text into delta pieces; an empty text still yields no deltas, like the live API."""
    return [text[i : i + size] for i in range(0, len(text), size)]


# --- usage and the Response object -------------------------------------------------------------


def usage(
    input_tokens: int = 120,
    output_tokens: int = 30,
    *,
    cached_tokens: int = 0,
    reasoning_tokens: int = 0,
    cache_write_tokens: int = 0,
) -> dict[str, Any]:
    """Responses usage. cached ⊂ input and reasoning ⊂ output; total = input + output (as live)."""
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached_tokens, "cache_write_tokens": cache_write_tokens},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": input_tokens + output_tokens,
    }


# What a 2026 capture echoes back besides the fields below (request settings, mostly defaults).
_RESPONSE_ECHO: dict[str, Any] = {
    "background": False, "instructions": None, "max_output_tokens": None, "max_tool_calls": None,
    "parallel_tool_calls": True, "previous_response_id": None, "prompt_cache_key": None,
    "reasoning": {"effort": "medium", "summary": "auto"}, "service_tier": "default", "store": False,
    "temperature": 1.0, "text": {"format": {"type": "text"}, "verbosity": "medium"}, "tool_choice": "auto",
    "tools": [], "top_p": 1.0, "truncation": "disabled", "user": None, "metadata": {},
}  # fmt: skip


def response_object(
    resp_id: str,
    *,
    status: str = "in_progress",
    output: list[dict[str, Any]] | None = None,
    usage: dict[str, Any] | None = None,
    model: str = DEFAULT_MODEL,
    error: dict[str, Any] | None = None,
    incomplete_details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    now = int(time.time())
    return {
        "id": resp_id, "object": "response", "created_at": now, "status": status, "model": model,
        "completed_at": now if status == "completed" else None, "error": error,
        "incomplete_details": incomplete_details, "output": list(output or []), "usage": usage,
        **copy.deepcopy(_RESPONSE_ECHO),
    }  # fmt: skip


def response_created(resp_id: str, *, model: str = DEFAULT_MODEL) -> Event:
    return {"type": "response.created", "response": response_object(resp_id, model=model)}


def response_in_progress(resp_id: str, *, model: str = DEFAULT_MODEL) -> Event:
    return {"type": "response.in_progress", "response": response_object(resp_id, model=model)}


def completed(
    usage: dict[str, Any] | None = None,
    *,
    output: list[dict[str, Any]] | None = None,
    resp_id: str | None = None,
    model: str = DEFAULT_MODEL,
) -> Event:
    resp = response_object(
        resp_id or new_id("resp"), status="completed", output=output, usage=usage or _default_usage(), model=model
    )
    return {"type": "response.completed", "response": resp}


def incomplete(
    reason: str = "max_output_tokens",
    *,
    usage: dict[str, Any] | None = None,
    output: list[dict[str, Any]] | None = None,
    resp_id: str | None = None,
    model: str = DEFAULT_MODEL,
) -> Event:
    resp = response_object(
        resp_id or new_id("resp"),
        status="incomplete",
        output=output,
        usage=usage or _default_usage(),
        model=model,
        incomplete_details={"reason": reason},
    )
    return {"type": "response.incomplete", "response": resp}


def failed(code: str | None, message: str, *, resp_id: str | None = None, model: str = DEFAULT_MODEL) -> Event:
    """`response.failed`; `code` is an open string (live codes fall outside the SDK enum)."""
    resp = response_object(
        resp_id or new_id("resp"), status="failed", model=model, error={"code": code, "message": message}
    )
    return {"type": "response.failed", "response": resp}


def error_event(
    code: str | None,
    message: str,
    *,
    param: str | None = None,
    error_type: str = "invalid_request_error",
    nested: bool = True,
) -> Event:
    """The `error` stream event. `nested=True` is the live shape, which makes the SDK *raise*
    `openai.APIError` mid-iteration; `nested=False` is the spec shape, yielded as ResponseErrorEvent."""
    if nested:
        return {"type": "error", "error": {"type": error_type, "code": code, "message": message, "param": param}}
    return {"type": "error", "code": code, "message": message, "param": param}


def _default_usage() -> dict[str, Any]:
    return usage()


# --- output items ------------------------------------------------------------------------------


def message_item(
    text: str, *, item_id: str | None = None, phase: str | None = None, chunk_size: int = 4, output_index: int = 0
) -> list[Event]:
    """An assistant message: added, content_part.added, deltas, text done, part done, item done."""
    item_id = item_id or new_id("msg")
    base = {"item_id": item_id, "output_index": output_index, "content_index": 0}
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
    added: dict[str, Any] = {
        "id": item_id, "type": "message", "status": "in_progress", "content": [], "role": "assistant"
    }  # fmt: skip
    if phase is not None:
        added["phase"] = phase
    done = {**added, "status": "completed", "content": [part]}
    return [
        {"type": "response.output_item.added", "output_index": output_index, "item": added},
        {"type": "response.content_part.added", **base, "part": {**part, "text": ""}},
        *(
            {"type": "response.output_text.delta", **base, "delta": piece, "logprobs": []}
            for piece in chunks_of(text, chunk_size)
        ),
        {"type": "response.output_text.done", **base, "text": text, "logprobs": []},
        {"type": "response.content_part.done", **base, "part": part},
        {"type": "response.output_item.done", "output_index": output_index, "item": done},
    ]


def function_call_item(
    call_id: str, name: str, arguments: str, *, item_id: str | None = None, chunk_size: int = 8, output_index: int = 0
) -> list[Event]:
    """A function call. Like the live API, `arguments.done` carries no `name`."""
    item = {"id": item_id or new_id("fc"), "type": "function_call", "call_id": call_id, "name": name}
    return _streamed_call(item, "arguments", arguments, "function_call_arguments", chunk_size, output_index)


def custom_tool_call_item(
    call_id: str, name: str, input: str, *, item_id: str | None = None, chunk_size: int = 16, output_index: int = 0
) -> list[Event]:
    """A freeform (custom) tool call; `input` is raw text such as a patch, not JSON."""
    item = {"id": item_id or new_id("ctc"), "type": "custom_tool_call", "call_id": call_id, "name": name}
    return _streamed_call(item, "input", input, "custom_tool_call_input", chunk_size, output_index)


def _streamed_call(
    item: dict[str, Any], field: str, value: str, stem: str, chunk_size: int, output_index: int
) -> list[Event]:
    # Both call kinds stream the same way: added (empty field), deltas, `.done` with the whole
    # value, then the completed item. Calls are never interleaved (responses-protocol.md §1d).
    added = {**item, "status": "in_progress", field: ""}
    base = {"item_id": item["id"], "output_index": output_index}
    deltas = [{"type": f"response.{stem}.delta", **base, "delta": piece} for piece in chunks_of(value, chunk_size)]
    return [
        {"type": "response.output_item.added", "output_index": output_index, "item": added},
        *deltas,
        {"type": f"response.{stem}.done", **base, field: value},
        {
            "type": "response.output_item.done",
            "output_index": output_index,
            "item": {**added, "status": "completed", field: value},
        },
    ]


def reasoning_item(
    summary: str | list[str],
    encrypted_content: str = ENCRYPTED,
    *,
    item_id: str | None = None,
    chunk_size: int = 8,
    output_index: int = 0,
) -> list[Event]:
    """A reasoning item with summary parts (one per string). As under store:false it has no status,
    and the `.added` copy of encrypted_content differs from the final one, as it does live."""
    item_id = item_id or new_id("rs")
    parts = [summary] if isinstance(summary, str) else list(summary)
    added = {"id": item_id, "type": "reasoning", "encrypted_content": encrypted_content[:12], "summary": []}
    events: list[Event] = [{"type": "response.output_item.added", "output_index": output_index, "item": added}]
    for index, text in enumerate(parts):
        base = {"item_id": item_id, "output_index": output_index, "summary_index": index}
        part = {"type": "summary_text", "text": text}
        events.append({"type": "response.reasoning_summary_part.added", **base, "part": {**part, "text": ""}})
        events += [
            {"type": "response.reasoning_summary_text.delta", **base, "delta": piece}
            for piece in chunks_of(text, chunk_size)
        ]
        events.append({"type": "response.reasoning_summary_text.done", **base, "text": text})
        events.append({"type": "response.reasoning_summary_part.done", **base, "part": part})
    summaries = [{"type": "summary_text", "text": text} for text in parts]
    final = {**added, "encrypted_content": encrypted_content, "summary": summaries}
    events.append({"type": "response.output_item.done", "output_index": output_index, "item": final})
    return events


def compaction_item(
    encrypted_content: str = ENCRYPTED, *, item_id: str | None = None, output_index: int = 0
) -> list[Event]:
    """Server-side compaction (context_management): added and done, no deltas, as captured live."""
    item = {"id": item_id or new_id("cmp"), "type": "compaction", "encrypted_content": encrypted_content}
    return [
        {"type": "response.output_item.added", "output_index": output_index, "item": item},
        {"type": "response.output_item.done", "output_index": output_index, "item": item},
    ]


def web_search_call_item(
    query: str | None = None,
    *,
    action: dict[str, Any] | None = None,
    status: str = "completed",
    item_id: str | None = None,
    output_index: int = 0,
) -> list[Event]:
    """A hosted web search (the `web_search` tool): added, in_progress, searching, completed,
    done. `query` makes a `search` action; pass `action` for `open_page` / `find_in_page`."""
    item_id = item_id or new_id("ws")
    final_action = action if action is not None else {"type": "search", "query": query or ""}
    added = {"id": item_id, "type": "web_search_call", "status": "in_progress", "action": {"type": final_action["type"]}}
    if final_action["type"] == "find_in_page":  # url and pattern are required on that action
        added["action"] = dict(final_action)
    base = {"item_id": item_id, "output_index": output_index}
    return [
        {"type": "response.output_item.added", "output_index": output_index, "item": added},
        {"type": "response.web_search_call.in_progress", **base},
        {"type": "response.web_search_call.searching", **base},
        {"type": "response.web_search_call.completed", **base},
        {
            "type": "response.output_item.done",
            "output_index": output_index,
            "item": {**added, "status": status, "action": final_action},
        },
    ]


# --- assembling a stream -----------------------------------------------------------------------


def turn(
    *items: list[Event],
    usage: dict[str, Any] | None = None,
    resp_id: str | None = None,
    model: str = DEFAULT_MODEL,
    incomplete_reason: str | None = None,
) -> list[Event]:
    """A complete stream: envelope, items (output_index assigned in order), terminal event.

    `incomplete_reason` ends with `response.incomplete` (e.g. "max_output_tokens") instead of
    `response.completed`. sequence_number runs 0, 1, 2, ... over the whole stream.
    """
    resp_id = resp_id or new_id("resp")
    events: list[Event] = [response_created(resp_id, model=model), response_in_progress(resp_id, model=model)]
    output: list[dict[str, Any]] = []
    for index, group in enumerate(items):
        for event in copy.deepcopy(group):
            if "output_index" in event:
                event["output_index"] = index
            if event["type"] == "response.output_item.done":
                output.append(event["item"])
            events.append(event)
    if incomplete_reason is None:
        events.append(completed(usage, output=output, resp_id=resp_id, model=model))
    else:
        events.append(incomplete(incomplete_reason, usage=usage, output=output, resp_id=resp_id, model=model))
    return number(events)


def number(events: list[Event]) -> list[Event]:
    """Fill in missing sequence_numbers, continuing from the previous event's (0 at the start)."""
    result, previous = [], -1
    for event in events:
        event = dict(event)
        if not isinstance(event.get("sequence_number"), int):
            event["sequence_number"] = previous + 1
        previous = event["sequence_number"]
        result.append(event)
    return result


def compacted(
    user_texts: list[str], encrypted_content: str = ENCRYPTED, *, usage: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A `/responses/compact` answer: the user messages, then one compaction item (spec example)."""
    output: list[dict[str, Any]] = [
        {
            "id": new_id("msg"), "type": "message", "status": "completed", "role": "user",
            "content": [{"type": "input_text", "text": text}],
        }
        for text in user_texts
    ]  # fmt: skip
    output.append({"id": new_id("cmp"), "type": "compaction", "encrypted_content": encrypted_content})
    return {
        "id": new_id("resp"),
        "object": "response.compaction",
        "created_at": int(time.time()),
        "output": output,
        "usage": usage or _default_usage(),
    }


# --- Chat Completions chunks -------------------------------------------------------------------


def chat_chunk(
    delta: dict[str, Any] | None,
    *,
    finish_reason: str | None = None,
    chat_id: str = "chatcmpl-fake",
    model: str = "gpt-4o-2024-08-06",
) -> dict[str, Any]:
    """One chunk; `delta=None` gives the usage-style chunk with `choices: []`."""
    choices = [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]
    return {
        "id": chat_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_fakeopenai",
        "choices": choices,
        "usage": None,
    }


def chat_text_chunks(
    text: str, *, finish_reason: str | None = "stop", chunk_size: int = 4, chat_id: str = "chatcmpl-fake"
) -> list[dict[str, Any]]:
    """Role chunk, content pieces, then (unless finish_reason is None) the finishing empty delta."""
    chunks = [chat_chunk({"role": "assistant", "content": ""}, chat_id=chat_id)]
    chunks += [chat_chunk({"content": piece}, chat_id=chat_id) for piece in chunks_of(text, chunk_size)]
    if finish_reason is not None:
        chunks.append(chat_chunk({}, finish_reason=finish_reason, chat_id=chat_id))
    return chunks


def chat_tool_call_chunks(
    calls: list[tuple[str, str, str]],
    *,
    finish_reason: str | None = "tool_calls",
    chunk_size: int = 8,
    chat_id: str = "chatcmpl-fake",
    with_role: bool = True,
) -> list[dict[str, Any]]:
    """Tool calls as (call_id, name, arguments), streamed like gpt-4o: the first fragment of each
    call has index, id, type, name and empty arguments; later ones only index and arguments."""
    chunks = [chat_chunk({"role": "assistant", "content": None}, chat_id=chat_id)] if with_role else []
    for index, (call_id, name, arguments) in enumerate(calls):
        head = {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
        chunks.append(chat_chunk({"tool_calls": [head]}, chat_id=chat_id))
        chunks += [
            chat_chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}, chat_id=chat_id)
            for piece in chunks_of(arguments, chunk_size)
        ]
    if finish_reason is not None:
        chunks.append(chat_chunk({}, finish_reason=finish_reason, chat_id=chat_id))
    return chunks


def chat_usage_chunk(
    prompt_tokens: int = 120,
    completion_tokens: int = 30,
    *,
    cached_tokens: int = 0,
    reasoning_tokens: int = 0,
    chat_id: str = "chatcmpl-fake",
) -> dict[str, Any]:
    """The `stream_options.include_usage` chunk: `choices: []` and the usage totals."""
    chunk = chat_chunk(None, chat_id=chat_id)
    chunk["usage"] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning_tokens,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
            "audio_tokens": 0,
        },
    }
    return chunk
