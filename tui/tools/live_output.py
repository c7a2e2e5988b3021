"""What a running command prints, passed on as it comes: redacted, coalesced, bounded.

A command may print megabytes a second; the screen needs a few updates a second of its last
lines. So chunks are gathered and sent as one `ExecCommandOutputDelta` at most every
`INTERVAL_S`, and a flush carries at most `FLUSH_CAP_CHARS` (the rest of a burst is replaced by
a marker: the model still gets the whole capped output when the command ends).

Redaction works on text, and a secret can arrive split across two chunks (`sk-ab` … `cd12…`).
Redacting each chunk alone would let both halves through, so only complete lines are sent
(a line ends at `\\n` or `\\r`, which progress bars use); the unfinished last line waits for its
end, for the command's end, or until it is longer than `HELD_LINE_CAP_CHARS` (a line that long
is sent anyway: a secret straddling that one cut could then show in two halves).
"""

from __future__ import annotations

import asyncio
import codecs
from collections.abc import Callable

from tui.protocol import Event, ExecCommandOutputDelta
from tui.safety.redact import default_redactor

INTERVAL_S = 0.1
FLUSH_CAP_CHARS = 64 * 1024
HELD_LINE_CAP_CHARS = 16 * 1024


class LiveOutput:
    """Feed it raw chunks (`feed`), `close` it when the command ends or is stopped."""

    def __init__(self, call_id: str, emit: Callable[[Event], None]) -> None:
        self.call_id = call_id
        self.emit = emit
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        self._skipped = 0
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False

    def feed(self, chunk: bytes) -> None:
        if self._closed:
            return
        self._pending += self._decoder.decode(chunk)
        if len(self._pending) > FLUSH_CAP_CHARS:
            # More than one flush can carry: keep the tail, say how much went.
            cut = len(self._pending) - FLUSH_CAP_CHARS
            self._skipped += cut
            self._pending = self._pending[cut:]
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(INTERVAL_S, self._flush)

    def close(self) -> None:
        """Send whatever is left, the unfinished line included; later chunks are ignored."""
        if self._closed:
            return
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._pending += self._decoder.decode(b"", final=True)
        self._send(self._pending)
        self._pending = ""

    def _flush(self) -> None:
        self._timer = None
        end = max(self._pending.rfind("\n"), self._pending.rfind("\r")) + 1
        if end == 0 and len(self._pending) > HELD_LINE_CAP_CHARS:
            end = len(self._pending)
        ready, self._pending = self._pending[:end], self._pending[end:]
        self._send(ready)
        if self._pending:  # an unfinished line: look again a beat later
            self._timer = asyncio.get_running_loop().call_later(INTERVAL_S, self._flush)

    def _send(self, text: str) -> None:
        if self._skipped:
            # The cut may split a line (and a secret in it): start the shown text at a line start.
            nl = text.find("\n")
            dropped = text[: nl + 1] if 0 <= nl < len(text) - 1 else ""
            text = f"…[{self._skipped + len(dropped)} chars skipped]…\n{text[len(dropped):]}"
            self._skipped = 0
        if text:
            self.emit(ExecCommandOutputDelta(self.call_id, default_redactor().redact(text)))
