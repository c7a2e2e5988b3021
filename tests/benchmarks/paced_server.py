"""The fake OpenAI server in its own process, streaming one long answer at a fixed frame pace.

Run by stream.py as `python -m tests.benchmarks.paced_server TOKENS RATE`. A separate process,
because a server thread inside the benchmark would contend with the app for the GIL, which the
live API never does. Protocol on stdout, one JSON object a line: first {"base_url", "delay"},
then after each stream {"first", "last_text", "last", "frames"} as time.monotonic() readings
(CLOCK_MONOTONIC is system-wide on Linux, so the app's process can compare them).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

from tests.benchmarks.answer import long_answer
from tui.fakeserver import FakeOpenAI
from tui.fakeserver import events as fe
from tui.fakeserver.server import _RequestHandler, _Sse

STREAMS = 20  # more than any benchmark run asks for
_print_lock = threading.Lock()


def emit(obj: dict[str, Any]) -> None:
    with _print_lock:
        print(json.dumps(obj), flush=True)


class _TimedHandler(_RequestHandler):
    """Notes when each SSE frame has been flushed to the socket."""

    def _send_sse(self, stream: _Sse) -> None:
        self._times: list[float] = []
        self._last_text = 0.0
        super()._send_sse(stream)
        if self._times:
            emit({"first": self._times[0], "last_text": self._last_text, "last": self._times[-1], "frames": len(self._times)})

    def _write_chunk(self, data: bytes) -> None:
        super()._write_chunk(data)
        now = time.monotonic()
        self._times.append(now)
        if b"response.output_text.delta" in data:
            self._last_text = now


class TimedFakeOpenAI(FakeOpenAI):
    """FakeOpenAI (queues, validation and all) serving through the timed handler."""

    @staticmethod
    def handler_class() -> type[_TimedHandler]:
        return _TimedHandler


def calibrated_delay(rate: float) -> float:
    """The `delay` that makes one frame take 1/rate: time.sleep overshoots by ~0.1 ms here, which
    at 2,000 frames/s would otherwise stretch 2.5 s into ~3 s."""
    target = 1 / rate
    start = time.monotonic()
    for _ in range(200):
        time.sleep(target)
    overshoot = (time.monotonic() - start) / 200 - target
    return max(target / 5, target - overshoot - 15e-6)  # ~15 µs to write and flush a frame


def main() -> None:
    tokens, rate = int(sys.argv[1]), float(sys.argv[2])
    text = long_answer(tokens)
    delay = calibrated_delay(rate)
    server = TimedFakeOpenAI().start()
    for _ in range(STREAMS):
        server.queue_response(fe.turn(fe.message_item(text, chunk_size=4)), delay=delay)
    emit({"base_url": server.base_url, "delay": delay})
    sys.stdin.read()  # until the benchmark closes our stdin
    server.stop()


if __name__ == "__main__":
    main()
