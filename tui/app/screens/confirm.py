"""A yes/no question (y / n, Enter on a choice, Esc for no), guarded against type-ahead like the
approval modal (screens/guarded.py): a `y` or Enter typed before it was on screen never answers it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from tui.app.screens.guarded import GuardedModal, TypeAhead


class ConfirmScreen(GuardedModal[bool]):
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 80%; max-width: 90; height: auto; border: thick $warning; background: $surface; padding: 1 2;
    }
    ConfirmScreen Label { width: 100%; }  /* a long question wraps instead of being cut */
    ConfirmScreen OptionList { height: auto; margin-top: 1; }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str, type_ahead: TypeAhead | None = None) -> None:
        super().__init__(type_ahead)
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question)
            yield Label("… (keys typed just now go to your message)", id="guard")
            yield OptionList(Option("Yes (y)", id="yes"), Option("No (n)", id="no"))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
