"""The /resume picker: recorded sessions, newest first (date, folder, first message, size)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

if TYPE_CHECKING:
    from tui.engine.resume import SessionInfo


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


class ResumeScreen(ModalScreen[Path | None]):
    DEFAULT_CSS = """
    ResumeScreen { align: center middle; }
    ResumeScreen > Vertical {
        width: 95%; max-width: 140; height: 80%; border: thick $accent; background: $surface; padding: 1 2;
    }
    ResumeScreen OptionList { height: 1fr; margin-top: 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="resume.cancel")]
    # Focused as the screen is shown (not in on_mount: an Enter typed at once may have dismissed
    # the screen, its children gone, before on_mount ran).
    AUTO_FOCUS = "OptionList"

    def __init__(self, sessions: list[SessionInfo], current: str) -> None:
        """`current`: the session shown, left out of the list; "" at `codeloop resume`'s start,
        where Esc starts a new session instead."""
        super().__init__()
        self.sessions = [s for s in sessions if s.session_id != current]
        self.esc = "Esc starts a new session" if not current else "Esc cancels"

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Resume which session? (Enter opens it, {self.esc})" if self.sessions else "No other recorded session.")
            yield OptionList(*(
                Option(
                    f"{s.started.astimezone():%Y-%m-%d %H:%M}  {_size(s.size_bytes):>8}  {s.cwd}\n"
                    f"    {' '.join((s.first_message or '(no message)').split())[:100]}",
                    id=str(n),
                )
                for n, s in enumerate(self.sessions)
            ))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.sessions[int(event.option.id or 0)].path)

    def action_cancel(self) -> None:
        self.dismiss(None)
