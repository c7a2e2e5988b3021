"""The transcript's pager: the session's items as lines, drawn one visible line at a time.

A line-API widget (`render_line`), so a session of thousands of items opens as fast as its text
can be laid out and scrolls without a widget per item. Lines are wrapped to the width (again on
a resize); a cursor line marks the focused item (`c` copies it, or the mouse selection when there
is one); a search highlights every match and `n`/`N` go from one to the next.
"""

from __future__ import annotations

from rich.cells import cell_len, chop_cells
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.selection import Selection
from textual.strip import Strip

from tui.app.transcript_text import Item

_INDENT = "  "


class TranscriptView(ScrollView, can_focus=True):
    ALLOW_SELECT = True
    COMPONENT_CLASSES = {
        "transcript--user", "transcript--assistant", "transcript--heading", "transcript--warning",
        "transcript--error", "transcript--marker", "transcript--muted", "transcript--cursor",
        "transcript--match", "transcript--current-match",
    }
    DEFAULT_CSS = """
    TranscriptView { background: $surface; }
    TranscriptView > .transcript--user { color: $text; background: $boost; text-style: bold; }
    TranscriptView > .transcript--assistant { color: $accent; text-style: bold; }
    TranscriptView > .transcript--heading { color: $secondary; text-style: bold; }
    TranscriptView > .transcript--warning { color: $warning; }
    TranscriptView > .transcript--error { color: $error; }
    TranscriptView > .transcript--marker { color: $text-muted; text-style: italic; }
    TranscriptView > .transcript--muted { color: $text-muted; }
    TranscriptView > .transcript--cursor { background: $primary 25%; }
    TranscriptView > .transcript--match { background: $warning 40%; }
    TranscriptView > .transcript--current-match { background: $warning; color: $background; text-style: bold; }
    """
    BINDINGS = [
        Binding("j,down", "move(1)", "Down", show=False, id="transcript.down"),
        Binding("k,up", "move(-1)", "Up", show=False, id="transcript.up"),
        Binding("pagedown,space", "page(1)", "Page down", show=False, id="transcript.page_down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="transcript.page_up"),
        Binding("home,g", "edge(0)", "Top", show=False, id="transcript.top"),
        Binding("end,G", "edge(1)", "Bottom", show=False, id="transcript.bottom"),
        Binding("n", "next_match(1)", "Next match", show=False, id="transcript.next"),
        Binding("N", "next_match(-1)", "Previous match", show=False, id="transcript.previous"),
        Binding("c,y", "copy", "Copy", show=False, id="transcript.copy"),
    ]

    cursor: reactive[int] = reactive(0, always_update=True)
    """The line the cursor is on; its item is the focused one."""

    def __init__(self, items: list[Item], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.items = items
        self.lines: list[str] = []
        self._owner: list[int] = []  # line → index of its item
        self._styles: list[str] = []  # line → component class
        self._first_line: list[int] = []  # item → its first line
        self._laid_out_at = -1
        self._at_end = True  # the first layout puts the cursor on the last line
        self.search_text = ""
        self.matches: list[tuple[int, int, int]] = []  # (line, start, end)
        self.current = -1
        self._by_line: dict[int, list[tuple[int, int, int]]] = {}

    # ------------------------------------------------------------ layout

    def on_resize(self) -> None:
        self.layout_lines(self.scrollable_content_region.width)

    def layout_lines(self, width: int) -> None:
        width = max(width, 10)
        if width == self._laid_out_at:
            return
        # The cursor stays on its item, as many lines into it as it was (clamped to the item).
        item_at_cursor = self._owner[self.cursor] if self._owner else 0
        lines_into = self.cursor - self._first_line[item_at_cursor] if self._owner else 0
        self._laid_out_at = width
        self.lines, self._owner, self._styles, self._first_line = [], [], [], []
        self._lay_out(0)
        first, lines = self._first_line, self.lines
        if self._at_end:
            self._at_end = False
            self.cursor = max(0, len(lines) - 1)
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)
        elif first:
            last_of_item = first[item_at_cursor + 1] - 1 if item_at_cursor + 1 < len(first) else len(lines) - 1
            self.cursor = min(first[item_at_cursor] + lines_into, last_of_item)

    def items_changed(self, first_changed: int) -> None:
        """Items from `first_changed` on are new or changed (the session went on): lay out only
        those. A cursor on the last line follows the end, as the conversation does."""
        if self._laid_out_at < 0:
            return  # not laid out yet: the first layout takes every item
        following = self.cursor >= len(self.lines) - 1
        cut = self._first_line[first_changed] if first_changed < len(self._first_line) else len(self.lines)
        del self.lines[cut:], self._owner[cut:], self._styles[cut:], self._first_line[first_changed:]
        self._lay_out(first_changed)
        if following:
            self.cursor = max(0, len(self.lines) - 1)
        else:
            self.cursor = min(self.cursor, len(self.lines) - 1)

    def _lay_out(self, start: int) -> None:
        """Append the lines of items[start:] at the laid-out width."""
        width = self._laid_out_at
        lines, owner, styles, first = self.lines, self._owner, self._styles, self._first_line
        room = width - len(_INDENT)
        for n in range(start, len(self.items)):
            item = self.items[n]
            first.append(len(lines))
            head = _heading_class(item.kind)
            for part in _wrap(item.heading, width):
                lines.append(part)
                styles.append(head)
            body = "transcript--muted" if item.kind == "reasoning" else ""
            for raw in item.body:
                if len(raw) <= room and raw.isascii() and "\t" not in raw:  # the common case, inline
                    lines.append(_INDENT + raw)
                    styles.append(body)
                    continue
                for part in _wrap(_INDENT + raw, width):
                    lines.append(part)
                    styles.append(body)
            lines.append("")
            styles.append("")
            owner.extend([n] * (len(lines) - len(owner)))
        self.virtual_size = Size(width, len(lines))
        self._find()
        self.refresh()

    # ------------------------------------------------------------ drawing

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        if index >= len(self.lines):
            return Strip.blank(width, base)
        line = self.lines[index]
        # Padded to the width, so the cursor's band and the base colour cover the whole row.
        text = Text(line + " " * max(0, width - cell_len(line)), no_wrap=True, end="")
        text.stylize(base)
        if self._styles[index]:
            text.stylize(self.get_component_rich_style(self._styles[index]))
        if index == self.cursor:
            text.stylize(self.get_component_rich_style("transcript--cursor"))
        for n, start, end in self._line_matches(index):
            style = "transcript--current-match" if n == self.current else "transcript--match"
            text.stylize(self.get_component_rich_style(style), start, end)
        selection = self.text_selection
        if selection is not None and (span := selection.get_span(index)) is not None:
            start, end = span
            text.stylize(self.screen.get_component_rich_style("screen--selection"), start, len(line) if end == -1 else end)
        strip = Strip(list(text.render(self.app.console)), max(width, cell_len(line)))
        return strip.crop(0, width).apply_offsets(0, index)

    def _line_matches(self, index: int) -> list[tuple[int, int, int]]:
        """The matches on line `index` as (number in `matches`, start, end)."""
        return self._by_line.get(index, [])

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        return selection.extract("\n".join(self.lines)), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self.refresh()

    # ------------------------------------------------------------ moving

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh()
        if new < self.scroll_offset.y:
            self.scroll_to(y=new, animate=False)
        elif new >= self.scroll_offset.y + self.scrollable_content_region.height:
            self.scroll_to(y=new - self.scrollable_content_region.height + 1, animate=False)

    def _set_cursor(self, line: int) -> None:
        self.cursor = max(0, min(line, len(self.lines) - 1))

    def action_move(self, delta: int) -> None:
        self._set_cursor(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        page = max(1, self.scrollable_content_region.height - 1)
        self.scroll_to(y=self.scroll_offset.y + direction * page, animate=False)
        self._set_cursor(self.cursor + direction * page)

    def action_edge(self, end: int) -> None:
        self._set_cursor(len(self.lines) - 1 if end else 0)
        self.scroll_to(y=self.max_scroll_y if end else 0, animate=False)

    @property
    def focused_item(self) -> Item | None:
        return self.items[self._owner[self.cursor]] if self._owner else None

    def action_copy(self) -> None:
        """c: the mouse selection if there is one, else the item under the cursor (OSC 52)."""
        text = self.screen.get_selected_text()
        if text:
            self.screen.clear_selection()
        elif (item := self.focused_item) is not None:
            text = item.text()
        if text:
            self.app.copy_to_clipboard(text)
            self.notify(f"Copied {len(text):,} characters.", timeout=2)

    # ------------------------------------------------------------ search

    def search(self, text: str) -> int:
        """Highlight every match of `text` (case-insensitive) and go to the first one at or
        after the cursor; the number of matches."""
        self.search_text = text.lower()
        self._find()
        if self.matches:
            self.current = next((n for n, m in enumerate(self.matches) if m[0] >= self.cursor), 0)
            self._set_cursor(self.matches[self.current][0])
        self.refresh()
        self.post_message(self.MatchMoved())
        return len(self.matches)

    def _find(self) -> None:
        self.matches, self.current, self._by_line = [], -1, {}
        needle = self.search_text
        if not needle:
            return
        for row, line in enumerate(self.lines):
            low = line.lower()
            start = low.find(needle)
            while start != -1:
                self._by_line.setdefault(row, []).append((len(self.matches), start, start + len(needle)))
                self.matches.append((row, start, start + len(needle)))
                start = low.find(needle, start + len(needle))

    def action_next_match(self, step: int) -> None:
        if not self.matches:
            if self.search_text:
                self.notify(f"No match for {self.search_text!r}.", timeout=2)
            return
        self.current = (self.current + step) % len(self.matches)
        self._set_cursor(self.matches[self.current][0])
        self.post_message(self.MatchMoved())

    class MatchMoved(Message):
        """The current match changed (the screen's status line counts it)."""


def _heading_class(kind: str) -> str:
    return {
        "user": "transcript--user", "assistant": "transcript--assistant", "warning": "transcript--warning",
        "error": "transcript--error", "marker": "transcript--marker", "reasoning": "transcript--muted",
    }.get(kind, "transcript--heading")


def _wrap(line: str, width: int) -> list[str]:
    line = line.replace("\t", "    ")
    if len(line) <= width and line.isascii():
        return [line]
    if cell_len(line) <= width:
        return [line]
    return chop_cells(line, width)
