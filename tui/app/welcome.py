"""The empty session's welcome: whether AGENTS.md was found (or that /init writes one) and three
tips. Shown when a new session is attached; the conversation removes it once something happens
(the user sends a message, or the engine reports anything but the quiet events below)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text

from tui import protocol as ev
from tui.safety.terminal_text import neutralize

if TYPE_CHECKING:
    from tui.app.widgets.conversation import Conversation
    from tui.engine.session import Session

# Events that leave the welcome up: start-up news, not the conversation.
KEEPS_WELCOME: tuple[type[ev.Event], ...] = (ev.SessionConfigured, ev.WarningIssued, ev.McpServerStatus, ev.Error)

TIPS = (
    "Describe a task in plain words; @ adds a file's path, !cmd runs a command yourself.",
    "/model, /approvals, /sandbox: pickers (Ctrl+S saves the default) · /status: the session.",
    "Esc interrupts the model · /undo restores the files of before the last turn · F1 help.",
)


def _place(path: Path, cwd: Path) -> str:
    return str(path.relative_to(cwd)) if path.is_relative_to(cwd) else str(path)


def welcome_text(agents_files: tuple[Path, ...], cwd: Path) -> Text:
    text = Text()
    text.append("Welcome to codeloop.", style="bold")
    if agents_files:
        names = ", ".join(neutralize(_place(p, cwd)) for p in agents_files)
        text.append(f"\nThe model follows {names}.")
    else:
        text.append("\nNo AGENTS.md here: /init asks the model to write one for this project.")
    for tip in TIPS:
        text.append("\n  • ", style="dim")
        text.append(tip, style="dim")
    return text


async def show_welcome(conversation: Conversation, session: Session, fresh: bool = False) -> None:
    """The welcome for `session` (`fresh`: a new session in the cleared conversation, /new)."""
    await conversation.show_welcome(welcome_text(session.options.agents_files, session.settings.cwd), fresh=fresh)
