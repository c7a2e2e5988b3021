"""Ctrl+T: the whole session in a pager (as Codex's transcript overlay).

Built from the session's log of events (`Session.log`; a resume fills it from the rollout), not
from the conversation's widgets, which keep only the last cells and each command's last lines.
`/` opens the search input (Enter searches, Esc closes the input), `n`/`N` go to the next and
previous match; j/k, PageUp/PageDown, Home/End move; `c` copies the selection or the item under
the cursor; Esc, q or Ctrl+T close it. While open it follows the session (a running turn's
commands and answers arrive as they are logged).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input, Static

from tui.app.transcript_text import TranscriptBuilder
from tui.app.widgets.transcript_view import TranscriptView

if TYPE_CHECKING:
    from tui import protocol as ev

FOLLOW_S = 0.25  # how often an open transcript takes what the session logged since
KEYS_HINT = "/ search · n/N next/previous · j/k PgUp/PgDn Home/End · c copy · Esc close"


class TranscriptScreen(Screen[None]):
    DEFAULT_CSS = """
    TranscriptScreen { layout: vertical; }
    TranscriptScreen #transcript-title { height: 1; background: $panel; color: $text; padding: 0 1; }
    TranscriptScreen TranscriptView { height: 1fr; }
    TranscriptScreen #transcript-search { dock: bottom; display: none; border: none; height: 1; padding: 0 1; }
    TranscriptScreen #transcript-search.-open { display: block; }
    TranscriptScreen #transcript-status { height: 1; background: $panel; color: $text-muted; padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape", "close_or_cancel", "Close", id="transcript.close"),
        Binding("q", "close", "Close", show=False, id="transcript.quit"),
        Binding("slash", "open_search", "Search", show=False, id="transcript.search"),
    ]

    def __init__(self, log: list[ev.Event], session_id: str) -> None:
        """`log`: the session's (`Session.log`), read again as it grows while this is open."""
        super().__init__()
        self.session_log = log
        self.builder = TranscriptBuilder()
        for event in log:
            self.builder.add(event)
        self._read = len(log)
        self.items = self.builder.items
        self.session_id = session_id

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="transcript-title", markup=False)
        yield TranscriptView(self.items, id="transcript")
        yield Input(placeholder="search the transcript (Enter)", id="transcript-search")
        yield Static(KEYS_HINT, id="transcript-status", markup=False)

    def _title(self) -> str:
        return f"Transcript · session {self.session_id} · {len(self.items):,} items"

    @property
    def view(self) -> TranscriptView:
        return self.query_one(TranscriptView)

    @property
    def search_input(self) -> Input:
        return self.query_one("#transcript-search", Input)

    def on_mount(self) -> None:
        self.view.focus()  # laid out on its first resize, at its end (the newest, as the conversation)
        self.set_interval(FOLLOW_S, self._follow)

    def _follow(self) -> None:
        """What the session logged since: into the items, and only their lines laid out again."""
        new, self._read = self.session_log[self._read :], len(self.session_log)
        changed = [n for n in map(self.builder.add, new) if n is not None]
        if changed:
            self.view.items_changed(min(changed))
            self.query_one("#transcript-title", Static).update(self._title())

    def action_open_search(self) -> None:
        box = self.search_input
        box.add_class("-open")
        box.value = ""
        box.focus()

    def _close_search(self) -> None:
        self.search_input.remove_class("-open")
        self.view.focus()

    def action_close_or_cancel(self) -> None:
        """Esc: close the search input when it is open, else the transcript."""
        if self.search_input.has_class("-open"):
            self._close_search()
        else:
            self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#transcript-search")
    def _search(self, event: Input.Submitted) -> None:
        self._close_search()
        if event.value:
            self.view.search(event.value)
        self._show_count()

    @on(TranscriptView.MatchMoved)
    def _show_count(self) -> None:
        view, status = self.view, self.query_one("#transcript-status", Static)
        if not view.search_text:
            status.update(KEYS_HINT)
        elif not view.matches:
            status.update(f"no match for {view.search_text!r} · {KEYS_HINT}")
        else:
            status.update(f"match {view.current + 1}/{len(view.matches)} for {view.search_text!r} · {KEYS_HINT}")
