"""The completion popup above the composer for slash commands."""

from __future__ import annotations

from textual.content import Content
from textual.widgets.option_list import Option

from tui.app.commands import SlashCommand, completions
from tui.app.widgets.completion_popup import CompletionPopup


class SlashPopup(CompletionPopup[SlashCommand]):
    extra: tuple[SlashCommand, ...] = ()  # the custom prompts (/prompts:NAME), after the built-in ones

    def update_for(self, text: str) -> None:
        self.matches = completions(text, self.extra)
        self.clear_options()
        for c in self.matches:
            later = "" if c.available else "  · not available yet"
            # Content, not markup: a custom prompt's description is the user's file, `[` and all.
            self.add_option(Option(Content(f"{c.name:<11} {c.help}{later}"), id=c.name))
        self.set_class(bool(self.matches), "-open")
        if self.matches:
            self.highlighted = 0
