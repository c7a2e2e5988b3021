"""Ctrl+R in the composer: a reverse search of the prompt history, in the completion popups'
style. The composer keeps the keys (so nothing typed right after Ctrl+R is lost) and passes
them here: letters filter, Up/Down or Ctrl+R again move, Enter takes the entry, Esc cancels."""

from __future__ import annotations

from textual.widgets.option_list import Option

from tui.app.widgets.completion_popup import CompletionPopup

SHOWN = 50  # options listed at most; typing narrows the rest down


class HistoryPopup(CompletionPopup[str]):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.entries: list[str] = []  # newest first
        self.typed = ""

    def open_for(self, entries: list[str]) -> None:
        self.entries = entries
        self.typed = ""
        self.add_class("-open")
        self._refresh()

    def type(self, text: str) -> None:
        self.typed += text
        self._refresh()

    def backspace(self) -> None:
        self.typed = self.typed[:-1]
        self._refresh()

    def _refresh(self) -> None:
        wanted = self.typed.lower()
        self.matches = [e for e in self.entries if wanted in e.lower()][:SHOWN]
        self.clear_options()
        for entry in self.matches:
            first, _, rest = entry.partition("\n")
            self.add_option(Option(first + (" …" if rest else "")))
        found = f"{len(self.matches)} found" if self.matches else "no match"
        self.border_title = f"history search: {self.typed}▏ · {found} · Enter takes · Esc cancels"
        self.highlighted = 0 if self.matches else None
