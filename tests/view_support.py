"""Helpers for the view's Pilot tests (tests/test_app_view.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from textual.pilot import Pilot

from tui.app.app import CodeloopApp
from tui.app.widgets.conversation import Conversation


async def until(pilot: Pilot[None], predicate: Callable[[], object], timeout: float = 15.0) -> None:
    """Wait (letting the app run) until `predicate()` holds."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await pilot.pause(0.05)


async def type_text(pilot: Pilot[None], text: str) -> None:
    await pilot.press(*[c if c != " " else "space" for c in text])


def idle(app: CodeloopApp) -> bool:
    return not app.session.turn_running and app.session.history != []


def at_bottom(conv: Conversation) -> bool:
    return conv.max_scroll_y > 0 and conv.scroll_y >= conv.max_scroll_y
