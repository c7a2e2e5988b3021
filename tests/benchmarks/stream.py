"""stream_5000 and keystroke_latency: a 5,000-token answer streamed at 2,000 tokens/s into the app.

The fake server runs in its own process (paced_server.py) and stamps each frame it flushes; the
app runs headless under Pilot and `PaintClock` stamps each frame it composes. Both use
time.monotonic() (CLOCK_MONOTONIC, shared by all processes), so "lag" compares the server's last
text frame with the first app frame that shows the whole answer. Keys come from a thread through
the headless driver's `send_message`, as a real driver's input thread delivers them, so a busy
event loop delays their handling but not their timestamps.
"""

from __future__ import annotations

import asyncio
import json
import queue
import string
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual import events
from textual.message import Message
from textual.widgets import TextArea

from tests.benchmarks.answer import SENTINEL, long_answer
from tests.benchmarks.instrument import SIZE, PaintClock, codeloop_app
from tests.benchmarks.report import Row, at_most, below, info, median, percentile
from tui.app.widgets.composer import Composer
from tui.app.widgets.conversation import Conversation

TOKENS = 5000
RATE = 2000.0  # tokens (frames) per second
KEY_INTERVAL = 0.05
LAG_TARGET_MS = 100.0
KEY_P95_TARGET_MS = 50.0
REPO = Path(__file__).resolve().parents[2]
WORKING = "esc to interrupt"  # the status line says so while a turn runs

NOTE = """\
- keystroke_latency: each key is a textual Key event posted from a separate thread through the
  headless driver (what Pilot.press does, minus its idle waits), stamped when posted, and counted
  as shown at the first composed frame whose composer area holds it. Not measured: the terminal
  emulator, the driver's input parser, and writing the frame's escape sequences to a tty (a real
  terminal adds those, typically a few ms). 'text_p95' is key -> composer text changed
  (TextArea.Changed dispatched): the queueing behind the stream; the rest up to 'shown' is frame
  pacing (<= 1/60 s) and composing."""


@dataclass
class KeySample:
    char: str
    pressed: float
    text_updated: float | None = None
    shown: float | None = None


@dataclass
class StreamRun:
    server: dict[str, float] = field(default_factory=dict)  # first, last_text, last, frames
    visible: float | None = None  # first frame showing the answer's last line
    settled: float | None = None  # first frame after the UI ended the turn, answer on screen
    flicker_frames: int = 0  # frames without the last line after it had been shown
    started: float | None = None  # first frame showing the turn at work
    frames: int = 0  # frames composed from `started` until `visible`
    keys: list[KeySample] = field(default_factory=list)
    complete: bool = False  # the answer widget holds exactly the streamed text

    @property
    def lag_ms(self) -> float | None:
        return None if self.visible is None else (self.visible - self.server["last_text"]) * 1000

    @property
    def total_s(self) -> float | None:
        return None if self.visible is None else self.visible - self.server["first"]

    @property
    def settle_ms(self) -> float | None:
        return None if self.settled is None else (self.settled - self.server["last"]) * 1000

    @property
    def fps(self) -> float | None:
        if self.visible is None or self.started is None or self.visible <= self.started:
            return None
        return self.frames / (self.visible - self.started)


class PacedServer:
    """paced_server.py in a child process; `timings()` waits for the next stream's report."""

    def __init__(self, tokens: int = TOKENS, rate: float = RATE) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.benchmarks.paced_server", str(tokens), str(rate)],
            cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        hello = json.loads(self.proc.stdout.readline())
        self.base_url: str = hello["base_url"]
        self.delay: float = hello["delay"]
        self._reports: queue.Queue[dict[str, float]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._reports.put(json.loads(line))

    def timings(self, timeout: float) -> dict[str, float]:
        return self._reports.get(timeout=timeout)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Typist(threading.Thread):
    """Presses a-z in turn every `interval` seconds until stopped."""

    def __init__(self, app: Any, samples: list[KeySample], interval: float = KEY_INTERVAL) -> None:
        super().__init__(daemon=True)
        self.app = app
        self.samples = samples
        self.interval = interval
        self.halt = threading.Event()

    def run(self) -> None:
        driver = self.app._driver
        due = time.monotonic()
        for i in range(10_000):
            if self.halt.is_set():
                return
            char = string.ascii_lowercase[i % 26]
            key = events.Key(char, char)
            key.set_sender(self.app)
            self.samples.append(KeySample(char, time.monotonic()))
            driver.send_message(key)
            due += self.interval
            self.halt.wait(max(0.0, due - time.monotonic()))


async def stream_once(server: PacedServer, *, typing: bool, timeout: float = 60.0) -> StreamRun:
    run = StreamRun()
    full = long_answer(TOKENS)
    expected_keys = "".join(string.ascii_lowercase[i % 26] for i in range(10_000))
    started = asyncio.Event()
    settled = asyncio.Event()
    with tempfile.TemporaryDirectory(prefix="codeloop-bench-") as cwd:
        app = codeloop_app(server.base_url, Path(cwd))
        composer: Composer | None = None

        def on_message(message: Message) -> None:
            if composer is not None and isinstance(message, TextArea.Changed) and message.text_area is composer:
                now = time.monotonic()
                for sample in run.keys[: len(composer.text)]:
                    if sample.text_updated is None:
                        sample.text_updated = now

        async with app.run_test(size=SIZE, message_hook=on_message) as pilot:
            clock = PaintClock(app)
            composer = app.query_one(Composer)
            typist = Typist(app, run.keys)

            def on_frame(now: float) -> None:
                shows_end = clock.shows(SENTINEL)
                working = clock.shows(WORKING)
                if not started.is_set():
                    if working:
                        started.set()
                        run.started = now
                        if typing:
                            typist.start()
                    return
                if run.visible is None:
                    run.frames += 1
                if shows_end and run.visible is None:
                    run.visible = now
                elif not shows_end and run.visible is not None:
                    run.flicker_frames += 1
                if shows_end and not working and run.settled is None:
                    run.settled = now
                    settled.set()
                if run.keys:
                    typed = "".join(clock.text_in(composer.content_region).split())
                    count = len(typed) if expected_keys.startswith(typed) else 0
                    for sample in run.keys[:count]:
                        if sample.shown is None:
                            sample.shown = now

            clock.listeners.append(on_frame)
            await pilot.press("g", "o", "enter")
            try:
                await asyncio.wait_for(settled.wait(), timeout)
            except TimeoutError:
                pass
            typist.halt.set()
            if typing and typist.is_alive():
                await asyncio.to_thread(typist.join, 2)
            # Let the last keys reach the screen before the app goes away.
            for _ in range(50):
                if all(s.shown is not None for s in run.keys):
                    break
                await asyncio.sleep(0.02)
            run.complete = _holds(app.query_one(Conversation), full)
        run.server = await asyncio.to_thread(server.timings, 10)
    return run


def _holds(conversation: Conversation, text: str) -> bool:
    """Whether a cell of the conversation holds exactly `text`, whatever kind of cell it is
    (a streaming Markdown has `source`, a frozen answer keeps its `text`)."""
    return any(text in (getattr(cell, "source", None), getattr(cell, "text", None)) for cell in conversation.children)


def _median_of(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return median(present) if present else None


def _ms(seconds: float) -> float:
    return seconds * 1000


async def measure(quick: bool, *, plain: bool = True, typed: bool = True) -> list[Row]:
    """stream_5000 (`plain`) and keystroke_latency (`typed`): separate streams, so the typing
    does not slow the stream being timed."""
    runs = 1 if quick else 3
    server = PacedServer()
    rows: list[Row] = []
    try:
        if plain:
            rows += stream_rows([await stream_once(server, typing=False) for _ in range(runs)], server.delay)
        if typed:
            rows += keystroke_rows([await stream_once(server, typing=True) for _ in range(runs)])
    finally:
        server.close()
    return rows


def stream_rows(runs: list[StreamRun], delay: float) -> list[Row]:
    ideal = TOKENS / RATE
    n = f"median of {len(runs)}" if len(runs) > 1 else "1 run"
    problems = []
    if not all(r.complete for r in runs):
        problems.append("answer widget text != streamed text")
    if any(r.visible is None for r in runs):
        problems.append("last line never shown")
    if any(r.flicker_frames for r in runs):
        problems.append(f"last line vanished again in {max(r.flicker_frames for r in runs)} frame(s)")
    lag = _median_of(r.lag_ms for r in runs)
    total = _median_of(r.total_s for r in runs)
    settle = _median_of(r.settle_ms for r in runs)
    fps = _median_of(r.fps for r in runs)
    server_s = median([r.server["last"] - r.server["first"] for r in runs])
    rows = [
        at_most("stream_5000.lag", lag, "ms", LAG_TARGET_MS, f"server's last text frame -> whole answer on screen; {n}"),
        at_most("stream_5000.total", total, "s", ideal + LAG_TARGET_MS / 1000,
                f"first frame sent -> whole answer on screen; ideal {ideal:.2f} s"),  # fmt: skip
        info("stream_5000.settle", settle, "ms", "server's last frame -> turn over in the UI (answer frozen), on screen"),
        info("stream_5000.fps", fps, "frames/s", "frames composed while the answer streamed in (the app caps at 60)"),
        info("stream_5000.server", server_s, "s",
             f"the server's own send time ({TOKENS / server_s:.0f} frames/s; delay {delay * 1e3:.3f} ms/frame)"),  # fmt: skip
    ]
    if problems:
        rows[0].note += "; PROBLEM: " + ", ".join(problems)
        rows[0].met = False
    return rows


def keystroke_rows(runs: list[StreamRun]) -> list[Row]:
    samples = [s for r in runs for s in r.keys]
    shown = [_ms(s.shown - s.pressed) for s in samples if s.shown is not None]
    text = [_ms(s.text_updated - s.pressed) for s in samples if s.text_updated is not None]
    lost = len(samples) - len(shown)
    where = f"{len(samples)} keys over {len(runs)} stream(s)" + (f"; {lost} never shown" if lost else "")
    return [
        info("keystroke_latency.p50", percentile(shown, 50) if shown else None, "ms", "key posted -> shown in a frame"),
        below("keystroke_latency.p95", percentile(shown, 95) if shown else None, "ms", KEY_P95_TARGET_MS,
              f"{where}; max {max(shown):.0f} ms" if shown else where),  # fmt: skip
        info("keystroke_latency.text_p95", percentile(text, 95) if text else None, "ms",
             "key posted -> composer text changed"),  # fmt: skip
        info("stream_5000.lag_while_typing", _median_of(r.lag_ms for r in runs), "ms", "stream_5000.lag with the typing"),
    ]
