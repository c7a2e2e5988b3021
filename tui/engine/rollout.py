"""The rollout file: every item and notable event of a session, appended as it happens.

One JSON object per line, `{"timestamp", "type", "payload"}` with type `session_meta`,
`response_item`, `turn_context`, `compacted`, `mcp_tools` (the MCP tool specs offered, once
they are fixed), `ghost_snapshot` (an undo snapshot), `history_forked` (a Backtrack: the history
keeps its first `keep_items` items, tui/engine/fork.py), `session_settings` (the effective model,
effort, approvals and sandbox, at the start and on every change: tui/engine/replay.py) or
`event_msg`. Each line is flushed when written, so
a killed process loses nothing it had recorded; resume (tui/engine/resume.py) rebuilds the history
from the `response_item`s and `compacted` lines and appends to the same file.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from tui.engine.private_files import make_private_dirs, open_private_append
from tui.safety.redact import Redactor, default_redactor


def rollout_path(home: Path, session_id: str, now: _dt.datetime) -> Path:
    """Where a new session's rollout goes: `home/sessions/YYYY/MM/DD/rollout-…jsonl`."""
    folder = home / "sessions" / f"{now:%Y}" / f"{now:%m}" / f"{now:%d}"
    return folder / f"rollout-{now:%Y-%m-%dT%H-%M-%S}-{session_id}.jsonl"


class RolloutWriter:
    """Appends lines to a rollout file, secrets redacted (tui/safety/redact.py).

    `redactor` defaults to the process-wide one as it is at each write. The file is 0600 and
    the folders made for it 0700 up to `home` (tui/engine/private_files.py), whatever the umask;
    a resumed file is tightened too.
    """

    def __init__(self, path: Path, redactor: Redactor | None = None, *, home: Path | None = None) -> None:
        make_private_dirs(path.parent, home)
        self.path = path
        self._redactor = redactor
        self.error: str | None = None  # set when a write failed; nothing is written after it
        self._file: IO[str] | None = open_private_append(path)
        if _ends_mid_line(path):
            # Resuming after a kill mid-write: end the torn line, or our first line would be
            # glued to it and be unreadable too.
            self._file.write("\n")
            self._file.flush()

    def write(self, kind: str, payload: Any) -> None:
        if self._file is None:
            return
        payload = (self._redactor or default_redactor()).redact_json(payload)
        line = json.dumps(
            {"timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds"), "type": kind, "payload": payload},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        try:
            self._file.write(line + "\n")
            self._file.flush()
        except OSError as e:
            # Disk full, a file-size limit, a vanished mount: stop recording (one torn line at
            # most, which the reader drops) and say so, rather than failing every later write.
            self.error = e.strerror or str(e)
            try:
                self._file.close()
            except OSError:
                pass
            self._file = None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _ends_mid_line(path: Path) -> bool:
    with open(path, "rb") as f:
        if f.seek(0, 2) == 0:
            return False
        f.seek(-1, 2)
        return f.read(1) != b"\n"


def iter_rollout(path: Path) -> Iterator[dict[str, Any]]:
    """The well-formed lines one at a time (a long session's file is never held whole).

    A torn line (the process died mid-write) is skipped, and so is anything that is not a JSON
    object.
    """
    decode = json.JSONDecoder().decode  # skips json.loads' per-call dispatch: ~10% on big files
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            if raw.isspace():
                continue
            try:
                line = decode(raw)
            except json.JSONDecodeError:
                continue
            if isinstance(line, dict):
                yield line


def read_rollout(path: Path) -> list[dict[str, Any]]:
    """All well-formed lines; a torn last line (the process died mid-write) is dropped."""
    return list(iter_rollout(path))
