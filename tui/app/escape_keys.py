"""Esc typed at once before a character is still an Esc.

A terminal sends Esc as a lone ESC byte and Alt+x as ESC x, so Esc followed fast by a
character arrives as ESC x. Textual's parser then waits (100 ms, or 32 characters) for an
escape sequence that never comes, and settles it as Alt+letter for a letter (the composer splits
that back), but for a space, a digit or punctuation the Esc was simply dropped (`alt` applies to
letters only), and after 32 characters of a fast burst it even became a `^` typed into the text.

Here ESC followed by a printable character that starts no terminal sequence is settled the
moment that character arrives: Esc then the character for a non-letter, Alt+letter (as Textual
says it) for a letter. The bytes that do start a sequence (`[` CSI, `O` SS3, `P` DCS, `]` OSC,
`X`, `^`, `_`, `\\`) are left to Textual.

Right after an Esc, ESC and a control key (Enter, Tab, Backspace) are Esc then that key too:
Esc Esc Enter typed at once (backtrack: edit the last message) came out as Esc, Enter, the second
Esc lost, because Textual reads ESC CR as Alt+Enter and then drops the Alt. Nobody holds Alt
for the key right after pressing Esc.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable

from textual import events
from textual._parser import Peek1, Read1, TokenCallback
from textual._xterm_parser import XTermParser
from textual.message import Message

ESC = "\x1b"
STARTS_A_SEQUENCE = frozenset("[O]PX^_\\")


class EscapeAwareParser(XTermParser):
    _after_escape = False  # the last token reported was the Esc key

    def parse(self, token_callback: TokenCallback) -> Generator[Read1 | Peek1, str, None]:
        def tracking(token: Message) -> None:
            self._after_escape = isinstance(token, events.Key) and token.key == "escape"
            token_callback(token)

        return super().parse(tracking)

    def _sequence_to_key_events(self, sequence: str, alt: bool = False) -> Iterable[events.Key]:
        if self._after_escape and len(sequence) == 2 and sequence[0] == ESC and sequence[1] in "\r\t\x7f\x08":
            yield events.Key("escape", ESC)
            yield from super()._sequence_to_key_events(sequence[1])
            return
        if (
            len(sequence) == 2
            and sequence[0] == ESC
            and sequence[1].isprintable()
            and sequence[1] not in STARTS_A_SEQUENCE
        ):
            character = sequence[1]
            if character.isascii() and character.isalpha():
                yield from super()._sequence_to_key_events(character, alt=True)
            else:
                yield events.Key("escape", ESC)
                yield from super()._sequence_to_key_events(character)
            return
        yield from super()._sequence_to_key_events(sequence, alt)


def install() -> None:
    """Make the terminal drivers parse input with EscapeAwareParser (they name the class at
    module level and build a parser when input starts)."""
    from textual.drivers import linux_driver

    linux_driver.XTermParser = EscapeAwareParser  # type: ignore[misc]
