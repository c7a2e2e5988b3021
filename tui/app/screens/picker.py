"""A keyboard picker: one list of choices, the current one marked and highlighted first.

Up/Down move, typing filters (every word typed must appear in the row), Enter picks, Ctrl+S picks
and asks to save the choice as the default (config.toml), Esc cancels. The same screen serves
/model (and its reasoning effort), /approvals and /sandbox (app/settings_commands.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from tui.safety.terminal_text import neutralize


@dataclass(frozen=True)
class Choice:
    id: str
    """What is returned when picked (a model slug, a policy)."""
    label: str
    detail: str = ""
    """The rest of the row: a context window, what the policy does."""


@dataclass(frozen=True)
class Picked:
    id: str
    save: bool
    """Ctrl+S: the user asked to keep it as the default in config.toml."""


class PickerScreen(ModalScreen[Picked | None]):
    DEFAULT_CSS = """
    PickerScreen { align: center middle; }
    PickerScreen > Vertical {
        width: 90%; max-width: 110; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 1 2;
    }
    PickerScreen #picker-filter { margin-top: 1; }
    PickerScreen OptionList { height: auto; max-height: 20; }
    PickerScreen #picker-keys { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="picker.cancel"),
        Binding("up", "move(-1)", "Up", id="picker.up", show=False),
        Binding("down", "move(1)", "Down", id="picker.down", show=False),
        Binding("ctrl+s", "pick(True)", "Pick and save as default", id="picker.save"),
    ]

    def __init__(self, title: str, choices: list[Choice], current: str | None, *, can_save: bool = True) -> None:
        super().__init__()
        self.title_text = title
        self.choices = choices
        self.current = current
        self.can_save = can_save
        self.shown: list[Choice] = list(choices)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(neutralize(self.title_text), style="bold"))
            yield Input(placeholder="type to filter", id="picker-filter")
            yield OptionList(id="picker-list")
            save = " · Ctrl+S pick and save as default" if self.can_save else ""
            yield Label(f"↑↓ move · Enter pick{save} · Esc cancel", id="picker-keys")

    def on_mount(self) -> None:
        self._fill()
        self.query_one(Input).focus()

    def _row(self, choice: Choice, width: int) -> Text:
        row = Text()
        row.append("● " if choice.id == self.current else "  ", style="bold")
        row.append(neutralize(choice.label).ljust(width), style="bold" if choice.id == self.current else "")
        if choice.detail:
            row.append("  " + neutralize(choice.detail), style="dim")
        return row

    def _fill(self) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        width = max((len(c.label) for c in self.choices), default=0)
        options.add_options([Option(self._row(c, width), id=str(n)) for n, c in enumerate(self.shown)])
        ids = [c.id for c in self.shown]
        options.highlighted = ids.index(self.current) if self.current in ids else (0 if ids else None)

    @on(Input.Changed, "#picker-filter")
    def _filter(self, event: Input.Changed) -> None:
        words = event.value.lower().split()
        self.shown = [c for c in self.choices if all(w in f"{c.label} {c.detail}".lower() for w in words)]
        self._fill()

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if options.option_count:
            now = options.highlighted if options.highlighted is not None else -step
            options.highlighted = max(0, min(options.option_count - 1, now + step))

    @on(Input.Submitted, "#picker-filter")
    def _enter(self) -> None:
        self.action_pick(False)

    @on(OptionList.OptionSelected)
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(Picked(self.shown[int(event.option.id or 0)].id, save=False))

    def action_pick(self, save: bool) -> None:
        index = self.query_one(OptionList).highlighted
        if index is None or not self.shown:
            self.notify("Nothing matches the filter.", severity="warning", timeout=2)
            return
        self.dismiss(Picked(self.shown[index].id, save=save and self.can_save))

    def action_cancel(self) -> None:
        self.dismiss(None)
