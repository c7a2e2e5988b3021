"""A patch's diff inside the approval modal: every file in one scroll, highlighted like the diff
pane (the same body widget and highlighter), whatever the patch's size."""

from __future__ import annotations

from textual.content import Content
from textual.strip import Strip
from textual.style import Style

from tui.app.widgets.diff_view import (
    DiffLine,
    FileDiff,
    _DiffBody,
    from_change,
    highlight_file,
)
from tui.protocol import FileChangeSummary


class PatchPreview(_DiffBody, can_focus=True):
    """Scrolls with the arrows, PageUp/PageDown, Home/End and the mouse (focus it with Tab)."""

    DEFAULT_CSS = "PatchPreview { height: auto; }"
    BINDINGS = [
        ("down,j", "scroll_down", "Down"),
        ("up,k", "scroll_up", "Up"),
        ("pagedown", "page_down", "Page down"),
        ("pageup", "page_up", "Page up"),
        ("home", "scroll_home", "Top"),
        ("end", "scroll_end", "Bottom"),
    ]

    def __init__(self, changes: list[FileChangeSummary], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.files = [from_change(c) for c in changes]
        lines: list[DiffLine] = []
        for f in self.files:
            lines.append(DiffLine("hunk", f"{f.kind} {f.title}  +{f.added} −{f.removed}"))
            lines.extend(f.lines)
        self._combined = FileDiff("", "update", sum(f.added for f in self.files), sum(f.removed for f in self.files), lines)

    def on_mount(self) -> None:
        self.show(self._combined)

    def _render_parts(self, index: int, base: Style) -> tuple[Strip, Strip]:
        if self._code is None:
            # Each file lexed by its own type; the header rows get a plain line each.
            code: list[Content] = []
            for f in self.files:
                code.append(Content(""))
                code.extend(highlight_file(f) if f.lines else [])
            self._code = code
        return super()._render_parts(index, base)
