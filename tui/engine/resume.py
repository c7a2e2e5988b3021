"""Finding recorded sessions and rebuilding one from its rollout, to continue it.

The rebuilt history is exactly what the model saw: the `response_item`s in order, with a
`compacted` line replacing everything before it and a `history_forked` line (a Backtrack)
cutting it to its first `keep_items` items, the branch going on from there. A rollout cut mid-turn (the process was
killed) is repaired by answering each call that has no output, since a request carrying an
unanswered call is refused; nothing that was written is dropped or rewritten.

Files are streamed line by line: a long session's rollout runs to hundreds of megabytes, and
listing sessions reads only the head of each file.
"""

from __future__ import annotations

import datetime as _dt
import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from tui.engine.compact import is_real_user_message
from tui.engine.context import TurnSettings
from tui.engine.fork import ForkReplay, forked_keep
from tui.engine.rollout import iter_rollout
from tui.model.items import message_text
from tui.protocol import ApprovalPolicy, SandboxMode
from tui.safety.sandbox import SandboxPolicy
from tui.tools.registry import call_from_item
from tui.tools.specs import prompt_text

INTERRUPTED_OUTPUT = "interrupted: codeloop stopped before this call finished"
_FILE_PREFIX = "rollout-"
_FILE_SUFFIX = ".jsonl"
_STAMP_LEN = len("2026-01-31T23-59-59-")
# The first real user message follows the initial context within a few lines; a file that has
# none there (a session that never ran a turn) is not read further.
_HEAD_LINES = 64


class SessionNotFound(LookupError):
    """No recorded session matches, or several do; the message says which for the user."""


class RolloutError(ValueError):
    """A file that cannot be resumed (no session_meta, a malformed turn_context)."""


@dataclass(frozen=True)
class SessionInfo:
    path: Path
    session_id: str
    started: _dt.datetime
    cwd: str
    first_message: str | None
    size_bytes: int


@dataclass
class Resumed:
    meta: dict[str, Any]
    history: list[dict[str, Any]]
    reference: dict[str, Any] | None
    """The payload of the last `turn_context`: the settings the model was last told about."""
    repaired: list[dict[str, Any]]
    """Outputs added for calls the rollout left unanswered; already at the end of `history`."""
    mcp_tools: list[dict[str, Any]]
    """The MCP tool specs the session was last offered (none recorded: none offered)."""
    last_usage: tuple[dict[str, Any], _dt.datetime] | None = None
    """The last `token_usage` event and when it was written, unless a compaction came after it:
    what the first request of the resumed session is compared with (engine/cache_miss.py)."""
    forks: ForkReplay = field(default_factory=ForkReplay)
    """What a `Backtrack` needs besides the history (tui/engine/fork.py), read along."""


class TurnContextLine(BaseModel):
    """A `turn_context` payload. The sandbox's roots and network flag are newer, optional keys."""

    model_config = ConfigDict(extra="allow")

    model: str
    approval_policy: ApprovalPolicy  # a rollout is untrusted input: an unknown value is refused
    sandbox_mode: SandboxMode
    cwd: str
    writable_roots: list[str] | None = None
    network_access: bool | None = None


# ------------------------------------------------------------------ listing and finding


def _rollout_files(home: Path) -> list[Path]:
    root = home / "sessions"
    if not root.is_dir():
        return []
    return [p for p in root.glob(f"*/*/*/{_FILE_PREFIX}*{_FILE_SUFFIX}") if p.is_file()]


def _id_from_name(name: str) -> str:
    return name[len(_FILE_PREFIX) + _STAMP_LEN : -len(_FILE_SUFFIX)]


def _parse_time(value: object) -> _dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = _dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=_dt.timezone.utc)


def read_session_info(path: Path) -> SessionInfo | None:
    """The meta line and the first real user message; None for a file with no session_meta."""
    meta: dict[str, Any] | None = None
    started: _dt.datetime | None = None
    first: str | None = None
    for n, line in enumerate(iter_rollout(path)):
        payload = line.get("payload")
        if meta is None:
            if line.get("type") != "session_meta" or not isinstance(payload, dict):
                return None
            meta = payload
            started = _parse_time(payload.get("timestamp")) or _parse_time(line.get("timestamp"))
        elif line.get("type") == "response_item" and isinstance(payload, dict) and is_real_user_message(payload):
            first = message_text(payload)
            break
        if n >= _HEAD_LINES:
            break
    if meta is None:
        return None
    if started is None:
        started = _dt.datetime.fromtimestamp(path.stat().st_mtime, _dt.timezone.utc)
    return SessionInfo(
        path=path,
        session_id=str(meta.get("id") or _id_from_name(path.name)),
        started=started,
        cwd=str(meta.get("cwd", "")),
        first_message=first,
        size_bytes=path.stat().st_size,
    )


def list_sessions(home: Path) -> list[SessionInfo]:
    """Every recorded session under `home/sessions`, newest first."""
    infos = [i for i in (read_session_info(p) for p in _rollout_files(home)) if i is not None]
    infos.sort(key=lambda i: (i.started, i.path.name), reverse=True)
    return infos


def find_session(home: Path, session_id_or_prefix: str) -> Path:
    """The rollout of the session whose id is, or starts with, the argument.

    Ids are read from the file names (no file is opened). An exact id wins over prefixes.
    """
    wanted = session_id_or_prefix.strip().lower()
    if not wanted:
        raise SessionNotFound("no session id given")
    files = _rollout_files(home)
    exact = [p for p in files if _id_from_name(p.name).lower() == wanted]
    matches = exact or [p for p in files if _id_from_name(p.name).lower().startswith(wanted)]
    if not matches:
        raise SessionNotFound(
            f"no session with id {session_id_or_prefix!r} in {home / 'sessions'}; "
            "`codeloop resume` lists the recorded ones"
        )
    if len(matches) > 1:
        ids = sorted(_id_from_name(p.name) for p in matches)
        shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
        raise SessionNotFound(f"session id {session_id_or_prefix!r} is ambiguous: it matches {shown}")
    return matches[0]


def latest_session(home: Path, cwd: Path | None = None) -> Path | None:
    """The newest session; with `cwd`, the newest one started in that folder."""
    return _newest(list_sessions(home), cwd)


def _newest(sessions: list[SessionInfo], cwd: Path | None) -> Path | None:
    want = None if cwd is None else os.path.realpath(cwd)
    return next((i.path for i in sessions if want is None or os.path.realpath(i.cwd) == want), None)


@dataclass(frozen=True)
class ResumeRequest:
    """What the user asked to resume: `--last` (no id) or a session id or unique prefix."""

    session_id: str | None = None

    def locate(self, home: Path, cwd: Path) -> Path:
        """The rollout to resume. `--last` takes the newest session started in `cwd`, else the
        newest of all (a folder with no session of its own still resumes the latest one)."""
        if self.session_id is not None:
            return find_session(home, self.session_id)
        sessions = list_sessions(home)
        path = _newest(sessions, cwd) or _newest(sessions, None)
        if path is None:
            raise SessionNotFound(f"there is no recorded session to resume in {home / 'sessions'}")
        return path


# ------------------------------------------------------------------ rebuilding


def load_rollout(path: Path) -> Resumed:
    """The history as the model last saw it, repaired so the next request is valid."""
    meta: dict[str, Any] | None = None
    history: list[dict[str, Any]] = []
    reference: dict[str, Any] | None = None
    mcp_tools: list[dict[str, Any]] = []
    last_usage: tuple[dict[str, Any], _dt.datetime] | None = None
    forks = ForkReplay()
    with _gc_paused():
        for line in iter_rollout(path):
            kind, payload = line.get("type"), line.get("payload")
            if not isinstance(payload, dict):
                continue
            if kind == "response_item":
                history.append(payload)
            elif kind == "compacted":
                replacement = payload.get("replacement_history")
                if not isinstance(replacement, list):
                    raise RolloutError(f"{path}: a `compacted` line has no replacement_history")
                history = list(replacement)
                last_usage = None  # what was measured is not what the next request sends
            elif kind == "turn_context":
                reference = payload
            elif kind == "mcp_tools" and isinstance(payload.get("tools"), list):
                mcp_tools = payload["tools"]
            elif kind == "session_meta" and meta is None:
                meta = payload
            elif kind == "event_msg" and payload.get("type") == "token_usage":
                at = _parse_time(line.get("timestamp"))
                last_usage = (payload, at) if at is not None else None
            elif kind == "history_forked":  # a Backtrack: the branch goes on from here
                try:
                    history = history[: forked_keep(payload, len(history))]
                except ValueError as e:
                    raise RolloutError(f"{path}: {e}") from e
            if kind != "response_item":
                forks.see(kind, payload, len(history))
    if meta is None or not meta.get("id"):
        raise RolloutError(f"{path} is not a codeloop session: it has no session_meta line")
    repaired = answer_open_calls(history)
    history.extend(repaired)
    return Resumed(meta=meta, history=history, reference=reference, repaired=repaired, mcp_tools=mcp_tools,
                   last_usage=last_usage, forks=forks)


@contextmanager
def _gc_paused() -> Iterator[None]:
    # Parsing builds hundreds of thousands of dicts that all live on; the cyclic collector
    # would rescan them over and over for nothing (a third of the load time on big files).
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_OUTPUT_TYPE = {"function_call": "function_call_output", "custom_tool_call": "custom_tool_call_output"}


def answer_open_calls(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An "interrupted" output for each call in `history` that has none, in call order."""
    open_calls: dict[tuple[str, Any], dict[str, Any]] = {}  # insertion order is call order
    for item in history:
        kind = item.get("type")
        if kind in _OUTPUT_TYPE:
            open_calls[(_OUTPUT_TYPE[kind], item.get("call_id"))] = item
        elif kind in ("function_call_output", "custom_tool_call_output"):
            open_calls.pop((kind, item.get("call_id")), None)
    outputs = []
    for item in open_calls.values():
        call = call_from_item(item)
        if call is not None:
            outputs.append(call.output_item(INTERRUPTED_OUTPUT))
    return outputs


def reference_settings(reference: dict[str, Any] | None, sandbox: SandboxPolicy) -> TurnSettings | None:
    """The settings a `turn_context` payload describes, as TurnSettings.

    Older lines record only the sandbox mode: the roots and network flag are then taken from
    the current policy (`sandbox`), so only a change of mode is reported to the model.
    """
    if reference is None:
        return None
    try:
        tc = TurnContextLine.model_validate(reference)
    except ValidationError as e:
        raise RolloutError(f"a turn_context line is malformed: {e.errors()[0]['msg']}") from e
    policy = replace(sandbox, mode=tc.sandbox_mode)
    if tc.writable_roots is not None:
        policy = replace(policy, writable_roots=tuple(Path(r) for r in tc.writable_roots))
    if tc.network_access is not None:
        policy = replace(policy, network_access=tc.network_access)
    return TurnSettings(tc.model, tc.approval_policy, policy, Path(tc.cwd))


def transcript(history: list[dict[str, Any]], limit: int = 40) -> list[tuple[str, str]]:
    """The last `limit` messages between the user and the model, as (role, text), to show
    where a resumed session left off. Context, notes and tool traffic are left out."""
    note = prompt_text("summary_prefix.md").strip()  # a local compaction's handoff note
    shown: list[tuple[str, str]] = []
    for item in history:
        if item.get("type") != "message":
            continue
        role, text = item.get("role"), message_text(item)
        if role == "assistant" and text:
            shown.append(("assistant", text))
        elif role == "user" and is_real_user_message(item) and not text.startswith(("<", note)):
            shown.append(("user", text))
    return shown[-limit:]
