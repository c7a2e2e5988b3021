"""Markdown the mouse can select.

Rich's Markdown renderable draws well, but Textual cannot select in it: a Rich renderable's
segments carry no character offsets, so a drag over an answer selected nothing and Ctrl+C then
armed quit instead of copying. This widget draws the same Rich rendering, converted to Textual
`Content` at the width it is laid out at (cached per width): Content carries the offsets, so a
selection highlights and copies exactly the characters under the drag (no borders, no panes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.content import Content
from textual.geometry import Size
from textual.widgets import Static

if TYPE_CHECKING:
    from rich.markdown import Markdown as RichMarkdown


class MarkdownText(Static):
    DEFAULT_CSS = "MarkdownText { height: auto; text-wrap: nowrap; text-overflow: clip; }"

    def __init__(self, markdown: RichMarkdown | None = None, **kwargs: object) -> None:
        # Given to Static too, so `content` is the Markdown shown (its `.markup`, the source).
        super().__init__(markdown if markdown is not None else "", **kwargs)  # type: ignore[arg-type]
        self._markdown = markdown
        self._by_width: dict[int, Content] = {}

    def show(self, markdown: RichMarkdown) -> None:
        self._markdown = markdown
        self._by_width.clear()
        self.update(markdown)  # refreshes the layout; render() below draws it

    def content_at(self, width: int) -> Content:
        width = max(1, width)
        cached = self._by_width.get(width)
        if cached is not None:
            return cached
        if self._markdown is None:
            content = Content("")
        else:
            console = self.app.console
            options = self.app.console_options.update(highlight=False).update_width(width)
            lines = console.render_lines(self._markdown, options, pad=False)
            text = Text("\n").join(
                Text.assemble(*((seg.text, seg.style or "") for seg in line if not seg.control)) for line in lines
            )
            content = Content.from_rich_text(text, console=console)
        self._by_width = {width: content}  # one width at a time: a resize replaces it
        return content

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.content_at(width).plain.split("\n")) if self._markdown is not None else 0

    def render(self) -> Content:
        return self.content_at(self.content_region.width or self.size.width)
