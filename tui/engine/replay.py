"""What a recorded session showed, read back from its rollout: the events to show again on
resume and in the transcript (Ctrl+T), the settings it last ran under and the tokens it used.

The messages come from the `response_item` lines (the items the model saw, before any
compaction replaced them), everything else from the `event_msg` lines, in the order they were
written. A rollout is untrusted input: an event line whose fields do not have their declared
types is skipped, never shown half-built, and every string still goes through the faces'
neutralizing before it reaches a screen. Old rollouts (before commands' starts, patches and
settings were recorded) replay what they have: a command's cell is rebuilt from its call item.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

from tui import protocol as ev
from tui.engine.compact import is_real_user_message
from tui.engine.resume import INTERRUPTED_OUTPUT, _gc_paused
from tui.engine.rollout import iter_rollout
from tui.model.items import message_text
from tui.model.types import Usage
from tui.tools.specs import prompt_text

SETTINGS_RECORD = "session_settings"
"""The rollout line (additive: older readers skip it) with the effective model, reasoning effort,
approval policy and sandbox mode, written at a session's start (a resume too) and on every
`OverrideSettings`; resume restores the last one."""

LOGGED_EVENTS = frozenset(
    {"user_message", "agent_message", "reasoning", "web_search_ended", "exec_command_began",
     "exec_command_ended", "tool_call_ended", "mcp_tool_call_began", "mcp_tool_call_ended",
     "patch_apply_began", "patch_apply_ended", "plan_updated", "compaction_done", "undo_done",
     "warning", "error", "turn_aborted", "approval_decided", "token_usage"}
)
"""The events a session keeps in its log (`Session.log`): what the transcript shows and what a
resume replays. Deltas are not kept: the whole item follows them."""

PERSISTED_FOR_REPLAY = frozenset({"exec_command_began", "patch_apply_began", "mcp_tool_call_began", "undo_done"})
"""Events written to the rollout so a resume can show them (besides the session's older list)."""

_EVENT_CLASSES: dict[str, type[ev.Event]] = {
    c.type: c for c in vars(ev).values() if isinstance(c, type) and issubclass(c, ev.Event) and c is not ev.Event
}
_OUTPUT_TYPES = ("function_call_output", "custom_tool_call_output")
_CALL_TYPES = ("function_call", "custom_tool_call")


@dataclass
class Replay:
    events: list[ev.Event] = field(default_factory=list)
    settings: dict[str, Any] | None = None
    """The last `session_settings` payload, or None (a rollout from before they were recorded)."""
    usage: Usage = field(default_factory=Usage)
    """The provider-reported tokens summed over every recorded response."""


def settings_record(model: str, effort: str | None, approval_policy: str, sandbox_mode: str, cwd: str) -> dict[str, Any]:
    return {"model": model, "reasoning_effort": effort, "approval_policy": approval_policy,
            "sandbox_mode": sandbox_mode, "cwd": cwd}


def replay_rollout(path: Path) -> Replay:
    """Every event worth showing again, in order, from the rollout at `path`."""
    out = Replay()
    calls: dict[str, dict[str, Any]] = {}  # call_id → the call item, for outputs and old commands
    running: dict[str, ev.Event] = {}  # started, not (yet) ended: a killed session leaves some
    note = prompt_text("summary_prefix.md").strip()
    with _gc_paused():  # as load_rollout: many objects that all live on
        _read(path, out, calls, running, note)
    out.events.extend(_stopped(e) for e in running.values())
    return out


def _read(
    path: Path, out: Replay, calls: dict[str, dict[str, Any]], running: dict[str, ev.Event], note: str
) -> None:
    # How long the history was when each event was shown: a `history_forked` line (a Backtrack)
    # keeps the history's first `keep_items` items, and the events of the branch it left go too.
    length, marks = 0, list[int]()
    for line in iter_rollout(path):
        kind, payload = line.get("type"), line.get("payload")
        if not isinstance(payload, dict):
            continue
        if kind == "response_item":
            length += 1
            out.events.extend(_item_events(payload, calls, note))
        elif kind == "event_msg":
            event = event_from_json(payload)
            if event is None or event.type not in LOGGED_EVENTS:
                continue
            if isinstance(event, (ev.ExecCommandBegan, ev.McpToolCallBegan)):
                running[event.call_id] = event
            elif isinstance(event, (ev.ExecCommandEnded, ev.McpToolCallEnded)):
                if running.pop(event.call_id, None) is None and isinstance(event, ev.ExecCommandEnded):
                    out.events.extend(_old_command_start(event.call_id, calls.get(event.call_id)))
            elif isinstance(event, ev.TokenUsage):
                out.usage = _add(out.usage, event)  # a dropped branch's tokens were still spent
            out.events.append(event)
        elif kind == "compacted":
            replaced = payload.get("replacement_history")
            length = len(replaced) if isinstance(replaced, list) else length
            out.events.append(_compaction_marker(payload))
        elif kind == SETTINGS_RECORD:
            out.settings = payload
        elif kind == "history_forked" and isinstance(keep := payload.get("keep_items"), int) and 0 <= keep < length:
            cut = next((i for i, mark in enumerate(marks) if mark > keep), len(marks))
            del out.events[cut:], marks[cut:]
            running.clear()  # calls of the dropped branch: not "interrupted", gone
            length = keep
        marks += [length] * (len(out.events) - len(marks))


def _stopped(began: ev.Event) -> ev.Event:
    """The end of a call the session was killed in (resume answers the model's side of it)."""
    if isinstance(began, ev.McpToolCallBegan):
        return ev.McpToolCallEnded(began.call_id, began.server, began.tool, False, 0.0, INTERRUPTED_OUTPUT)
    assert isinstance(began, ev.ExecCommandBegan)
    return ev.ExecCommandEnded(began.call_id, -1, 0.0, INTERRUPTED_OUTPUT, interrupted=True)


def history_events(history: list[dict[str, Any]]) -> list[ev.Event]:
    """The messages of a history, as events: what a session resumed without its rollout's
    events (`Session.replayed` 0) can still show."""
    calls: dict[str, dict[str, Any]] = {}
    note = prompt_text("summary_prefix.md").strip()
    return [e for item in history for e in _item_events(item, calls, note) if not isinstance(e, ev.ToolCallEnded)]


def replay_start(events: list[ev.Event], turns: int = 20, most: int = 400) -> int:
    """Where a face starts showing a resumed session again: at the `turns`-th last message of
    the user, and no more than `most` events back (the transcript has all of them)."""
    start, seen = 0, 0
    for n in range(len(events) - 1, -1, -1):
        if isinstance(events[n], ev.UserMessageRecorded):
            seen += 1
            if seen == turns:
                start = n
                break
    return max(start, len(events) - most)


def _item_events(item: dict[str, Any], calls: dict[str, dict[str, Any]], note: str) -> list[ev.Event]:
    kind = item.get("type")
    if kind == "message":
        text = message_text(item)
        if item.get("role") == "assistant" and text:
            phase = item.get("phase")
            return [ev.AgentMessage(text, phase if isinstance(phase, str) else None)]
        if is_real_user_message(item) and text and not text.startswith(("<", note)):
            return [ev.UserMessageRecorded(text)]
    elif kind == "reasoning" and isinstance(item.get("summary"), list):
        text = "\n\n".join(str(p.get("text", "")) for p in item["summary"] if isinstance(p, dict))
        return [ev.ReasoningSummary(text)] if text else []
    elif kind in _CALL_TYPES and isinstance(item.get("call_id"), str):
        calls[item["call_id"]] = item
    elif kind in _OUTPUT_TYPES and isinstance(item.get("call_id"), str):
        call = calls.get(item["call_id"], {})
        output = item.get("output")
        if not isinstance(output, str):
            output = message_text({"content": output})
        return [ev.ToolCallEnded(item["call_id"], str(call.get("name", "")), output, True)]
    return []


def _old_command_start(call_id: str, call: dict[str, Any] | None) -> list[ev.Event]:
    """A rollout from before `exec_command_began` was recorded: the command from its call."""
    command: list[str] = []
    cwd = ""
    if call is not None and call.get("type") == "function_call":
        try:
            args = json.loads(call.get("arguments") or "{}")
        except (TypeError, ValueError):
            args = {}
        if isinstance(args, dict):
            raw = args.get("command")
            if isinstance(raw, list) and all(isinstance(a, str) for a in raw):
                command = raw
            elif isinstance(raw, str):
                command = ["bash", "-lc", raw]
            workdir = args.get("workdir")
            cwd = workdir if isinstance(workdir, str) else ""
    return [ev.ExecCommandBegan(call_id, command or ["(command not recorded)"], cwd, True)]


def _compaction_marker(payload: dict[str, Any]) -> ev.CompactionDone:
    def number(key: str) -> int:
        value = payload.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    method = payload.get("method") if payload.get("method") in ("remote", "local") else "local"
    reason = payload.get("reason") if payload.get("reason") in ("auto", "manual", "overflow") else "auto"
    return ev.CompactionDone(number("before_tokens"), number("after_tokens"), method, reason)  # type: ignore[arg-type]


def _add(total: Usage, e: ev.TokenUsage) -> Usage:
    return Usage(
        total.input_tokens + e.input_tokens, total.cached_input_tokens + e.cached_input_tokens,
        total.output_tokens + e.output_tokens, total.reasoning_tokens + e.reasoning_tokens,
        total.total_tokens + e.total_tokens,
    )


# ------------------------------------------------------------------ decoding recorded events


class _Bad(ValueError):
    pass


def event_from_json(payload: dict[str, Any]) -> ev.Event | None:
    """The event an `event_msg` payload records (`Event.to_json`'s inverse), or None when the
    type is unknown or a field is missing or of the wrong type."""
    cls = _EVENT_CLASSES.get(str(payload.get("type")))
    if cls is None:
        return None
    try:
        event: ev.Event = _build(cls, payload)
        return event
    except (_Bad, TypeError):
        return None


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    # Resolved in the class's own module (tui.protocol's events live in several), where the
    # names its annotations use are imported.
    return typing.get_type_hints(cls)


def _build(cls: type, raw: Any) -> Any:
    if not isinstance(raw, dict):
        raise _Bad(cls.__name__)
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if not f.init or not f.metadata.get("json", True):
            continue
        if f.name in raw:
            kwargs[f.name] = _coerce(raw[f.name], hints[f.name])
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise _Bad(f.name)
    return cls(**kwargs)


def _coerce(value: Any, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        for option in typing.get_args(hint):
            try:
                return _coerce(value, option)
            except _Bad:
                continue
        raise _Bad(str(hint))
    if origin is Literal:
        if value in typing.get_args(hint):
            return value
        raise _Bad(str(hint))
    if origin is list:
        if not isinstance(value, list):
            raise _Bad("list")
        (inner,) = typing.get_args(hint)
        return [_coerce(v, inner) for v in value]
    if hint is type(None):
        if value is None:
            return None
        raise _Bad("None")
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError:
            raise _Bad(hint.__name__) from None
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _build(hint, value)
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint in (str, int, bool) and type(value) is hint:
        return value
    raise _Bad(str(hint))
