"""Text from outside (the model, a command, an MCP server, the provider) made safe to show.

A terminal obeys control sequences wherever they appear: an OSC 2 in a model's message retitles
the window, an OSC 52 writes the clipboard (a command the user pastes later), an OSC 8 makes a
link whose target is not what it says, a DECRQSS/DA/answerback request makes the terminal *type*
its answer into our input, a tmux `\\ePtmux;` passthrough reaches the terminal behind tmux, a
CSI moves the cursor and overwrites what the user reads, and a bare carriage return hides the
start of a line. Bidirectional overrides (U+202A–U+202E, U+2066–U+2069, "Trojan Source") and
zero-width characters make text read differently from what it is.

Everything shown from those sources goes through `neutralize` first:
- escape sequences (7-bit `ESC …` and 8-bit C1 forms; a string sequence — OSC, DCS, SOS, PM,
  APC — up to its terminator) are dropped whole; an introducer with no terminator is dropped on
  its own, and the text after it shown as text, so nothing is hidden by a sequence left open;
- every other control character (C0 but tab and newline, DEL, C1) becomes a visible
  stand-in: its Unicode control picture (␇, ␍, ␛) or `<U+0085>`;
- bidi controls and invisible format characters are shown as `<U+202E>` and the like. In
  prose, the joiners U+200C/U+200D stay (emoji sequences, Persian); `strict=True` (commands,
  file names, tool names: text that must read exactly as it runs) shows them too, and every
  other format character (Unicode category Cf).

The faces call it once each: the app on every engine event it shows (`displayable`) and in the
few widgets that show outside text not carried by an event (notices, the diff pane's file names,
the `@` finder); `codeloop exec` on every human-readable line it prints.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Callable
from enum import Enum
from typing import Any, TypeVar

# An escape sequence: CSI (ESC [ or 0x9b, parameters, intermediates, final), a string sequence
# (OSC ESC ] / 0x9d, DCS ESC P / 0x90, SOS ESC X / 0x98, PM ESC ^ / 0x9e, APC ESC _ / 0x9f) with
# its body up to BEL or ST (ESC \ or 0x9c), or another escape (ESC, intermediates, final).
_STRING_START = r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])"
_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"  # CSI
    r"|" + _STRING_START + r"[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"  # a terminated string sequence
    r"|" + _STRING_START  # an unterminated one: the introducer only
    + r"|\x1b[\x20-\x2f]*[\x30-\x7e]?",  # other escapes (and a lone ESC)
    re.DOTALL,
)
# C0 controls but \t and \n, DEL, and C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")
# Bidi embeddings/overrides/isolates and marks, and invisible characters that hide or reorder text.
_INVISIBLE = re.compile(r"[\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\u3164\ufeff\ufff9-\ufffb]")
_NEEDS_WORK = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\u3164\ufeff\ufff9-\ufffb]")


def _code(char: str) -> str:
    return f"<U+{ord(char):04X}>"


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # ␀ … ␟
    if code == 0x7F:
        return "\u2421"  # ␡
    return _code(match.group())


def neutralize(text: str, *, strict: bool = False) -> str:
    """`text` with escape sequences removed and other control, bidi and invisible characters
    made visible. A CRLF line ending stays a newline. See the module docstring."""
    if not text or (not strict and _NEEDS_WORK.search(text) is None):
        return text
    text = text.replace("\r\n", "\n")
    text = _CONTROL.sub(_picture, _SEQUENCE.sub("", text))
    text = _INVISIBLE.sub(lambda m: _code(m.group()), text)
    if strict:
        text = "".join(_code(c) if ord(c) > 0x7F and unicodedata.category(c) == "Cf" else c for c in text)
    return text


T = TypeVar("T")
# Fields that name what runs or is touched: shown strictly (see `neutralize`).
_STRICT_FIELDS = frozenset({"command", "cwd", "path", "move_to", "server", "tool", "display", "name"})


def displayable(value: T, clean: Callable[..., str] = neutralize, *, strict: bool = False) -> T:
    """A copy of `value` (an engine event, or anything in one) with every string passed through
    `clean`: dataclasses field by field, lists, tuples and dicts item by item. Other objects
    (an approval's future, enums) are shared, not copied, so resolving the copy resolves the
    original."""
    if isinstance(value, str):
        return value if isinstance(value, Enum) else clean(value, strict=strict)  # type: ignore[return-value]
    if isinstance(value, list):
        return [displayable(v, clean, strict=strict) for v in value]  # type: ignore[return-value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(displayable(v, clean, strict=strict) for v in value)  # type: ignore[return-value]
    if isinstance(value, dict):
        return {k: displayable(v, clean, strict=strict) for k, v in value.items()}  # type: ignore[return-value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            current = getattr(value, f.name)
            if f.init and (isinstance(current, (str, list, tuple, dict)) or dataclasses.is_dataclass(current)):
                changes[f.name] = displayable(current, clean, strict=strict or f.name in _STRICT_FIELDS)
        return dataclasses.replace(value, **changes) if changes else value
    return value


__all__ = ["displayable", "neutralize"]
