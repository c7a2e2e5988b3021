"""The completion popup above the composer for slash commands."""

from __future__ import annotations

from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tui.app.commands import SlashCommand, completions


class SlashPopup(OptionList):
    DEFAULT_CSS = """
    SlashPopup {
        display: none;
        height: auto;
        max-height: 14;
        border: round $accent;
        background: $surface;
    }
    SlashPopup.-open { display: block; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.can_focus = False
        self.matches: list[SlashCommand] = []

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    def update_for(self, text: str) -> None:
        self.matches = completions(text)
        self.clear_options()
        for c in self.matches:
            later = "" if c.available else "  · not available yet"
            self.add_option(Option(f"{c.name:<11} {c.help}{later}", id=c.name))
        self.set_class(bool(self.matches), "-open")
        if self.matches:
            self.highlighted = 0

    def close(self) -> None:
        self.matches = []
        self.remove_class("-open")

    def chosen(self) -> SlashCommand | None:
        if not self.matches or self.highlighted is None:
            return None
        return self.matches[self.highlighted]
