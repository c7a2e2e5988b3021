"""What the benchmarks need to see inside a running app: when frames are painted, and what they show.

Headless (`run_test`), Textual still lays out and composes every frame into an update (full lines
or changed spans); only the last step, turning that update into escape sequences written to the
terminal, is skipped. `PaintClock` hooks in at that point: it timestamps each frame and applies it
to a plain-text shadow screen, so "on screen" means "in a frame the terminal would have been sent",
not "in a widget that has yet to be painted".
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from textual._compositor import ChopsUpdate, LayoutUpdate
from textual.app import App
from textual.geometry import Region

from tests.engine_support import make_session
from tui.app.app import CodeloopApp

SIZE = (160, 50)


def codeloop_app(base_url: str, cwd: Path) -> CodeloopApp:
    """The real app on the real engine and SDK, pointed at a local server."""
    server: Any = SimpleNamespace(base_url=base_url)
    return CodeloopApp(make_session(server, cwd))


class PaintClock:
    """Timestamps each frame the app hands to its driver and keeps the text it would show."""

    def __init__(self, app: App[Any], size: tuple[int, int] = SIZE) -> None:
        self.app = app
        self.frames = 0
        self.last: float | None = None
        self.listeners: list[Callable[[float], None]] = []
        self.lines = [" " * size[0] for _ in range(size[1])]
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            original(screen, renderable)
            # Under batch_update nothing is drawn; a None renderable is not a frame either.
            if renderable is None or app._batch_count:
                return
            self._apply(renderable)
            now = time.monotonic()
            self.frames += 1
            self.last = now
            for listener in list(self.listeners):
                listener(now)

        app._display = display  # type: ignore[method-assign]

    def shows(self, needle: str) -> bool:
        return any(needle in line for line in self.lines)

    def text_in(self, region: Region) -> str:
        """The shadow screen's text inside `region`, lines joined with newlines."""
        rows = self.lines[region.y : region.bottom]
        return "\n".join(row[region.x : region.right] for row in rows)

    async def next_frame(self, timeout: float = 10.0) -> float:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()

        def resolve(now: float) -> None:
            if not future.done():
                future.set_result(now)

        self.listeners.append(resolve)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self.listeners.remove(resolve)

    # One character is taken as one cell: true of everything the benchmarks look for.
    def _apply(self, update: object) -> None:
        if isinstance(update, LayoutUpdate):
            for y, strips in enumerate(update.strips, update.region.y):
                self._put(y, update.region.x, "".join(strip.text for strip in strips))
        elif isinstance(update, ChopsUpdate):
            for y, x1, x2 in update.spans:
                for end, (x, strip) in zip(update.chop_ends[y], update.chops[y].items()):
                    if strip is None or x > x2 or end <= x1:
                        continue
                    lo, hi = max(x, x1), min(end, x2)
                    self._put(y, lo, strip.text[lo - x : hi - x])

    def _put(self, y: int, x: int, text: str) -> None:
        if 0 <= y < len(self.lines):
            line = self.lines[y]
            self.lines[y] = (line[:x] + text + line[x + len(text) :])[: len(line)]
