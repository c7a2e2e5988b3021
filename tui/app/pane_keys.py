"""Panes and keys: F1 help for the visible pane, F2-F5 maximize/restore, where keys go when a
pane has the focus, and Ctrl+C's copy of a selection. `PaneKeysApp` is the App that CodeloopApp
(app.py) builds on: the keys' part of the app, which works on any screen whose panes have ids
and whose composer is a `Composer`.

The rule: text always ends up in the composer. A maximized pane takes the keys while it fills
the screen (its own keys act); restoring it gives them back to the composer; a printable key no
binding took is the composer's, wherever the focus was.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.app import App

from tui.app.screens.help import PANE_HELP, HelpScreen
from tui.app.widgets.composer import Composer


class PaneKeysApp(App[None]):
    """Where keys go; the bindings that name these actions are CodeloopApp's."""

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
            self._focus_composer()  # now, not when the watcher runs: the next key goes there
        else:
            self.screen.maximize(widget, container=False)
            # It takes the keys while it fills the screen: its own (F1 lists them) act, and
            # letters bring the layout back and go to the composer (on_event). A pane with no
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

    async def on_event(self, event: events.Event) -> None:
        """A key typed while a pane (not the composer) has the focus on the main screen is
        handled here, as it arrives: a binding of the pane, the screen or the app takes it, or,
        printable, it is text for the composer and goes there.

        Handled later, after it bubbled up from the pane (Textual's way), a key could be
        overtaken by keys typed after it that already went to the composer directly: "after"
        typed fast after F2 became "aftre", and "F4 F4 jk hello" put "ello" before "jk h". Here
        every such key is settled in the order it arrived, before the next one is looked at."""
        if (
            isinstance(event, events.Key)
            and not event.is_forwarded
            and self.screen is self.screen_stack[0]
            and not (self.screen.maximized is not None and event.key == "escape")
        ):
            if isinstance(self.focused, Composer):  # the common case, and no DOM query per key
                # F2-F5 and the like: done now, so that "F4 F4 jk" restores before the j lands
                if self._app_key_over_composer(event.key) and await self._check_bindings(event.key):
                    return
            else:
                if await self._check_bindings(event.key, priority=True) or await self._check_bindings(event.key):
                    return
                if event.is_printable:
                    if self.screen.maximized is not None:
                        self.screen.minimize()
                    self._focus_composer()
                    self.screen.query_one(Composer)._forward_event(event)
                    return
        await super().on_event(event)

    def _app_key_over_composer(self, key: str) -> bool:
        """A key the app binds and the composer (or its containers) neither binds nor types:
        F1-F5, the jump to the newest output. Not Esc (the composer's popups take it first)."""
        if key in ("escape", "enter", "tab") or key not in self._bindings.key_to_bindings:
            return False
        if any(binding.priority for binding in self._bindings.key_to_bindings[key]):
            return False  # Ctrl+C, Ctrl+Q: Textual runs priority bindings first anyway
        below_app = [bindings for node, bindings in self.screen._modal_binding_chain if node is not self]
        return not any(key in bindings.key_to_bindings for bindings in below_app)

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
        self.notify(f"Copied {len(selected):,} characters.", timeout=2)
        return True
