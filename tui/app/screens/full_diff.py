"""F4 from a patch approval: the patch in a full-screen diff pane (file list, scrolling, the
pane's keys); F4, Esc or q goes back to the approval, which still waits for its answer."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen

from tui.app.widgets.diff_view import DiffView
from tui.protocol import FileChangeSummary


class FullDiffScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    FullDiffScreen { background: $background; }
    FullDiffScreen > DiffView { width: 1fr; height: 1fr; }
    """
    BINDINGS = [Binding("f4,escape,q", "dismiss", "Back to the approval", id="full_diff.close")]

    def __init__(self, changes: list[FileChangeSummary]) -> None:
        super().__init__()
        self.changes = changes

    def compose(self) -> ComposeResult:
        yield DiffView(id="full-diff")

    def on_mount(self) -> None:
        view = self.query_one(DiffView)
        view.border_title = "Diff (F4 or Esc: back to the approval)"
        view.show_changes(self.changes, label="pending approval")
        view.focus()
