"""The conversation pane: user messages, streamed answers, reasoning, tool and patch cells.

Answers stream into `AnswerCell` (answer.py: painted at a bounded rate, finished blocks frozen),
and old cells are pruned in very long sessions, so the pane stays cheap. It stays anchored at
the bottom unless the user scrolls up.
"""

from __future__ import annotations

import shlex

from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Collapsible, Static

from tui.app.widgets.answer import AnswerCell

from tui.engine.events import FileChangeSummary

TAIL_LINES = 6
MAX_CELLS = 300  # widgets kept on screen (~100 turns); older ones are dropped (they stay in the history)


class UserCell(Static):
    DEFAULT_CSS = "UserCell { margin: 1 0 0 0; padding: 0 1; border-left: thick $accent; }"


class ToolCell(Static, can_focus=True):
    """A command: what ran, where, how it ended, and the last lines (Enter or a click: all of them)."""

    DEFAULT_CSS = """
    ToolCell { margin: 1 0 0 0; padding: 0 1; border-left: thick $secondary; }
    ToolCell.-failed { border-left: thick $error; }
    ToolCell:focus { background: $boost; }
    """
    BINDINGS = [
        Binding("enter", "toggle", "Expand", id="conversation.toggle_output", show=False),
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
        text.append("\n  running…" if result is None else "\n" + result, style="italic dim" if result is None else "")
        self.update(text)

    def finish(self, exit_code: int, duration_s: float, output: str, timed_out: bool) -> None:
        self.end(f"{'timed out' if timed_out else f'exit {exit_code}'} · {duration_s:.1f}s", output, exit_code != 0 or timed_out)

    def end(self, status: str, output: str, failed: bool) -> None:
        self.status = status
        self.lines = output.rstrip("\n").splitlines()
        self.set_class(failed, "-failed")
        self.render_cell()

    def action_toggle(self) -> None:
        self.expanded = not self.expanded
        self.render_cell()

    def on_click(self) -> None:
        self.action_toggle()


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


class Conversation(VerticalScroll):
    ALLOW_MAXIMIZE = True  # F2–F5 maximize it (Textual maximizes only widgets that allow it)
    DEFAULT_CSS = "Conversation { padding: 0 1; }"
    BORDER_TITLE = "Conversation"

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._answer: AnswerCell | None = None
        self._attempt: list[Widget] = []  # model output shown since the current request began
        self._tools: dict[str, ToolCell] = {}
        self._queued: list[UserCell] = []  # messages waiting for the running turn, oldest first

    def on_mount(self) -> None:
        self.anchor()

    async def add_user(self, text: str, *, queued: bool = False) -> None:
        label = Text(text)
        cell = UserCell(label)
        if queued:
            label.append("  (queued)", style="dim italic")
            self._queued.append(cell)
        await self.mount(cell)

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
        excess = len(self.children) - MAX_CELLS
        if excess > 0:
            dropped = list(self.children[:excess])
            await self.remove_children(dropped)
            gone = set(map(id, dropped))
            self._tools = {k: v for k, v in self._tools.items() if id(v) not in gone}

    async def add_reasoning(self, text: str) -> None:
        title = text.strip().splitlines()[0].strip("* ") if text.strip() else "Reasoning"
        body = Static(Text(text, style="dim"))
        cell = Collapsible(body, title=f"thinking: {title[:70]}", collapsed=True, classes="reasoning")
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

    def tool_ended(self, call_id: str, exit_code: int, duration_s: float, output: str, timed_out: bool) -> None:
        cell = self._tools.get(call_id)
        if cell is not None:
            cell.finish(exit_code, duration_s, output, timed_out)

    async def mcp_call_began(self, call_id: str, server: str, tool: str, arguments: str) -> None:
        cell = McpCallCell(server, tool, arguments)
        self._tools[call_id] = cell
        await self.mount(cell)

    def mcp_call_ended(self, call_id: str, success: bool, duration_s: float, output: str, timed_out: bool) -> None:
        cell = self._tools.get(call_id)
        if cell is not None:
            state = "timed out" if timed_out else "done" if success else "failed"
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
        await self.mount(NoticeCell(Text(text), classes=f"-{kind}"))
