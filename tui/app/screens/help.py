"""F1: help for the focused pane (its keys and what it shows), and every command."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.app.commands import help_text

PANE_HELP = {
    "conversation": (
        "Conversation\n\nYour messages, the model's answers (streamed), its reasoning summaries "
        "(collapsed; click or Enter to open), each command with its exit code, time and last lines "
        "of output, edits with their +/− counts, and notices (denials, retries, errors).\n"
        "It follows the newest output unless you scroll up; then \"new output below\" says when "
        "more arrives, and Ctrl+End jumps back to it (and follows again). F2 maximizes it.\n"
        "Tab to a command, then c copies its command line and Enter shows all its output. "
        "Select text with the mouse and press Ctrl+C to copy it; /copy copies the last answer "
        "(both through the terminal's clipboard, OSC 52, so they work over SSH).\n"
        "Ctrl+T opens the transcript: the whole session, each command with all its output "
        "(/ searches, n/N next/previous, c copies the item under the cursor, Esc closes)."
    ),
    "plan": "Plan\n\nThe steps the model posts with update_plan: ✔ done, ▶ in progress, ○ pending. F3 maximizes it.",
    "diff": (
        "Diff preview\n\nThe edit waiting for your approval, or the last one applied, or /diff's git diff.\n"
        "] or n: next file · [ or p: previous file · j/k or arrows: scroll · h/l: sideways · "
        "space/b: page · g/G: top/bottom. F4 maximizes it."
    ),
    "budget": (
        "Token budget\n\nContext used and left (from the last response's reported total; ≈ marks an "
        "estimate), the last request's input, cached input (hit %), output and reasoning tokens, "
        "session totals, a sparkline of the cache-hit rate per request, why a request missed the "
        "prompt cache (newest first), where auto-compaction fires, and the estimated cost of the last "
        "turn and the session, with what the cache saved, when [tui.prices] has the model. F5 "
        "maximizes it."
    ),
    "composer": (
        "Composer\n\nEnter sends · Ctrl+J newline · Up/Down recall earlier messages (earlier sessions "
        "too) · Ctrl+R searches them · / opens the command "
        "list (Tab completes) · Ctrl+C copies selected text. Letters typed while a pane has the focus "
        "come here; Esc brings the focus back from any pane."
    ),
}


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%; max-width: 110; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 1 2;
    }
    """
    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close", id="help.close")]

    def __init__(self, pane: str) -> None:
        super().__init__()
        self.pane = pane

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(PANE_HELP.get(self.pane, PANE_HELP["composer"]) + "\n\n" + help_text(), markup=False)
