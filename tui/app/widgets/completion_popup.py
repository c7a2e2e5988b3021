"""What the composer's completion popups share: shown above the composer only while open, never
focused (the composer keeps the keys and passes Up/Down/Tab/Esc on), a list of matches and the
highlighted one."""

from __future__ import annotations

from typing import Generic, TypeVar

from textual.widgets import OptionList

Match = TypeVar("Match")


class CompletionPopup(OptionList, Generic[Match]):
    DEFAULT_CSS = """
    CompletionPopup {
        display: none;
        height: auto;
        max-height: 14;
        border: round $accent;
        background: $surface;
    }
    CompletionPopup.-open { display: block; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.can_focus = False
        self.matches: list[Match] = []

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    def close(self) -> None:
        self.matches = []
        self.remove_class("-open")

    def chosen(self) -> Match | None:
        if not self.matches or self.highlighted is None:
            return None
        return self.matches[self.highlighted]
