"""Helpers for driving the app in-process with Textual's Pilot (the tmux ones are in
app_tmux_support.py): wait for a state, type text, wait for an approval to take keys."""

from __future__ import annotations

import asyncio
from typing import Any, Callable

from tui.app.app import CodeloopApp
from tui.app.screens.approval import ApprovalScreen

SIZE = (140, 40)
RUN_PY = ["python3", "-c", "print('ran')"]


async def until(pilot: Any, predicate: Callable[[], Any], timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await pilot.pause(0.05)


async def type_text(pilot: Any, text: str) -> None:
    await pilot.press(*[c if c != " " else "space" for c in text])


def idle(app: CodeloopApp) -> bool:
    return not app.session.turn_running and app.session.history != []


def approval_ready(app: CodeloopApp) -> bool:
    """An approval is up and takes keys (its type-ahead guard is over: screens/guarded.py GUARD_S)."""
    return isinstance(app.screen, ApprovalScreen) and app.screen.armed


async def until_approval_ready(pilot: Any, app: CodeloopApp, timeout: float = 15.0) -> None:
    await until(pilot, lambda: approval_ready(app), timeout)


async def until_screen_settles(pilot: Any, app: CodeloopApp, timeout: float = 15.0) -> None:
    """Wait until two screenshots 0.5 s apart are the same: what follows a resize or a focus
    change (the footer recomposing its keys, a reflow) has landed, also on a loaded machine.
    For snapshots."""
    async with asyncio.timeout(timeout):
        before = app.export_screenshot()
        while True:
            await pilot.pause(0.5)
            now = app.export_screenshot()
            if now == before:
                return
            before = now


def calm(app: CodeloopApp) -> None:
    """For a snapshot: no blinking cursor, no animations (the narrow layout's tab underline
    slides to its new place after a resize; shot mid-slide, it differed from run to run)."""
    from tui.app.widgets.composer import Composer

    app.animation_level = "none"
    app.query_one(Composer).cursor_blink = False


def confirm_ready(app: CodeloopApp) -> bool:
    """A yes/no confirmation is up and takes keys (past its type-ahead guard)."""
    from tui.app.screens.confirm import ConfirmScreen

    return isinstance(app.screen, ConfirmScreen) and app.screen.armed
