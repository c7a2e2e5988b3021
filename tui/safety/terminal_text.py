"""Text from outside (the model, a command, an MCP server, the provider) made safe to show.

A terminal obeys control sequences wherever they appear: an OSC 2 in a model's message retitles
the window, an OSC 52 writes the clipboard (a command the user pastes later), a CSI can move the
cursor and overwrite what the user reads, and a bare carriage return can hide the start of a
line. Everything shown from those sources goes through `neutralize` first: escape sequences are
dropped whole, and any other control character is shown as its Unicode control picture, so
nothing is executed and nothing is silently hidden. Newlines and tabs are kept.
"""

from __future__ import annotations

import re

# ESC followed by a complete sequence: CSI (ESC [ ... final), OSC/DCS/SOS/PM/APC (ESC ] P X ^ _
# ... ended by BEL or ST), or a two-byte escape. The 8-bit C1 forms (0x9b CSI, 0x9d OSC, ...)
# are matched too; an unterminated string sequence runs to the end of the text.
_SEQUENCE = re.compile(
    r"""
    (?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?        # CSI
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c|$)  # OSC, DCS, SOS, PM, APC
    | \x1b[\x20-\x2f]*[\x30-\x7e]?                              # other escapes
    """,
    re.VERBOSE | re.DOTALL,
)
# C0 controls but \t and \n, DEL, and C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # ␀ … ␟
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"<U+{code:04X}>"


def neutralize(text: str) -> str:
    """`text` with escape sequences removed and other control characters made visible.
    A CRLF line ending stays a newline."""
    if not text or (text.isprintable() and "\x1b" not in text):
        return text
    text = text.replace("\r\n", "\n")
    return _CONTROL.sub(_picture, _SEQUENCE.sub("", text))


__all__ = ["neutralize"]
