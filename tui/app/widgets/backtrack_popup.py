"""Esc Esc in an empty composer: the user's earlier messages, newest first, to pick one to edit.
In the completion popups' style and, like them, never focused: the composer keeps the keys (so
keys typed right after Esc Esc apply in order) and passes Up/Down/Enter/Esc here."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets.option_list import Option

from tui.app.widgets.completion_popup import CompletionPopup
from tui.safety.terminal_text import neutralize

SHOWN_CHARS = 110  # of a message's first line
SHOWN = 200  # messages listed at most, the newest (a long session has thousands)


@dataclass(frozen=True)
class EarlierMessage:
    """A message the conversation can be forked at: `nth` as the Backtrack op counts it."""

    nth: int
    text: str
    restorable: bool  # an undo snapshot was taken before its turn


class BacktrackPopup(CompletionPopup[EarlierMessage]):
    def open_for(self, messages: list[EarlierMessage]) -> None:
        """`messages` oldest first, as the engine numbers them; the newest SHOWN listed, newest first."""
        self.matches = messages[::-1][:SHOWN]
        self.clear_options()
        options = []
        for m in self.matches:
            first, _, rest = neutralize(m.text).strip().partition("\n")
            shown = first[:SHOWN_CHARS] + ("…" if rest or len(first) > SHOWN_CHARS else "")
            # Text, not a str: a str prompt is read as markup, and `[b]` in a message would vanish.
            label = Text(f"{m.nth + 1:>3}. ", style="bold")
            label.append(shown)
            if m.restorable:
                label.append("  · files can go back too", style="dim")
            options.append(Option(label))
        self.add_options(options)
        older = f" · newest {SHOWN} of {len(messages)}" if len(messages) > SHOWN else ""
        self.border_title = f"edit an earlier message: ↑↓ choose · Enter edits it · Esc cancels{older}"
        self.highlighted = 0 if self.matches else None
        self.add_class("-open")
