"""The status line: model, cwd, git branch, policy, sandbox, and the working timer."""

from __future__ import annotations

import time

from textual.widgets import Static


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: 1; padding: 0 1; background: $panel; color: $text-muted; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__("", **kwargs)  # type: ignore[arg-type]
        self.fields: dict[str, str] = {}
        self.started_at: float | None = None
        self.clock = time.monotonic

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        if self.started_at is not None:
            self.redraw()

    def set(self, **fields: str) -> None:
        self.fields.update(fields)
        self.redraw()

    def working(self, on: bool) -> None:
        self.started_at = self.clock() if on else None
        self.redraw()

    def redraw(self) -> None:
        f = self.fields
        parts = [f.get("demo", ""), f.get("model", ""), f.get("cwd", "")]
        if f.get("branch"):
            parts.append(f"⎇ {f['branch']}")
        parts += [f.get("approval", ""), f"sandbox {f['sandbox']}" if f.get("sandbox") else "", f.get("note", "")]
        if self.started_at is not None:
            parts.insert(0, f"Working {int(self.clock() - self.started_at)}s · esc to interrupt")
        self.update(" · ".join(p for p in parts if p))
