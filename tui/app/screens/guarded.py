"""A modal whose keys cannot be decided by type-ahead.

A modal can open while the user is typing (a `y` or an Enter meant for the composer). Until
GUARD_S has passed since its first paint *and* since the last key, its choices are not shown and
every key (and paste) goes on to the composer, in order; a held, auto-repeating key keeps it
guarded until released. The approval modal and the yes/no confirmation are both built on it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from textual import events
from textual.screen import ModalScreen
from textual.widgets import OptionList

GUARD_S = 0.4  # quiet time before a key can decide: longer than a typist's pause between keys

ResultType = TypeVar("ResultType")
TypeAhead = Callable[[events.Key | events.Paste], None]


class GuardedModal(ModalScreen[ResultType]):
    DEFAULT_CSS = """
    GuardedModal #guard { display: none; height: 4; color: $text-muted; }
    GuardedModal.-guarded #guard { display: block; }
    GuardedModal.-guarded OptionList { display: none; }
    """
    AUTO_FOCUS = None  # nothing focused while guarded: keys reach this screen, which passes them on

    def __init__(self, type_ahead: TypeAhead | None = None) -> None:
        """`type_ahead` receives the keys typed while the modal is guarded (the composer's)."""
        super().__init__(classes="-guarded")
        self.type_ahead = type_ahead
        self.armed = False  # True once a key may decide
        self._quiet_until = float("inf")  # until the first paint, nothing may decide

    def on_mount(self) -> None:
        self.call_after_refresh(self._painted)

    def _painted(self) -> None:
        self._quiet_until = time.monotonic() + GUARD_S
        self._arm_when_quiet()

    def _arm_when_quiet(self) -> None:
        left = self._quiet_until - time.monotonic()
        if left > 0:
            self.set_timer(left, self._arm_when_quiet)
            return
        self.armed = True
        self.remove_class("-guarded")
        self.query_one(OptionList).focus()

    def _pass_on(self, event: events.Key | events.Paste) -> None:
        """A key or paste while guarded: it was meant for the composer, never for this modal."""
        event.stop()
        event.prevent_default()
        if self._quiet_until != float("inf"):
            self._quiet_until = max(self._quiet_until, time.monotonic() + GUARD_S)
        if self.type_ahead is not None:
            self.type_ahead(event)

    def on_key(self, event: events.Key) -> None:
        if not self.armed:
            self._pass_on(event)

    def on_paste(self, event: events.Paste) -> None:
        if not self.armed:
            self._pass_on(event)


__all__ = ["GUARD_S", "GuardedModal", "TypeAhead"]
