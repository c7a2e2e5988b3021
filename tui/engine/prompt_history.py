"""Prompt history across sessions: `$CODELOOP_HOME/history.jsonl`.

One JSON object a line, `{"text": …, "time": <unix seconds>, "session": <session id>}`, for
every message the user sends, in the order sent. The composer's Up/Down and Ctrl+R read it.

- Private (0600, tui/engine/private_files.py), and secrets are redacted before a line is
  written (the redactor's rules, tui/safety/redact.py): a message holding an API key is kept
  with `[REDACTED]` in its place, so the rest of it can still be recalled. Redacted rather than
  skipped: the user sees in the recalled text that something was taken out.
- Concurrent sessions append safely: each line is one `write` to an `O_APPEND` descriptor, under
  an exclusive `flock`, so lines never interleave.
- Bounded: `load` keeps the newest `MAX_ENTRIES` and, when the file holds more, rewrites it
  (under the same lock, a temporary file renamed over it; an appender that opened the old file
  sees that the path now names another file and opens the new one).
- A line that is not a history entry (a torn write, a hand edit) is skipped, never fatal.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from tui.engine.private_files import PRIVATE_FILE, make_private_dirs
from tui.safety.redact import redact

FILE_NAME = "history.jsonl"
MAX_ENTRIES = 1000


@dataclass(frozen=True)
class HistoryEntry:
    text: str
    time: float
    session: str


def parse_line(line: str) -> HistoryEntry | None:
    """The entry on one line of the file, or None when the line holds none."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    text, at, session = record.get("text"), record.get("time", 0.0), record.get("session", "")
    if not isinstance(text, str) or not text or not isinstance(at, (int, float)) or not isinstance(session, str):
        return None
    return HistoryEntry(text, float(at), session)


class PromptHistory:
    def __init__(self, home: Path, session_id: str = "", limit: int = MAX_ENTRIES) -> None:
        self.home = home
        self.path = home / FILE_NAME
        self.session_id = session_id
        self.limit = limit

    def append(self, text: str) -> HistoryEntry:
        """Add one sent message (redacted) at the end of the file; returns what was stored."""
        entry = HistoryEntry(redact(text), time.time(), self.session_id)
        line = json.dumps({"text": entry.text, "time": entry.time, "session": entry.session}, ensure_ascii=False)
        data = (line + "\n").encode("utf-8")
        make_private_dirs(self.home, self.home)
        for _ in range(5):  # the file may be swapped by a trim between open and lock
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                if not _same_file(fd, self.path):
                    continue
                os.fchmod(fd, PRIVATE_FILE)
                os.write(fd, data)
                return entry
            finally:
                os.close(fd)  # closing releases the lock
        raise OSError(f"could not append to {self.path}: it kept being replaced")

    def load(self) -> list[HistoryEntry]:
        """Every entry, oldest first, at most `limit` (the file is trimmed to them)."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            return []
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            with open(fd, "rb", closefd=False) as f:
                raw = f.read().decode("utf-8", errors="replace")
            lines = raw.splitlines()
            entries = [e for e in map(parse_line, lines) if e is not None]
            if len(lines) > self.limit:
                entries = entries[-self.limit :]
                self._rewrite(entries)
            return entries
        finally:
            os.close(fd)

    def _rewrite(self, entries: list[HistoryEntry]) -> None:
        """Replace the file by `entries` (called with the old file locked)."""
        temporary = self.path.with_name(f".{FILE_NAME}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, PRIVATE_FILE)
        try:
            lines = (
                json.dumps({"text": e.text, "time": e.time, "session": e.session}, ensure_ascii=False) + "\n"
                for e in entries
            )
            os.write(fd, "".join(lines).encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, self.path)


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (on_disk.st_dev, on_disk.st_ino)
