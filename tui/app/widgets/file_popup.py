"""The file finder above the composer: `@` then a few letters of a path."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets.option_list import Option

from tui.app.file_index import matching, rank
from tui.app.widgets.completion_popup import CompletionPopup
from tui.safety.terminal_text import neutralize

SHOWN = 12  # rows offered at once: the best matches are what matters


class FilePopup(CompletionPopup[str]):
    class Opened(Message):
        """A mention started: the app lists the files again if its listing is stale."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.paths: list[str] | None = None  # None until the first listing arrives
        self.query_text = ""
        # The paths the last query matched at all: typing one more letter only narrows them,
        # so each keystroke searches fewer paths (a big repository stays responsive).
        self._pool: tuple[str, list[str]] | None = None

    def set_paths(self, paths: list[str]) -> None:
        self.paths = paths
        self._pool = None
        if self.is_open:
            self._fill()

    def update_for(self, query: str | None) -> None:
        """Show the files matching `query`; None (no mention at the cursor) closes."""
        if query is None:
            self.close()
            return
        opening = not self.is_open
        self.query_text = query
        self._fill()
        if opening:
            self.post_message(self.Opened())

    def _fill(self) -> None:
        self.matches = rank(self._candidates(), self.query_text, SHOWN) if self.paths is not None else []
        self.clear_options()
        if self.paths is None:
            self.add_option(Option(Text("listing files…", style="dim italic"), disabled=True))
        elif not self.matches:
            self.add_option(Option(Text(f"no file matches @{self.query_text}", style="dim italic"), disabled=True))
        for path in self.matches:
            folder, _, name = path.rpartition("/")
            label = Text()
            if folder:
                label.append(neutralize(folder, strict=True) + "/", style="dim")
            label.append(neutralize(name, strict=True), style="bold")
            self.add_option(Option(label, id=path))
        self.add_class("-open")
        self.highlighted = 0 if self.matches else None

    def _candidates(self) -> list[str]:
        assert self.paths is not None
        query = self.query_text
        if not query:
            return self.paths
        pool = self._pool
        source = pool[1] if pool is not None and query.lower().startswith(pool[0].lower()) else self.paths
        found = matching(source, query)
        self._pool = (query, found)
        return found
