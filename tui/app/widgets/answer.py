"""A streamed answer that stays cheap at any length and any token rate.

Tokens are buffered and painted at most ~30 times a second. Only the unfinished tail of the
answer is re-rendered on each paint; once the tail holds enough finished Markdown blocks (cut at
a blank line outside a code fence), that part is frozen into a static segment rendered once.
So a paint costs O(tail), not O(answer), and the widget count grows by one per ~1 KB.
(Textual's streaming Markdown widget mounts a widget per block and holds batch updates while it
does, which starved the screen of frames on long answers: measured 3 frames/s.)
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from textual.containers import Vertical
from tui.app.widgets.markdown_text import MarkdownText

if TYPE_CHECKING:
    from rich.markdown import Markdown as RichMarkdown

FLUSH_S = 1 / 30
# While the user types, keystrokes come first: a paint of the streamed answer (a relayout and a
# repaint of the scrolled conversation, ~20-30 ms on a slow machine) would delay the frame that
# shows the key. So within TYPING_WINDOW_S of a key the answer paints at most every
# TYPING_FLUSH_S; it catches up at once when the typing pauses or the answer ends.
TYPING_WINDOW_S = 0.25
TYPING_FLUSH_S = 0.25
_last_key_at = -1.0


def note_typing() -> None:
    """Called by the composer on every key."""
    global _last_key_at
    _last_key_at = time.monotonic()


def _typing() -> bool:
    return time.monotonic() - _last_key_at < TYPING_WINDOW_S
SEGMENT_CHARS = 1_200


def safe_boundary(text: str) -> int:
    """The end of the last finished block: after a blank line that is not inside a code fence."""
    in_fence = False
    best = 0
    pos = 0
    for line in text.splitlines(keepends=True):
        pos += len(line)
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            in_fence = not in_fence
        elif not stripped and not in_fence and line.endswith("\n") and pos < len(text):
            best = pos
    return best


CODE_THEMES = {True: "monokai", False: "default"}
"""The Pygments style of code blocks, by the app theme's darkness (pygments' "default" is light)."""


def render_markdown(text: str, dark: bool = True) -> RichMarkdown:
    # Imported on the first answer, not before the first frame (markdown-it costs ~50 ms).
    from rich.markdown import Markdown as RichMarkdown

    return RichMarkdown(text, code_theme=CODE_THEMES[dark], hyperlinks=False)


class AnswerCell(Vertical):
    DEFAULT_CSS = """
    AnswerCell { height: auto; margin: 1 0 0 0; padding: 0 1; }
    AnswerCell > MarkdownText { height: auto; }
    """

    def __init__(self, text: str = "", *, done: bool = False) -> None:
        super().__init__()
        self._frozen = ""  # text already in static segments
        self._tail = text
        self._pending: list[str] = []
        self._scheduled = False
        self._painted_at = 0.0
        self.done = done
        self._live = MarkdownText()
        self._initial = text

    def on_mount(self) -> None:
        if self._initial:
            self._live.show(render_markdown(self._initial, self._dark))

    @property
    def _dark(self) -> bool:
        return self.app.current_theme.dark

    def compose(self):
        yield self._live

    @property
    def text(self) -> str:
        return self._frozen + self._tail + "".join(self._pending)

    def append(self, delta: str) -> None:
        self._pending.append(delta)
        if not self._scheduled:
            self._scheduled = True
            self.set_timer(TYPING_FLUSH_S if _typing() else FLUSH_S, self._paced_flush)

    async def _paced_flush(self) -> None:
        now = time.monotonic()
        if not self.done and _typing() and now - self._painted_at < TYPING_FLUSH_S:
            self.set_timer(TYPING_FLUSH_S - (now - self._painted_at), self._paced_flush)
            return
        await self._flush()

    async def _flush(self) -> None:
        self._scheduled = False
        self._painted_at = time.monotonic()
        if self._pending:
            self._tail += "".join(self._pending)
            self._pending.clear()
        cut = safe_boundary(self._tail)
        if cut >= SEGMENT_CHARS:
            finished, self._tail = self._tail[:cut], self._tail[cut:]
            self._frozen += finished
            await self.mount(MarkdownText(render_markdown(finished, self._dark)), before=self._live)
        self._live.show(render_markdown(self._tail, self._dark))

    async def finish(self, text: str) -> None:
        """The final text is the truth: if the stream missed or garbled anything, re-render it."""
        self.done = True
        if self.text != text:
            await self.remove_children([c for c in self.children if c is not self._live])
            self._frozen, self._tail, self._pending = "", text, []
        await self._flush()
