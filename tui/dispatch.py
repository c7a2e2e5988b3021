"""One handler per event class, for every face: the app's session screen and exec's two outputs.

A face marks each of its handlers with `@renders(EventClass)` (mypy checks that the handler takes
that class) and lists the events it shows nothing for in its `IGNORED`; `handler(face, event)`
finds the handler for an event, or None. A handler marked for a base class takes its subclasses
too (exec's JSON output renders every `Event` alike). tests/test_event_coverage.py holds each
face to every event class of tui/protocol/: an event that a face neither renders nor ignores
on purpose fails there, not silently on screen.

Standard library and the protocol only: exec loads no Textual for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from tui.protocol import Event

E = TypeVar("E", bound=Event)
Face = TypeVar("Face")
R = TypeVar("R")

_MARK = "__renders__"


def renders(kind: type[E]) -> Callable[[Callable[[Face, E], R]], Callable[[Face, E], R]]:
    """Mark a face's method as the handler of `kind` events."""

    def mark(method: Callable[[Face, E], R]) -> Callable[[Face, E], R]:
        setattr(method, _MARK, kind)
        return method

    return mark


def table(face: type) -> dict[type[Event], str]:
    """Event class → the name of the method of `face` that renders it (a subclass's mark wins)."""
    found: dict[type[Event], str] = {}
    for klass in reversed(face.__mro__):
        for name, member in vars(klass).items():
            kind = getattr(member, _MARK, None) if callable(member) else None
            if isinstance(kind, type) and issubclass(kind, Event):
                found[kind] = name
    return found


_NAMES: dict[tuple[type, type[Event]], str | None] = {}  # (face, event class) → method name


def handler(face: object, event: Event) -> Callable[[Any], Any] | None:
    """The bound method of `face` that renders `event`, or None (an ignored event)."""
    key = (type(face), type(event))
    if key not in _NAMES:
        handled = table(type(face))
        _NAMES[key] = next((handled[k] for k in type(event).__mro__ if k in handled), None)
    name = _NAMES[key]
    return getattr(face, name) if name is not None else None
