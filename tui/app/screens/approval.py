"""The approval modal: the engine awaits the decision made here.

y approve once · a approve for the session · n deny (the model is told) · Esc abort the turn.
Arrows + Enter work too. The rest of the UI keeps running behind the modal.

Type-ahead never decides (screens/guarded.py): until the modal has been on screen and quiet for
GUARD_S, its choices are hidden and keys go on to the composer.
"""

from __future__ import annotations

import shlex

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from tui.app.screens.full_diff import FullDiffScreen
from tui.app.screens.guarded import GuardedModal, TypeAhead
from tui.app.widgets.patch_preview import PatchPreview
from tui.protocol import ApprovalRequested, ReviewDecision

CHOICES = [
    (ReviewDecision.APPROVED, "Yes, once", "y"),
    (ReviewDecision.APPROVED_FOR_SESSION, "Yes, and don't ask again this session", "a"),
    (ReviewDecision.DENIED, "No, tell the model", "n"),
    (ReviewDecision.ABORT, "Abort the turn", "esc"),
]


MAX_ARGUMENT_CHARS = 20_000  # a model can send megabytes; the scroll area shows this much


def _clip(text: str) -> str:
    if len(text) <= MAX_ARGUMENT_CHARS:
        return text
    return text[:MAX_ARGUMENT_CHARS] + f"\n… {len(text) - MAX_ARGUMENT_CHARS:,} more characters"


class ApprovalScreen(GuardedModal[ReviewDecision]):
    DEFAULT_CSS = """
    ApprovalScreen { align: center middle; }
    ApprovalScreen > Vertical {
        width: 90%; max-width: 120; height: auto; max-height: 90%;
        border: thick $warning; background: $surface; padding: 1 2;
    }
    ApprovalScreen #title { text-style: bold; }
    ApprovalScreen #details { height: auto; max-height: 30; margin: 1 0; }
    ApprovalScreen #reason { height: auto; max-height: 3; margin: 0 0 1 0; }
    ApprovalScreen OptionList { height: auto; }
    """
    # Rows of the modal around the scrolling part: border and padding 4, title 1, the details'
    # margin 2, the options 6 (4 and a border), the reason line and its margin 2 (patches).
    CHROME_ROWS = 15
    BINDINGS = [
        Binding("y", "decide('approved')", "Approve", id="approval.approve"),
        Binding("a", "decide('approved_for_session')", "Approve for session", id="approval.approve_session"),
        Binding("n", "decide('denied')", "Deny", id="approval.deny"),
        Binding("escape", "decide('abort')", "Abort turn", id="approval.abort"),
        Binding("f4", "full_diff", "Full diff", id="approval.full_diff"),
    ]

    def __init__(self, request: ApprovalRequested, type_ahead: TypeAhead | None = None) -> None:
        """`type_ahead` receives the keys typed while the modal is guarded (the composer's)."""
        super().__init__(type_ahead)
        self.request = request

    def compose(self) -> ComposeResult:
        req = self.request
        with Vertical():
            if req.kind == "exec":
                yield Label("Run this command?", id="title")
                body = Text()
                body.append("$ " + shlex.join(req.command or []), style="bold")
                body.append(f"\nin {req.cwd}", style="dim")
                body.append("\nsandboxed" if req.sandboxed else "\nWITHOUT the sandbox", style="dim" if req.sandboxed else "bold red")
                body.append(f"\n\nReason: {req.reason}")
                if req.justification:
                    body.append("\nThe model says (its own words, not verified by codeloop): ", style="dim")
                    body.append(req.justification, style="italic")
            elif req.kind == "mcp":
                yield Label("Call this MCP tool?", id="title")
                body = Text()
                body.append("server ", style="dim")
                body.append(req.server or "?", style="bold")
                body.append("   tool ", style="dim")
                body.append(req.tool or "?", style="bold")
                body.append("\narguments:\n", style="dim")
                body.append(_clip(req.arguments or "{}"))
                body.append("\nThe server runs outside the sandbox and may do anything.", style="bold red")
                body.append(f"\n\nReason: {req.reason}")
            else:
                # The diff scrolls in its own box (Tab, then arrows/PageDown), sized so that the
                # choices below always show, whatever the patch's size; F4 opens the diff pane.
                files = len(req.changes or [])
                yield Label(f"Apply these edits? ({files} file{'s' if files != 1 else ''}; F4: full diff)", id="title")
                yield PatchPreview(req.changes or [], id="details")
                yield Static(Text(f"Reason: {req.reason}"), id="reason")
            if req.kind != "patch":
                with VerticalScroll(id="details"):
                    yield Static(body)
            yield Label("… (keys typed just now go to your message)", id="guard")
            yield OptionList(*(Option(f"{label} ({key})", id=d.value) for d, label, key in CHOICES))

    def on_resize(self) -> None:
        # Whatever the terminal's height (and when it changes under the modal), the scrolling
        # part gets what is left after the rest of the modal, so the choices never fall off.
        room = int(self.size.height * 0.9) - self.CHROME_ROWS
        self.query_one("#details").styles.max_height = max(room, 3)

    def action_full_diff(self) -> None:
        if self.request.changes:
            self.app.push_screen(FullDiffScreen(self.request.changes))

    def on_mount(self) -> None:
        if self.request.future is not None:
            # The turn can end without an answer from here (Ctrl+C cancels it, and the future
            # with it): a modal left up would ask about a call already answered and eat keys.
            self.request.future.add_done_callback(lambda _: self._withdraw())

    def _withdraw(self) -> None:
        if self.is_attached and self.app.screen is self:
            self.dismiss(None)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.action_decide(event.option.id or "denied")

    def action_decide(self, decision: str) -> None:
        self.dismiss(ReviewDecision(decision))
