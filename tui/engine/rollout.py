"""The rollout file: every item and notable event of a session, appended as it happens.

One JSON object per line, `{"timestamp", "type", "payload"}` with type `session_meta`,
`response_item`, `turn_context` or `event_msg`. Each line is flushed when written, so a killed
process loses nothing it had recorded; resume rebuilds the history from the `response_item`s.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import IO, Any


def rollout_path(home: Path, session_id: str, now: _dt.datetime) -> Path:
    folder = home / "sessions" / f"{now:%Y}" / f"{now:%m}" / f"{now:%d}"
    return folder / f"rollout-{now:%Y-%m-%dT%H-%M-%S}-{session_id}.jsonl"


class RolloutWriter:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file: IO[str] | None = open(path, "a", encoding="utf-8")

    def write(self, kind: str, payload: Any) -> None:
        if self._file is None:
            return
        line = json.dumps(
            {"timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds"), "type": kind, "payload": payload},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        self._file.write(line + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def read_rollout(path: Path) -> list[dict[str, Any]]:
    """All well-formed lines; a torn last line (the process died mid-write) is dropped."""
    lines: list[dict[str, Any]] = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            raw = raw.strip()
            if not raw:
                continue
            try:
                lines.append(json.loads(raw))
            except json.JSONDecodeError:
                continue
    return lines
