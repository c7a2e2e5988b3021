"""Panes and keys: F1 help for the visible pane, F2-F5 maximize/restore, where keys go when a
pane has the focus, and Ctrl+C's copy of a selection. A part of CodeloopApp kept in its own file (as engine_view.py is).

The rule: text always ends up in the composer. A maximized pane takes the keys while it fills
the screen (its own keys act); restoring it gives them back to the composer; a printable key no
binding took is the composer's, wherever the focus was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import events

from tui.app.screens.help import PANE_HELP, HelpScreen
from tui.app.widgets.composer import Composer

if TYPE_CHECKING:
    from textual.app import App

    _Base = App[None]
else:
    _Base = object


class PaneKeys(_Base):
    """Mixed into CodeloopApp: every method here runs with the app as `self`."""

    if TYPE_CHECKING:  # what CodeloopApp provides
        _ctrl_c_armed: bool

    def action_pane_help(self) -> None:
        # The maximized pane is the visible one, whatever holds the focus.
        node: Any = self.screen.maximized or self.focused
        while node is not None and getattr(node, "id", None) not in PANE_HELP:
            node = node.parent
        pane = getattr(node, "id", None) or "composer"
        self.push_screen(HelpScreen(pane))

    def action_maximize(self, pane: str) -> None:
        widget = self.query_one(f"#{pane}")
        if self.screen.maximized is widget:
            self.screen.minimize()
        else:
            self.screen.maximize(widget, container=False)
            # It takes the keys while it fills the screen: its own (F1 lists them) act, and
            # letters bring the layout back and go to the composer (_on_key). A pane with no
            # keys of its own takes the focus too: left with the hidden composer, Textual hands
            # the focus to another hidden pane, and keys typed then were lost.
            widget.can_focus = True
            self.screen.set_focus(widget)

    def _maximized_changed(self, widget: Any) -> None:
        """Restored (F2-F5 again, or Esc, which Textual handles itself): keys go to the composer
        again, not to the pane that had them while it was maximized."""
        if widget is None:
            self._focus_composer()

    def _focus_composer(self) -> None:
        # set_focus, not focus(): focus() lands a beat later, and keys already queued would
        # still go to the pane.
        main = self.screen_stack[0]
        if self.screen is main:
            main.set_focus(main.query_one(Composer))

    async def _on_key(self, event: events.Key) -> None:
        """A key no binding took. A printable one typed while a pane (the conversation, the diff,
        a tool cell) has the focus is text for the composer: it goes there, in order, and the
        layout comes back if a pane was maximized (letters must not land in a hidden widget).

        Textual calls App._on_key after this one unless the default is prevented."""
        if await self._check_bindings(event.key):
            event.prevent_default()  # done: App._on_key must not run the binding a second time
            return
        composer = self.screen_stack[0].query_one(Composer)
        # Not "unless the composer has the focus": the composer takes every printable key it
        # gets, so one here came from elsewhere, even if the focus has moved to it since.
        if event.is_printable and self.screen is self.screen_stack[0]:
            event.prevent_default()
            if self.screen.maximized is not None:
                self.screen.minimize()
            self._focus_composer()
            copy = events.Key(event.key, event.character)
            copy.bubble = False  # type: ignore[misc]
            composer.post_message(copy)

    def _copy_selection(self) -> bool:
        """Text selected with the mouse (Textual's selection, not the terminal's, so no borders
        or side panes), or in the composer, goes to the clipboard via OSC 52: True if any."""
        selected = self.screen.get_selected_text()
        focused = self.focused
        if not selected and isinstance(focused, Composer):
            selected = focused.selected_text
            if selected:  # copied once: the next Ctrl+C is the usual one
                focused.move_cursor(focused.selection.end)
        if not selected:
            return False
        self.copy_to_clipboard(selected)
        self.screen.clear_selection()
        self._ctrl_c_armed = False
        self.notify(f"Copied {len(selected):,} characters.", timeout=2)
        return True
