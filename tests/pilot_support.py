"""Helpers for driving the app with Textual's Pilot against the local scripted server."""

from __future__ import annotations

import asyncio
from typing import Any, Callable

from tui.app.app import CodeloopApp

SIZE = (140, 40)
RUN_PY = ["python3", "-c", "print('ran')"]


async def until(pilot: Any, predicate: Callable[[], object], timeout: float = 15.0) -> None:
    """Wait (letting the app run) until `predicate()` is true; a TimeoutError names nothing more,
    so callers put what they wait for in the predicate, never a fixed pause."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await pilot.pause(0.05)


async def type_text(pilot: Any, text: str) -> None:
    """Press one key per character of `text`."""
    await pilot.press(*[c if c != " " else "space" for c in text])


def idle(app: CodeloopApp) -> bool:
    """The session has had a turn and none is running."""
    return not app.session.turn_running and app.session.history != []
