"""The composer: multi-line input where Enter sends and Ctrl+J inserts a newline.

Two popups complete what is typed: slash commands (a line starting with `/`) and file paths
(`@` then part of a path, anywhere in the text). Up/Down recall sent messages, this session's
first, then earlier sessions' (`$CODELOOP_HOME/history.jsonl`, tui/engine/prompt_history.py);
Ctrl+R searches them (tui/app/widgets/history_popup.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget
from textual.widgets import TextArea

from tui.app.attachments import Attachments, app_cwd, attach
from tui.app.commands import BY_NAME
from tui.app.widgets.answer import note_typing
from tui.app.widgets.file_popup import FilePopup
from tui.app.widgets.history_popup import HistoryPopup
from tui.app.widgets.slash_popup import SlashPopup
from tui.engine.prompt_history import PromptHistory


class Composer(TextArea):
    DEFAULT_CSS = """
    Composer {
        height: auto;
        min-height: 3;
        max-height: 12;
        border: round $primary 50%;
    }
    Composer:focus { border: round $primary; }
    """

    # Not priority bindings: the app runs those the moment a key arrives, while the characters
    # typed just before it still wait in this widget's queue, so Enter read a half-typed text.
    # `_on_key` runs them instead, in the order the keys came (TextArea's own handling would
    # otherwise insert a newline). With ids, so `[tui.keymap]` can move them.
    BINDINGS = [
        Binding("enter", "submit", "Send", id="composer.submit", show=False),
        Binding("ctrl+j,shift+enter", "newline", "Newline", id="composer.newline", show=False),
        Binding("ctrl+r", "history_search", "Search history", id="composer.history_search", show=False),
    ]

    @dataclass
    class Submitted(Message):
        text: str

    def __init__(self, **kwargs: object) -> None:
        super().__init__(
            soft_wrap=True,
            placeholder="Ask codeloop…  (Enter sends · Ctrl+J newline · /help)",
            **kwargs,  # type: ignore[arg-type]
        )
        self.sent: list[str] = []
        self.past: list[str] = []  # sent in earlier sessions, oldest first (history.jsonl)
        self.prompts: PromptHistory | None = None
        self.search: HistoryPopup | None = None
        self._history_pos: int | None = None
        self.popup: SlashPopup | None = None
        self.files: FilePopup | None = None
        self._dismissed: tuple[int, int] | None = None  # the `@` whose finder Esc closed
        self._synced: tuple[str, tuple[int, int], bool] | None = None  # what the popups show
        # Takes each key first, in the order typed; True when it took it (app/backtrack.py).
        self.keys_first: Callable[[events.Key], bool] | None = None
        self.attachments = Attachments()  # the images whose chips are in the text

    def on_mount(self) -> None:
        home: Path | None = getattr(self.app, "home", None)
        if home is not None:
            self.prompts = PromptHistory(home, self._session_id())
            # Read now, not in a worker: Up pressed right after start must find it, and the file
            # is bounded (1000 short lines, a few ms).
            self._load_past()
        if isinstance(self.parent, Widget):  # beside the composer, above it, as the other popups
            self.search = HistoryPopup(id="history-popup")
            self.parent.mount(self.search, before=self)

    def _session_id(self) -> str:
        session = getattr(self.app, "session", None)
        return str(getattr(session, "session_id", "") or "")

    def _load_past(self) -> None:
        assert self.prompts is not None
        try:
            entries = self.prompts.load()
        except OSError as e:
            self.app.notify(f"Prompt history not read: {e}", severity="warning")
            return
        # All of it, a resumed session's own messages too: read before this composer sent any.
        self.past = [e.text for e in entries]

    def _remember(self, text: str) -> None:
        self.sent.append(text)
        if self.prompts is None:
            return
        self.prompts.session_id = self._session_id()  # the session may have started since mount
        try:
            self.prompts.append(text)  # one short write: cheaper than a thread hop
        except OSError as e:
            self.app.notify(f"Prompt history not saved: {e}", severity="warning")

    def _walk(self) -> list[str]:
        """What Up walks back through: earlier sessions', then this session's, oldest first,
        repeats in a row shown once."""
        walk: list[str] = []
        for text in (*self.past, *self.sent):
            if not walk or walk[-1] != text:
                walk.append(text)
        return walk

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self.sync_popups()

    def on_text_area_selection_changed(self, event: TextArea.SelectionChanged) -> None:
        self.sync_popups()

    def mention(self) -> tuple[int, int, str] | None:
        """(row, column of its `@`, query) of the `@path` the cursor is at the end of, or None."""
        if not self.selection.is_empty:
            return None
        row, col = self.cursor_location
        before = self.document.get_line(row)[:col]
        at = before.rfind("@")
        if at < 0 or (at > 0 and not before[at - 1].isspace()):  # `a@b`: an address, not a mention
            return None
        query = before[at + 1 :]
        if any(c.isspace() for c in query):
            return None
        return row, at, query

    def _update_files(self) -> None:
        if self.files is None:
            return
        found = self.mention()
        if found is None:
            self._dismissed = None
            self.files.update_for(None)
        elif found[:2] != self._dismissed:
            self.files.update_for(found[2])

    def _open_popup(self) -> SlashPopup | FilePopup | None:
        for popup in (self.files, self.popup):
            if popup is not None and popup.is_open:
                return popup
        return None

    def has_open_popup(self) -> bool:
        return self._open_popup() is not None

    def _popup_key(self, key: str) -> bool:
        """Keys an open completion popup takes: Up/Down choose, Tab completes, Esc closes."""
        popup = self._open_popup()
        if popup is None:
            return False
        if key in ("up", "down"):
            popup.action_cursor_up() if key == "up" else popup.action_cursor_down()
            return True
        if key == "escape":
            if popup is self.files:
                found = self.mention()
                self._dismissed = found[:2] if found else None
            popup.close()
            return True
        if key == "tab":
            self._insert_file() if popup is self.files else self._complete()
            return True
        return False

    def _insert_file(self) -> bool:
        """Replace the `@query` with the chosen path (an image's chip, when it is one); False when
        there is nothing to insert."""
        found = self.mention()
        path = self.files.chosen() if self.files is not None else None
        if found is None or path is None:
            return False
        row, at, query = found
        chip = self.attach_image(path)
        text = chip or (f'"{path}"' if any(c.isspace() for c in path) else path)
        self.replace(text + " ", (row, at), (row, at + 1 + len(query)), maintain_selection_offset=False)
        return True

    def _complete(self) -> bool:
        """Complete to the highlighted command; True when it still needs an argument."""
        assert self.popup is not None
        choice = self.popup.chosen()
        if choice is None:
            return False
        self.text = choice.name + (" " if choice.takes_argument else "")
        self.move_cursor(self.document.end)
        self.popup.close()
        return choice.takes_argument

    def action_submit(self) -> None:
        if self.files is not None and self.files.is_open and self._insert_file():
            return
        typed = self.text.strip()
        popup_open = self.popup is not None and self.popup.is_open
        # Enter on a partial command completes it; a command that needs nothing more then runs.
        if popup_open and not (typed in BY_NAME and not BY_NAME[typed].needs_argument):
            if self._complete():
                return
        text = self.text.strip()
        if text:
            self._remember(text)
            self._history_pos = None
            self.clear()
            for popup in (self.popup, self.files):
                if popup is not None:
                    popup.close()
            self.post_message(self.Submitted(text))

    def attach_image(self, text: str) -> str | None:
        """The chip of the image `text` names, now attached; None (and a warning when it was meant
        as an image) otherwise."""
        chip, why = attach(self.attachments, text, app_cwd(self.app))
        if why is not None:
            self.app.notify(why, severity="warning")
        return chip

    def action_delete_left(self) -> None:
        # Backspace takes an image's chip whole: half a chip would be text that attaches nothing.
        row, col = self.cursor_location
        size = self.attachments.chip_before(self.document.get_line(row)[:col])
        if size and self.selection.is_empty and not self.read_only:
            self._delete_via_keyboard((row, col - size), (row, col))
            return
        super().action_delete_left()

    async def _on_paste(self, event: events.Paste) -> None:
        # A pasted image path becomes its chip; anything else is pasted by TextArea's handler.
        if self.read_only or not self.selection.is_empty:
            return
        chip = self.attach_image(event.text)
        if chip is not None:
            event.prevent_default()
            self.insert(chip + " ")
            self.focus()

    def action_newline(self) -> None:
        self.insert("\n")

    def action_history_search(self) -> None:
        if self.search is None:
            return
        if self.search.is_open:
            self.search.action_cursor_down()  # Ctrl+R again: the next older match
        else:
            for popup in (self.popup, self.files):
                if popup is not None:
                    popup.close()
            self.search.open_for(self._walk()[::-1])

    def _search_key(self, event: events.Key) -> bool:
        """A key while the history search is open: True when the search took it."""
        search = self.search
        assert search is not None
        key = event.key
        if key == "escape":
            search.close()
        elif key == "enter":
            chosen = search.chosen()
            search.close()
            if chosen is not None:
                self.text = chosen
                self.move_cursor(self.document.end)
                self._history_pos = None
        elif key in ("up", "down"):
            search.action_cursor_up() if key == "up" else search.action_cursor_down()
        elif self._own_action(key) == "history_search":
            search.action_cursor_down()
        elif key == "backspace":
            search.backspace()
        elif event.is_printable and event.character and not key.startswith("alt+"):
            search.type(event.character)
        else:
            search.close()  # any other key ends the search and does what it does
            return False
        return True

    def _own_action(self, key: str) -> str | None:
        """The composer action bound to `key`, the user's `[tui.keymap]` applied."""
        keymap = self.app._keymap if self.is_attached else {}
        for binding in self.BINDINGS:
            assert isinstance(binding, Binding)
            keys = keymap.get(binding.id or "", binding.key)
            if key in (k.strip() for k in keys.split(",")):
                return binding.action
        return None

    def sync_popups(self) -> None:
        """Bring the popups up to the text and cursor as they are now. TextArea.Changed messages
        queue behind keys already waiting, so a key that reads a popup must sync first rather
        than see it as it was several characters ago; a late Changed for a state already synced
        is then a no-op (it would reset the highlighted match)."""
        state = (self.text, self.cursor_location, self.selection.is_empty)
        if state == self._synced:
            return
        self._synced = state
        if self.popup is not None:
            self.popup.update_for(self.text)
        self._update_files()

    async def _on_key(self, event: events.Key) -> None:
        note_typing()
        if self.search is not None and self.search.is_open and self._search_key(event):
            event.stop()
            event.prevent_default()
            return
        if self.keys_first is not None and self.keys_first(event):
            event.stop()
            event.prevent_default()
            return
        if event.key.startswith("alt+") and event.is_printable and self._own_action(event.key) is None:
            # A terminal sends Alt+a as ESC a, so Esc and a letter typed at once (interrupt, then
            # the next message) arrive as one Alt chord: split it back, in order.
            # Handled here and now: keys typed after it are already queued behind this one.
            event.stop()
            event.prevent_default()
            if not self._popup_key("escape"):
                await self.app.run_action("interrupt")
            self.insert(event.character or "")
            return
        action = self._own_action(event.key)
        if action is not None or event.key in ("up", "down", "tab", "escape"):
            self.sync_popups()
        if self._popup_key(event.key) or (event.key in ("up", "down") and self._recall(event.key)):
            event.stop()
            event.prevent_default()
            return
        if action is not None:
            event.stop()
            event.prevent_default()
            await self.run_action(action)
            return
        await super()._on_key(event)

    def _recall(self, key: str) -> bool:
        """Up/Down walk the sent history when the cursor is on the first/last line."""
        row, _ = self.cursor_location
        sent = self._walk()
        if not sent:
            return False
        if key == "up" and row == 0:
            pos = len(sent) if self._history_pos is None else min(self._history_pos, len(sent))
            self._history_pos = max(0, pos - 1)
        elif key == "down" and row == self.document.line_count - 1 and self._history_pos is not None:
            self._history_pos += 1
            if self._history_pos >= len(sent):
                self._history_pos = None
                self.clear()
                return True
        else:
            return False
        self.text = sent[self._history_pos]
        self.move_cursor(self.document.end)
        return True
