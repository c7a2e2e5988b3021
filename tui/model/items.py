"""What a streamed output item becomes in the history that later requests replay.

Kept apart from the Responses client so the turn loop can use it without importing the SDK.
"""

from __future__ import annotations

from typing import Any

from tui.model.types import clean


def message_text(item: dict[str, Any]) -> str:
    """The text of a message item: its string content, or its text parts joined. Parts without
    text (an image, a refusal) and parts of the wrong shape add nothing."""
    content = item.get("content")
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return "".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))


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
