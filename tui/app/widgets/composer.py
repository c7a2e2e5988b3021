"""The composer: multi-line input where Enter sends and Ctrl+J inserts a newline."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.message import Message
from textual.widgets import TextArea

from tui.app.commands import BY_NAME
from tui.app.widgets.slash_popup import SlashPopup


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
        self._history_pos: int | None = None
        self.popup: SlashPopup | None = None

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        if self.popup is not None:
            self.popup.update_for(self.text)

    def _popup_key(self, key: str) -> bool:
        """Keys the open completion popup takes: Up/Down choose, Tab/Enter complete, Esc closes."""
        popup = self.popup
        if popup is None or not popup.is_open:
            return False
        if key in ("up", "down"):
            popup.action_cursor_up() if key == "up" else popup.action_cursor_down()
            return True
        if key == "escape":
            popup.close()
            return True
        if key in ("tab", "enter"):
            choice = popup.chosen()
            typed = self.text.strip()
            if key == "enter" and typed in BY_NAME and not BY_NAME[typed].takes_argument:
                return False  # a whole command: Enter runs it
            if choice is not None:
                self.text = choice.name + (" " if choice.takes_argument else "")
                self.move_cursor(self.document.end)
                popup.close()
                if key == "enter" and not choice.takes_argument:
                    return False  # completed to a command that needs nothing more: run it
            return True
        return False

    async def _on_key(self, event: events.Key) -> None:
        if self._popup_key(event.key):
            event.stop()
            event.prevent_default()
            return
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            text = self.text.strip()
            if text:
                self.sent.append(text)
                self._history_pos = None
                self.clear()
                self.post_message(self.Submitted(text))
            return
        if event.key in ("ctrl+j", "shift+enter"):
            event.stop()
            event.prevent_default()
            self.insert("\n")
            return
        if event.key in ("up", "down") and self._recall(event.key):
            event.stop()
            event.prevent_default()
            return
        await super()._on_key(event)

    def _recall(self, key: str) -> bool:
        """Up/Down walk the sent history when the cursor is on the first/last line."""
        row, _ = self.cursor_location
        if not self.sent:
            return False
        if key == "up" and row == 0:
            pos = len(self.sent) if self._history_pos is None else self._history_pos
            self._history_pos = max(0, pos - 1)
        elif key == "down" and row == self.document.line_count - 1 and self._history_pos is not None:
            self._history_pos += 1
            if self._history_pos >= len(self.sent):
                self._history_pos = None
                self.clear()
                return True
        else:
            return False
        self.text = self.sent[self._history_pos]
        self.move_cursor(self.document.end)
        return True
