"""Every face renders every event, or says it ignores it: the app's session screen and exec's two
outputs each have one handler per event class (tui/dispatch.py), and a new event class in
tui/protocol/ that a face neither handles nor lists in its IGNORED fails here. Likewise every
slash command that app/commands.py lists has its action."""

from __future__ import annotations

import ast
import inspect
import sys
from pathlib import Path
from typing import Any, cast

import pytest

from tui import dispatch, wording
from tui import protocol as ev
from tui.app.commands import SLASH_COMMANDS
from tui.app.screens.session import SessionScreen
from tui.app.slash import SlashCommands
from tui.dispatch import handler, renders, table
from tui.exec_cmd import _JsonLines
from tui.exec_json import CodexJsonLines
from tui.exec_progress import Progress

EVENTS = sorted(
    (c for c in vars(ev).values() if inspect.isclass(c) and issubclass(c, ev.Event) and c is not ev.Event),
    key=lambda c: c.__name__,
)
FACES = [SessionScreen, Progress, CodexJsonLines, _JsonLines]


def test_the_protocol_has_events_to_check() -> None:
    assert len(EVENTS) > 30 and ev.TurnCompleted in EVENTS and ev.ApprovalRequested in EVENTS


@pytest.mark.parametrize("face", FACES, ids=lambda f: f.__name__)
def test_each_face_renders_or_ignores_every_event(face: type) -> None:
    handled = table(face)
    ignored: frozenset[type[ev.Event]] = face.IGNORED  # type: ignore[attr-defined]
    nobody = [e.__name__ for e in EVENTS if e not in ignored and not any(k in handled for k in e.__mro__)]
    assert not nobody, f"{face.__name__} neither renders nor ignores {nobody}: add a handler (@renders) or list it in IGNORED"
    both = [e.__name__ for e in ignored if e in handled]
    assert not both, f"{face.__name__} both renders and ignores {both}"
    assert ignored <= set(EVENTS)


def test_the_app_and_human_exec_have_a_handler_of_their_own_per_event() -> None:
    """Not one catch-all: each rendered event class is named in a handler's mark."""
    for face in (SessionScreen, Progress, CodexJsonLines):
        assert ev.Event not in table(face)
    assert table(_JsonLines)[ev.Event] == "_line"  # --engine-events prints every event alike


def test_handler_picks_the_marked_method_and_a_subclass_falls_back_to_its_base() -> None:
    class Face:
        IGNORED: frozenset[type[ev.Event]] = frozenset()

        @renders(ev.Event)
        def any_event(self, e: ev.Event) -> str:
            return "any"

        @renders(ev.Error)
        def error(self, e: ev.Error) -> str:
            return "error"

    face = Face()
    found = handler(face, ev.Error("boom"))
    assert found is not None and found(ev.Error("boom")) == "error"
    other = handler(face, ev.WarningIssued("w"))
    assert other is not None and other(ev.WarningIssued("w")) == "any"

    class Quiet:
        @renders(ev.Error)
        def error(self, e: ev.Error) -> None: ...

    assert handler(Quiet(), ev.WarningIssued("w")) is None


def test_every_listed_slash_command_has_an_action() -> None:
    async def nothing(*_: object) -> None: ...

    # The constructor only keeps what it is given: placeholders do to read its table.
    slash = SlashCommands(cast(Any, None), cast(Any, None), quit=nothing, switch_session=nothing)
    listed = {c.name for c in SLASH_COMMANDS if c.available}
    assert listed <= set(slash.actions), sorted(listed - set(slash.actions))
    assert set(slash.actions) <= {c.name for c in SLASH_COMMANDS}, "an action no list offers"


@pytest.mark.parametrize("module", [wording, dispatch], ids=lambda m: m.__name__)
def test_the_shared_parts_need_only_the_standard_library_and_the_protocol(module: Any) -> None:
    """exec renders with them too: no Textual, nothing of the app's or the engine's."""
    imported = set()
    for node in ast.walk(ast.parse(Path(module.__file__).read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported |= {f"{node.module}.{alias.name}" for alias in node.names}
    outside = [n for n in imported if n.split(".")[0] not in sys.stdlib_module_names and not n.startswith("tui.protocol")]
    assert not outside, outside


def test_every_event_of_the_protocol_package_is_exported_and_so_checked_above() -> None:
    """The checks above read `tui.protocol`'s names: an event written in one of its modules but
    left out of its `__all__` would escape them."""
    import importlib
    import pkgutil

    defined = {
        c
        for info in pkgutil.iter_modules(ev.__path__)
        for c in vars(importlib.import_module(f"tui.protocol.{info.name}")).values()
        if inspect.isclass(c) and issubclass(c, ev.Event) and c is not ev.Event
    }
    assert len(defined) > 30 and defined == set(EVENTS), sorted(c.__name__ for c in defined ^ set(EVENTS))
