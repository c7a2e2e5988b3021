"""The status line: model, cwd, git branch, policy, sandbox, and the working timer."""

from __future__ import annotations

import os
import time

from rich.cells import cell_len
from textual.widgets import Static


def _folder_forms(cwd: str) -> list[str]:
    """The folder from its full form to its shortest: ~ for home, then the last parts."""
    home = os.path.expanduser("~")
    short = "~" + cwd[len(home):] if home not in ("", "/") and (cwd == home or cwd.startswith(home + "/")) else cwd
    parts = [p for p in short.split("/") if p]
    forms = [cwd, short]
    forms += [f"…/{'/'.join(parts[-keep:])}" for keep in (2, 1) if len(parts) > keep]
    return list(dict.fromkeys(forms))


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: 1; padding: 0 1; background: $panel; color: $text-muted; }
    """

    def __init__(self, **kwargs: object) -> None:
        # Plain text: the model name and the folder are the user's or a repository's, and a `[/]`
        # in either was parsed as markup (a MarkupError ended the app).
        super().__init__("", markup=False, **kwargs)  # type: ignore[arg-type]
        self.fields: dict[str, str] = {}
        self.started_at: float | None = None
        self.waiting_since: float | None = None  # an approval is up: the timer stands still
        self.waited_s = 0.0
        self.clock = time.monotonic

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick)

    def on_resize(self) -> None:
        self.redraw()

    def _tick(self) -> None:
        if self.started_at is not None:
            self.redraw()

    def set(self, **fields: str) -> None:
        self.fields.update(fields)
        self.redraw()

    def working(self, on: bool) -> None:
        self.started_at = self.clock() if on else None
        self.waiting_since, self.waited_s = None, 0.0
        self.redraw()

    def waiting(self, on: bool) -> None:
        """An approval is on screen (on) or was answered: the time the user takes is not work."""
        now = self.clock()
        if on and self.waiting_since is None:
            self.waiting_since = now
        elif not on and self.waiting_since is not None:
            self.waited_s += now - self.waiting_since
            self.waiting_since = None
        self.redraw()

    @property
    def worked_s(self) -> float:
        if self.started_at is None:
            return 0.0
        end = self.waiting_since if self.waiting_since is not None else self.clock()
        return max(end - self.started_at - self.waited_s, 0.0)

    def redraw(self) -> None:
        f = self.fields
        width = self.size.width - 2 if self.size.width else 10_000  # less the padding
        # What goes first when the line is too narrow: the folder's length, then the branch;
        # the approval and sandbox modes stay (they say what the agent may do).
        for branch in (True, False):
            for cwd in _folder_forms(f.get("cwd", "")):
                text = self._line(cwd, branch)
                if cell_len(text) <= width:
                    self.update(text)
                    return
        self.update(text)

    def _line(self, cwd: str, branch: bool) -> str:
        f = self.fields
        parts = [f.get("demo", ""), f.get("model", ""), cwd]
        if branch and f.get("branch"):
            parts.append(f"⎇ {f['branch']}")
        parts += [f.get("approval", ""), f"sandbox {f['sandbox']}" if f.get("sandbox") else "", f.get("note", "")]
        if self.waiting_since is not None:
            parts.insert(0, f"Waiting for your approval · worked {int(self.worked_s)}s")
        elif self.started_at is not None:
            parts.insert(0, f"Working {int(self.worked_s)}s · esc to interrupt")
        return " · ".join(p for p in parts if p)
