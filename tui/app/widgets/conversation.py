"""The conversation pane: user messages, streamed answers, reasoning, tool and patch cells.

Answers stream into `AnswerCell` (answer.py: painted at a bounded rate, finished blocks frozen),
and old cells are pruned in very long sessions, so the pane stays cheap. It stays anchored at
the bottom unless the user scrolls up.
"""

from __future__ import annotations

import shlex
from collections import deque
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.geometry import Offset, Region, Size
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Collapsible, Static

from tui.app.widgets.answer import AnswerCell, render_markdown
from tui.protocol import FileChangeSummary, ReasoningSummary
from tui.safety.terminal_text import neutralize
from tui.wording import command_state, mcp_call_state, thinking

TAIL_LINES = 6
LIVE_LINES = 200  # what a running command's cell keeps of its output (the model gets it all at the end)
MAX_CELLS = 300  # widgets kept on screen (~100 turns); older ones are dropped (they stay in the history)


IMAGE_CHIP = r"\[image: [^\]\n]+\]"  # tui/app/attachments.py's chips: "[image: shot.png 120 KB]"


class UserCell(Static):
    DEFAULT_CSS = "UserCell { margin: 1 0 0 0; padding: 0 1; border-left: thick $accent; }"

    message = ""  # the text sent, as the engine has it


class ToolCell(Static, can_focus=True):
    """A command: what ran, where, how it ended, and the last lines (Enter or a click: all of them)."""

    DEFAULT_CSS = """
    ToolCell { margin: 1 0 0 0; padding: 0 1; border-left: thick $secondary; }
    ToolCell.-failed { border-left: thick $error; }
    ToolCell:focus { background: $boost; }
    """
    BINDINGS = [
        Binding("enter", "toggle_output", "Expand", id="conversation.toggle_output", show=False),
        Binding("c", "copy_command", "Copy command", id="conversation.copy_command", show=False),
    ]

    def action_copy_command(self) -> None:
        """c: the command line to the terminal's clipboard (OSC 52), as shown."""
        line = self.typed if self.typed is not None else shlex.join(self.command)
        self.app.copy_to_clipboard(line)
        self.notify(f"Copied: {line[:60]}", timeout=2)

    def __init__(self, command: list[str], cwd: str, sandboxed: bool, typed: str | None = None) -> None:
        """`typed`: the command line as the user typed it (a `!` command), shown instead of the argv."""
        super().__init__()
        self.command = command
        self.typed = typed
        self.cwd = cwd
        self.sandboxed = sandboxed
        self.status: str | None = None
        self.lines: list[str] = []
        self.live: deque[str] = deque(maxlen=LIVE_LINES)  # while it runs: its last lines so far
        self._unfinished = ""  # the live output's last line, still being printed
        self.expanded = False
        self.render_cell()

    @property
    def result(self) -> str | None:
        """The text under the command line once it ended (state, then the shown output)."""
        if self.status is None:
            return None
        shown = self.lines if self.expanded else self.lines[-TAIL_LINES:]
        hidden = len(self.lines) - len(shown)
        more = f"  … {hidden} more lines (Enter to expand)\n" if hidden else ""
        return f"  {self.status}\n{more}{''.join(f'  {ln}' + chr(10) for ln in shown)}".rstrip("\n")

    def header(self, text: Text) -> None:
        text.append("$ ", style="bold")
        text.append(self.typed if self.typed is not None else shlex.join(self.command), style="bold")
        by_you = " · run by you" if self.typed is not None else ""
        text.append(f"\n  in {self.cwd}{'' if self.sandboxed else ' · no sandbox'}{by_you}", style="dim")

    def render_cell(self) -> None:
        text = Text()
        self.header(text)
        result = self.result
        if result is not None:
            text.append("\n" + result)
        else:
            text.append("\n  running…", style="italic dim")
            tail = [*self.live, self._unfinished] if self._unfinished else list(self.live)
            text.append("".join(f"\n  {line}" for line in tail[-TAIL_LINES:]), style="dim")
        self.update(text)

    def append_live(self, chunk: str) -> None:
        """More output from the running command: keep its last lines and show the tail."""
        if self.status is not None:
            return  # a late update after the end: the final output is already shown
        # A carriage return (a progress bar redrawing its line) starts a new shown line: nothing
        # the command printed is hidden, and the last state is the last line.
        lines = (self._unfinished + neutralize(chunk.replace("\r\n", "\n").replace("\r", "\n"))).split("\n")
        self._unfinished = lines.pop()
        self.live.extend(lines[-LIVE_LINES:])
        self.render_cell()

    def finish(self, exit_code: int, duration_s: float, output: str, timed_out: bool, interrupted: bool = False) -> None:
        state = command_state(exit_code, timed_out, interrupted)
        self.end(f"{state} · {duration_s:.1f}s", output, exit_code != 0 or timed_out or interrupted)

    def show_progress(self, text: str) -> None:
        """The running call's last progress report, in place of its live output."""
        if self.status is None:
            self.live.clear()
            self.live.append(neutralize(" ".join(text.split())))
            self.render_cell()

    def end(self, status: str, output: str, failed: bool) -> None:
        self.status = status
        self.live.clear()
        self._unfinished = ""
        self.lines = neutralize(output).rstrip("\n").splitlines()
        self.set_class(failed, "-failed")
        self.render_cell()

    def action_toggle_output(self) -> None:
        self.expanded = not self.expanded
        self.render_cell()

    def on_click(self) -> None:
        self.action_toggle_output()


class McpCallCell(ToolCell):
    """An MCP tool call: server, tool and arguments, then how it ended and its output."""

    def __init__(self, server: str, tool: str, arguments: str) -> None:
        self.server = server
        self.tool = tool
        self.arguments = " ".join(arguments.split())  # one line: the full JSON was in the approval
        super().__init__([], "", sandboxed=False)

    def header(self, text: Text) -> None:
        text.append("mcp ", style="bold")
        text.append(f"{self.server} › {self.tool}", style="bold")
        args = self.arguments if len(self.arguments) <= 200 else self.arguments[:199] + "…"
        text.append(f"\n  {args} · no sandbox", style="dim")


class PatchCell(Static):
    DEFAULT_CSS = "PatchCell { margin: 1 0 0 0; padding: 0 1; border-left: thick $warning; }"


class SearchCell(Static):
    """A web search the provider ran for the model: one dim line."""

    DEFAULT_CSS = "SearchCell { margin: 1 0 0 0; padding: 0 1; color: $text-muted; border-left: thick $accent 50%; }"


class NoticeCell(Static):
    DEFAULT_CSS = """
    NoticeCell { margin: 1 0 0 0; padding: 0 1; color: $text-muted; }
    NoticeCell.-error { color: $error; }
    NoticeCell.-warning { color: $warning; }
    """


class PanelCell(Static):
    """A framed block of facts (/status): its text built and neutralized by the caller."""

    DEFAULT_CSS = "PanelCell { margin: 1 0 0 0; padding: 0 1; border: round $accent; height: auto; }"


class WelcomeCell(Static):
    """What an empty session shows (app/welcome.py); it goes once the conversation starts."""

    DEFAULT_CSS = "WelcomeCell { margin: 1 0 0 0; padding: 0 1; border-left: thick $accent 50%; }"


class NewOutputMarker(Static):
    """Shown at the foot of the conversation while the user reads above and more output arrives."""

    DEFAULT_CSS = """
    NewOutputMarker {
        dock: bottom; width: auto; margin: 0 0 0 2; padding: 0 1;
        background: $accent; color: $text; text-style: bold; display: none;
    }
    NewOutputMarker.-shown { display: block; }
    """


JUMP_KEY = "ctrl+end"
"""The app's key that jumps back to the newest output (and follows it again)."""


class Conversation(VerticalScroll):
    """It follows the newest output (Textual's anchor) until the user scrolls up; then a marker
    says when more arrives below, and Ctrl+End (or scrolling to the end) follows again."""

    ALLOW_MAXIMIZE = True  # F2–F5 maximize it (Textual maximizes only widgets that allow it)
    DEFAULT_CSS = "Conversation { padding: 0 1; } Conversation .reasoning-body { color: $text-muted; }"
    BORDER_TITLE = "Conversation"

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._answer: AnswerCell | None = None
        self._attempt: list[Widget] = []  # model output shown since the current request began
        self._tools: dict[str, ToolCell] = {}
        self._retry: NoticeCell | None = None
        self._queued: list[UserCell] = []  # messages waiting for the running turn, oldest first
        self._welcome: WelcomeCell | None = None
        self.started = False  # something happened besides notices: no welcome any more
        self.marker = NewOutputMarker("↓ new output below · Ctrl+End")

    def compose(self) -> ComposeResult:
        yield self.marker

    def on_mount(self) -> None:
        self.anchor()

    @property
    def following(self) -> bool:
        """At the bottom, or anchored there: new output stays in view."""
        return not self._anchor_released or self.scroll_y >= self.max_scroll_y

    def follow(self) -> None:
        """Jump to the newest output and keep following it."""
        self.anchor()
        self.marker.remove_class("-shown")

    def watch_virtual_size(self, old: Size, new: Size) -> None:
        if new.height > old.height and not self.following:
            self.marker.add_class("-shown")

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self.following:
            self.marker.remove_class("-shown")

    def scroll_to_region(self, region: Region, *args: Any, **kwargs: Any) -> Offset:
        """While following, a cell the user can already see (they clicked it, pressed Enter on it,
        opened it) is not scrolled to: that would move the view off the bottom and stop the
        following. A cell out of view (reached with Tab) is scrolled to as usual."""
        if self._anchored and not self._anchor_released and region.overlaps(self.scrollable_content_region.at_offset(self.scroll_offset)):
            return Offset()
        return super().scroll_to_region(region, *args, **kwargs)

    async def show_welcome(self, text: Text, *, fresh: bool = False) -> None:
        """The empty session's welcome, unless the conversation has already started (`fresh`:
        a new session in the cleared pane, /new)."""
        if fresh:
            self.dismiss_welcome()
            self.started = False
        if not self.started and self._welcome is None:
            self._welcome = WelcomeCell(text)
            await self.mount(self._welcome)

    def dismiss_welcome(self) -> None:
        """The conversation starts: the welcome goes (and will not come)."""
        self.started = True
        if self._welcome is not None:
            if self._welcome.is_attached:  # not when the pane was cleared since (/new, /resume)
                self._welcome.remove()
            self._welcome = None

    async def add_panel(self, text: Text, title: str) -> None:
        cell = PanelCell(text)
        cell.border_title = title
        await self.mount(cell)
        self.follow()

    async def add_user(self, text: str, *, queued: bool = False) -> None:
        self.dismiss_welcome()
        label = Text(text)
        label.highlight_regex(IMAGE_CHIP, "reverse")  # an attached image's chip, as a chip
        cell = UserCell(label)
        cell.message = text
        if queued:
            label.append("  (queued)", style="dim italic")
            self._queued.append(cell)
        await self.mount(cell)
        if not queued:
            self.follow()  # sending always brings the conversation to the bottom

    async def drop_from_user_message(self, texts: tuple[str, ...]) -> bool:
        """A fork: remove the cell of the user's message `texts[0]`, and everything after it,
        when the user cells at the end match `texts` in order (cells of other kinds, and user
        cells of no fork point, such as /init's, may stand between). False when it is not found
        (pruned, or a resumed session shows fewer): nothing is removed then."""
        wanted = list(texts)
        cells = [c for c in self.children if c is not self.marker]
        for n in range(len(cells) - 1, -1, -1):
            cell = cells[n]
            if isinstance(cell, UserCell) and wanted and cell.message == wanted[-1]:
                wanted.pop()
                if not wanted:
                    await self.remove_children(cells[n:])
                    self._answer, self._attempt = None, []
                    return True
        return False

    async def take_queued(self) -> None:
        """The oldest queued message is sent now and shown again where it is sent (after the
        answer it waited for): its queued copy goes, so it appears once."""
        while self._queued:
            cell = self._queued.pop(0)
            if cell.is_attached:  # cells of a conversation cleared since (/new) are gone already
                await cell.remove()
                return

    async def append_answer(self, delta: str) -> None:
        if self._answer is None:
            self._answer = AnswerCell()
            self._attempt.append(self._answer)
            await self.mount(self._answer)
        self._answer.append(delta)

    def begin_attempt(self) -> None:
        """A sampling request starts: what the model shows from here may still be retracted."""
        self._attempt = []

    async def discard_attempt(self) -> None:
        """The request failed and will be retried: its answers and reasoning were never real."""
        cells, self._attempt = self._attempt, []
        self._answer = None
        if cells:
            await self.remove_children(cells)

    async def finish_answer(self, text: str) -> None:
        answer, self._answer = self._answer, None
        if answer is None:
            cell = AnswerCell(text, done=True)
            self._attempt.append(cell)
            await self.mount(cell)
        else:
            await answer.finish(text)
        await self._prune()

    async def _prune(self) -> None:
        """Keep the widget count bounded in very long sessions; the history itself is untouched."""
        cells = [c for c in self.children if c is not self.marker]
        excess = len(cells) - MAX_CELLS
        if excess > 0:
            dropped = cells[:excess]
            await self.remove_children(dropped)
            gone = set(map(id, dropped))
            self._tools = {k: v for k, v in self._tools.items() if id(v) not in gone}

    async def add_reasoning(self, summary: ReasoningSummary) -> None:
        title = summary.headline() or "Reasoning"
        # The summary is Markdown (models bold each part's title): rendered, not shown raw.
        body = Static(render_markdown(summary.text, self.app.current_theme.dark), classes="reasoning-body")
        # Content, not a str: a str title is parsed as markup, and the model's `[link=…]` would
        # become a live hyperlink (or a MarkupError that ends the event pump).
        # Collapsible's `title` is typed str but goes to CollapsibleTitle.label (ContentText).
        heading: Any = Content(thinking(title[:70]))
        cell = Collapsible(body, title=heading, collapsed=True, classes="reasoning")
        self._attempt.append(cell)
        await self.mount(cell)

    async def add_search(self, text: str) -> None:
        cell = SearchCell(Text(text))
        self._attempt.append(cell)  # retracted with the rest if the request is retried
        await self.mount(cell)

    async def tool_began(self, call_id: str, command: list[str], cwd: str, sandboxed: bool, typed: str | None = None) -> None:
        cell = ToolCell(command, cwd, sandboxed, typed)
        self._tools[call_id] = cell
        await self.mount(cell)

    def tool_output(self, call_id: str, chunk: str) -> None:
        cell = self._tools.get(call_id)
        if cell is not None:
            cell.append_live(chunk)

    def tool_ended(
        self, call_id: str, exit_code: int, duration_s: float, output: str, timed_out: bool, interrupted: bool = False
    ) -> None:
        cell = self._tools.get(call_id)
        if cell is not None:
            cell.finish(exit_code, duration_s, output, timed_out, interrupted)

    async def mcp_call_began(self, call_id: str, server: str, tool: str, arguments: str) -> None:
        cell = McpCallCell(server, tool, arguments)
        self._tools[call_id] = cell
        await self.mount(cell)

    def mcp_call_progress(self, call_id: str, text: str) -> None:
        cell = self._tools.get(call_id)
        if cell is not None:
            cell.show_progress(text)

    def mcp_call_ended(self, call_id: str, success: bool, duration_s: float, output: str, timed_out: bool) -> None:
        cell = self._tools.get(call_id)
        if cell is not None:
            state = mcp_call_state(success, timed_out)
            cell.end(f"{state} · {duration_s:.1f}s", output, not success)

    async def add_patch(self, changes: list[FileChangeSummary], *, applied: bool) -> None:
        text = Text()
        text.append("Edited " if applied else "Proposed edit to ", style="bold")
        text.append(f"{len(changes)} file{'s' if len(changes) != 1 else ''}")
        for c in changes:
            target = f"{c.path} → {c.move_to}" if c.move_to else c.path
            text.append(f"\n  {c.kind:<6} {target} ")
            text.append(f"+{c.added}", style="green")
            text.append(" ")
            text.append(f"-{c.removed}", style="red")
        await self.mount(PatchCell(text))

    async def add_notice(self, text: str, kind: str = "info") -> None:
        # Notices quote outside text (MCP tool lists, provider errors) not always carried by an event.
        await self.mount(NoticeCell(Text(neutralize(text)), classes=f"-{kind}"))
    async def show_retry(self, text: str) -> None:
        """A request is being retried: one notice per turn, updated in place for every retry."""
        if self._retry is not None and self._retry.is_attached:
            self._retry.update(Text(neutralize(text)))
            return
        self._retry = NoticeCell(Text(neutralize(text)), classes="-warning")
        await self.mount(self._retry)

    def end_retries(self) -> None:
        """The next retry (in another turn) gets a notice of its own."""
        self._retry = None
