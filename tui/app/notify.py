"""Desktop notifications through the terminal: OSC 9, which iTerm2, WezTerm, Ghostty, kitty and
Windows Terminal turn into a system notification.

Sent only while the terminal window is not focused (Textual learns that from the terminal's
focus reports); a terminal that does not report focus is taken as always focused, so it never
gets one it did not need.
"""

from __future__ import annotations

import re

MAX_CHARS = 180
# Control characters would end the sequence early (BEL, ESC) or start another one in it.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def osc9(message: str) -> str:
    """The escape sequence that asks the terminal to show `message` as a notification."""
    text = " ".join(_CONTROL.sub(" ", message).split())
    if len(text) > MAX_CHARS:
        text = text[: MAX_CHARS - 1] + "…"
    return f"\x1b]9;{text}\x07"
