"""The diff preview pane: a file list with +/− counts over the selected file's unified diff.

Lines are painted with the line API (`_DiffBody.render_line`), never a widget per line, and a
file is syntax-highlighted only when first shown, so a thousand-file `git diff` opens as fast
as a one-liner. Parsing and highlighting are plain functions, testable without an app.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from rich.cells import cell_len
from rich.segment import Segment
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.color import Color
from textual.containers import Vertical
from textual.content import Content, Span
from textual.geometry import Size
from textual.highlight import HighlightTheme
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.style import Style
from textual.widgets import OptionList, Static

from tui.app.themes import app_color
from tui.protocol import FileChangeSummary
from tui.safety.terminal_text import neutralize

if TYPE_CHECKING:  # pygments is imported when a diff is first highlighted, not at start-up
    from pygments.lexer import Lexer
    from pygments.token import _TokenType

LineKind = Literal["context", "added", "removed", "hunk", "note"]
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
# Control characters would move the cursor or break cell widths; show their printable pictures
# (␍, ␛, …) instead. Tabs are expanded before this table applies.
_CONTROL_PICTURES = {code: 0x2400 + code for code in range(32)} | {0x7F: 0x2421}
_TAB_SIZE = 4
_HIGHLIGHT_LIMIT = 400_000
"""Characters above which a file is shown unhighlighted: lexing it would stall the UI."""


@dataclass(frozen=True)
class DiffLine:
    kind: LineKind
    text: str
    old_no: int | None = None
    new_no: int | None = None


@dataclass
class FileDiff:
    """One file's part of a diff. `path` is the old name of a moved file, `move_to` the new."""

    path: str
    kind: str  # "add" | "delete" | "update"
    added: int
    removed: int
    lines: list[DiffLine] = field(default_factory=list)
    move_to: str | None = None
    binary: bool = False

    @property
    def title(self) -> str:
        return f"{self.path} → {self.move_to}" if self.move_to else self.path


@dataclass
class _Draft:
    old: str | None = ""
    new: str | None = ""
    awaiting_paths: bool = False  # after `diff --git`, until its `---`/`+++` lines
    binary: bool = False
    lines: list[DiffLine] = field(default_factory=list)

    def finish(self) -> FileDiff:
        added = sum(line.kind == "added" for line in self.lines)
        removed = sum(line.kind == "removed" for line in self.lines)
        if self.old is None:
            kind, path, move_to = "add", self.new or "", None
        elif self.new is None:
            kind, path, move_to = "delete", self.old, None
        else:
            kind, path, move_to = "update", self.old, self.new if self.new != self.old else None
        return FileDiff(path, kind, added, removed, self.lines, move_to, self.binary)


def _header_path(raw: str, prefix: str) -> str | None:
    path = raw.split("\t", 1)[0].strip()  # `diff -u` appends a tab and a timestamp
    if path == "/dev/null":
        return None
    if len(path) > 1 and path[0] == path[-1] == '"':
        path = path[1:-1]
    return path.removeprefix(prefix)


def parse_unified_diff(text: str) -> list[FileDiff]:
    """Split a multi-file unified diff (`git diff`, `diff -u`, ours) into per-file sections.

    Inside a hunk the line counts from its `@@` header decide where it ends, so a removed line
    that reads `-- x` is not mistaken for the next file's `--- x` header.
    """
    drafts: list[_Draft] = []
    old_left = new_left = old_no = new_no = 0
    for raw in text.split("\n"):
        line = raw.removesuffix("\r")
        draft = drafts[-1] if drafts else None
        if draft is not None and (old_left > 0 or new_left > 0):
            tag, body = line[:1], line[1:]
            if tag == "+":
                draft.lines.append(DiffLine("added", body, None, new_no))
                new_no, new_left = new_no + 1, new_left - 1
                continue
            if tag == "-":
                draft.lines.append(DiffLine("removed", body, old_no, None))
                old_no, old_left = old_no + 1, old_left - 1
                continue
            if tag in (" ", ""):  # some tools strip the space of an empty context line
                draft.lines.append(DiffLine("context", body, old_no, new_no))
                old_no, new_no = old_no + 1, new_no + 1
                old_left, new_left = old_left - 1, new_left - 1
                continue
            if tag == "\\":
                draft.lines.append(DiffLine("note", line))
                continue
            old_left = new_left = 0  # a short hunk: fall through and read `line` as a header
        if line.startswith("diff --git "):
            rest = line[len("diff --git ") :]
            old, _, new = rest.removeprefix("a/").partition(" b/")
            drafts.append(_Draft(old, new or old, awaiting_paths=True))
        elif line.startswith("--- "):
            if draft is None or not draft.awaiting_paths:
                draft = _Draft()
                drafts.append(draft)
            draft.old = _header_path(line[4:], "a/")
        elif line.startswith("+++ ") and draft is not None:
            draft.new, draft.awaiting_paths = _header_path(line[4:], "b/"), False
        elif (match := _HUNK.match(line)) and draft is not None:
            old_no, new_no = int(match[1]), int(match[3])
            old_left = 1 if match[2] is None else int(match[2])
            new_left = 1 if match[4] is None else int(match[4])
            draft.lines.append(DiffLine("hunk", line))
        elif draft is None:
            continue
        elif line.startswith("\\"):
            draft.lines.append(DiffLine("note", line))
        elif line.startswith("new file mode"):
            draft.old = None
        elif line.startswith("deleted file mode"):
            draft.new = None
        elif line.startswith(("rename from ", "copy from ")):
            draft.old = line.split(" ", 2)[2]
        elif line.startswith(("rename to ", "copy to ")):
            draft.new = line.split(" ", 2)[2]
        elif line.startswith(("Binary files ", "GIT binary patch")):
            draft.binary = True
    return [draft.finish() for draft in drafts]


def from_change(change: FileChangeSummary) -> FileDiff:
    """A FileDiff for an engine change; its counts and names win over what the diff says."""
    parsed = parse_unified_diff(change.diff)
    lines = parsed[0].lines if parsed else []
    return FileDiff(change.path, change.kind, change.added, change.removed, lines, change.move_to)


@lru_cache(maxsize=64)
def _lexer_for(filename: str) -> Lexer:
    from pygments.lexers import get_lexer_for_filename
    from pygments.lexers.special import TextLexer
    from pygments.util import ClassNotFound

    try:
        return get_lexer_for_filename(filename, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return TextLexer(stripnl=False, ensurenl=False)


@lru_cache(maxsize=256)
def _token_style(token: _TokenType) -> str | None:
    styles = HighlightTheme.STYLES
    current: _TokenType | None = token
    while current is not None:
        if (style := styles.get(current)) is not None:
            return style or None
        current = current.parent
    return None


def display_text(text: str) -> str:
    return text.expandtabs(_TAB_SIZE).translate(_CONTROL_PICTURES)


def _highlight_side(lexer: Lexer, texts: list[str]) -> list[Content]:
    spans: list[list[Span]] = [[] for _ in texts]
    row = column = 0
    for token, value in lexer.get_tokens("\n".join(texts)):
        style = _token_style(token)
        for number, part in enumerate(value.split("\n")):
            if number:
                row, column = row + 1, 0
            if part and style and row < len(texts):
                spans[row].append(Span(column, column + len(part), style))
            column += len(part)
    return [Content(text, spans=line_spans) for text, line_spans in zip(texts, spans)]


def highlight_file(file: FileDiff) -> list[Content]:
    """Each diff line's code, highlighted by file type; one Content per line of `file.lines`.

    The old side (context + removed) and the new side (context + added) are lexed as two
    continuous texts, so a line inside a docstring still looks like one.
    """
    texts = [display_text(line.text) for line in file.lines]
    result = [Content(text) for text in texts]
    if sum(len(t) for t in texts) > _HIGHLIGHT_LIMIT:
        return result
    lexer = _lexer_for(Path(file.move_to or file.path).name)
    from pygments.lexers.special import TextLexer

    if isinstance(lexer, TextLexer):
        return result
    for side in ({"context", "removed"}, {"context", "added"}):  # new side wins for context
        rows = [i for i, line in enumerate(file.lines) if line.kind in side]
        for i, content in zip(rows, _highlight_side(lexer, [texts[i] for i in rows])):
            result[i] = content
    return result


class _DiffBody(ScrollView, can_focus=False):
    """The selected file's lines: a fixed gutter of old/new numbers and a scrolling code column."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.file: FileDiff | None = None
        self.lines: list[DiffLine] = []
        self._code: list[Content] | None = None
        self._number_width = 1
        self._strips: LRUCache[tuple[int, str], tuple[Strip, Strip]] = LRUCache(2048)

    @property
    def gutter_width(self) -> int:
        return 2 * self._number_width + 5  # " old new ± "

    def show(self, file: FileDiff | None) -> None:
        self.file, self._code = file, None
        self._strips.clear()
        self.lines = file.lines if file else []
        if file is not None and not self.lines:
            note = "Binary file: no text to show." if file.binary else "No changes to the content."
            self.lines = [DiffLine("note", note)]
        numbers = [n for line in self.lines for n in (line.old_no, line.new_no) if n is not None]
        self._number_width = len(str(max(numbers, default=0)))
        code_width = max((cell_len(display_text(line.text)) for line in self.lines), default=0)
        self.virtual_size = Size(self.gutter_width + code_width, len(self.lines))
        self.scroll_to(0, 0, animate=False, immediate=True)
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.get_visual_style()
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        if index >= len(self.lines):
            return Strip.blank(width, base.rich_style)
        key = (index, self.app.theme)  # styles are baked into strips, so the theme is in the key
        if (parts := self._strips.get(key)) is None:
            parts = self._render_parts(index, base)
            self._strips.set(key, parts)
        gutter, code = parts
        line_style = self._line_style(self.lines[index].kind, base).rich_style
        code = code.crop_extend(scroll_x, scroll_x + max(0, width - gutter.cell_length), line_style)
        return Strip.join([gutter, code]).crop_extend(0, width, line_style)

    def _line_style(self, kind: LineKind, base: Style) -> Style:
        if kind in ("added", "removed"):
            return base + Style(background=Color.parse(app_color(self.app, f"diff-{kind}-bg")))
        if kind == "hunk":
            return base + Style.parse("$text-accent on $panel")
        return base

    def _render_parts(self, index: int, base: Style) -> tuple[Strip, Strip]:
        if self._code is None:
            self._code = highlight_file(self.file) if self.file and self.file.lines else []
        line = self.lines[index]
        style = self._line_style(line.kind, base)
        if line.kind in ("hunk", "note"):
            gutter = Content(" " * self.gutter_width)
            code = Content.styled(display_text(line.text), "italic")
        else:
            width = self._number_width
            old = "" if line.old_no is None else str(line.old_no)
            new = "" if line.new_no is None else str(line.new_no)
            sign, sign_style = {
                "added": ("+", f"bold {app_color(self.app, 'diff-added-fg')}"),
                "removed": ("−", f"bold {app_color(self.app, 'diff-removed-fg')}"),
            }.get(line.kind, (" ", ""))
            gutter = Content.assemble(
                (f" {old:>{width}} {new:>{width}} ", "$foreground-muted"), (sign, sign_style), " "
            )
            code = self._code[index]
        return _strip(gutter, style), _strip(code, style)


def _strip(content: Content, base: Style) -> Strip:
    # Adding each span's style to the base resolves "auto" colours (the highlighter's
    # "$text 60%") against the line's background; `Content.render_segments` leaves them white.
    return Strip(
        [Segment(text, (base + style).rich_style) for text, style in content.render(base, end="")]
    )


class DiffView(Vertical, can_focus=True):
    """Diff preview: `show_changes` for the engine's changes, `show_unified` for `git diff`."""
    ALLOW_MAXIMIZE = True  # F2–F5 maximize it (Textual maximizes only widgets that allow it)

    DEFAULT_CSS = Path(__file__).with_suffix(".tcss").read_text(encoding="utf-8")
    EMPTY_TEXT = "No changes to preview."
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("],n", "next_file", "Next file", id="diff.next_file"),
        Binding("[,p", "previous_file", "Prev file", id="diff.previous_file"),
        Binding("down,j", "scroll_body(0, 1)", "Down", show=False, id="diff.scroll_down"),
        Binding("up,k", "scroll_body(0, -1)", "Up", show=False, id="diff.scroll_up"),
        Binding("right,l", "scroll_body(4, 0)", "Right", show=False, id="diff.scroll_right"),
        Binding("left,h", "scroll_body(-4, 0)", "Left", show=False, id="diff.scroll_left"),
        Binding("pagedown,space", "page_body(1)", "Page down", show=False, id="diff.page_down"),
        Binding("pageup,b", "page_body(-1)", "Page up", show=False, id="diff.page_up"),
        Binding("home,g", "body_edge(0)", "Top", show=False, id="diff.top"),
        Binding("end,G", "body_edge(1)", "Bottom", show=False, id="diff.bottom"),
    ]

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.files: list[FileDiff] = []
        self.label = ""
        self.selected: int | None = None

    def compose(self) -> ComposeResult:
        yield Static(self.EMPTY_TEXT, id="diff-empty", markup=False)
        yield Static(id="diff-header", markup=False)
        files = OptionList(id="diff-files")
        files.can_focus = False  # one focus stop: the pane itself owns every key
        yield files
        yield _DiffBody(id="diff-body")

    def on_mount(self) -> None:
        self._show(self.files, self.label)
        # Header and file rows bake theme colours in; repaint them when the theme changes.
        self.app.theme_changed_signal.subscribe(
            self, lambda _: self._show(self.files, self.label, self.selected)
        )

    def show_changes(self, changes: list[FileChangeSummary], *, label: str) -> None:
        """Preview the engine's file changes, e.g. label "pending approval" or "applied"."""
        self._show([from_change(change) for change in changes], label)

    def show_unified(self, diff_text: str, *, label: str) -> None:
        """Preview a multi-file unified diff such as `git diff` output."""
        self._show(parse_unified_diff(diff_text), label)

    def clear(self) -> None:
        self._show([], "")

    def select_file(self, index: int) -> None:
        if not self.files or not self.is_mounted:
            return
        index = max(0, min(index, len(self.files) - 1))
        if index != self.selected:
            self.selected = index
            self.query_one(_DiffBody).show(self.files[index])
        self.query_one(OptionList).highlighted = index

    def reveal_line(self, path: str, line: int | None) -> bool:
        """Select the file `path` and bring its new line `line` into view; False when the diff
        shown has no such file."""
        index = next((i for i, f in enumerate(self.files) if path in (f.path, f.move_to)), None)
        if index is None:
            return False
        self.select_file(index)
        body = self.query_one(_DiffBody)
        row = next((i for i, ln in enumerate(body.lines) if line is not None and ln.new_no is not None and ln.new_no >= line), 0)
        body.scroll_to(y=max(0, row - body.size.height // 3), animate=False, immediate=True)
        return True

    def action_next_file(self) -> None:
        if self.files and self.selected is not None:
            self.select_file((self.selected + 1) % len(self.files))

    def action_previous_file(self) -> None:
        if self.files and self.selected is not None:
            self.select_file((self.selected - 1) % len(self.files))

    def action_scroll_body(self, dx: int, dy: int) -> None:
        body = self.query_one(_DiffBody)
        body.scroll_relative(dx, dy, animate=False)

    def action_page_body(self, pages: int) -> None:
        body = self.query_one(_DiffBody)
        body.scroll_relative(y=pages * max(1, body.size.height - 1), animate=False)

    def action_body_edge(self, end: int) -> None:
        body = self.query_one(_DiffBody)
        body.scroll_to(y=body.max_scroll_y if end else 0, animate=False)

    @on(OptionList.OptionHighlighted, "#diff-files")
    def _file_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self.select_file(event.option_index)

    def _show(self, files: list[FileDiff], label: str, keep: int | None = None) -> None:
        self.files, self.label, self.selected = files, label, None
        if not self.is_mounted:
            return  # on_mount shows what arrived before the pane was on screen
        self.set_class(not files, "-empty")
        self.query_one("#diff-header", Static).update(self._header())
        option_list = self.query_one(OptionList)
        option_list.clear_options()
        option_list.add_options(self._file_row(file) for file in files)
        self.query_one(_DiffBody).show(None)
        self.select_file(keep or 0)

    def _header(self) -> Content:
        added = sum(file.added for file in self.files)
        removed = sum(file.removed for file in self.files)
        count = f"{len(self.files)} file" + ("" if len(self.files) == 1 else "s")
        return Content.assemble(
            (self.label, "bold $text-accent"), f" · {count}  ", *self._counts(added, removed)
        )

    def _file_row(self, file: FileDiff) -> Content:
        letter = "R" if file.move_to else {"add": "A", "delete": "D"}.get(file.kind, "M")
        colour = {"A": self._colour("added"), "D": self._colour("removed")}.get(letter)
        counts = [("binary", "$foreground-muted")] if file.binary else []
        return Content.assemble(
            (letter, f"bold {colour or '$text-accent'}"),
            f" {neutralize(file.title, strict=True)}  ",
            *(counts or self._counts(file.added, file.removed)),
        )

    def _counts(self, added: int, removed: int) -> list[str | tuple[str, str]]:
        return [(f"+{added}", self._colour("added")), " ", (f"−{removed}", self._colour("removed"))]

    def _colour(self, kind: str) -> str:
        return app_color(self.app, f"diff-{kind}-fg")
