"""Known secret values in the encodings a command can print them in.

`rev .env`, `base64 .env`, `xxd -p .env` and `python -c 'print(quote(k))'` print a key in a form
a plain search for it misses. For each known value we precompute what it looks like reversed,
percent-encoded, in hex (either case) and in base64 (standard and URL-safe alphabets, at each of
the three byte alignments it can start at inside a longer input). Reversed and percent-encoded
forms are plain substrings. Hex and base64 are found inside *runs* of encoding characters, which
`base64` and `xxd -p` wrap at 76 and 60 columns: a run may continue over single line breaks, and
the run is searched with the breaks taken out, so a value split across lines is still found.
A run holding a known value is replaced whole: the rest of an encoded `.env` is no less private.

Cost: one substring search (in C) per encoded form over the output with its line breaks taken
out; only when one hits, a regular-expression pass finds the runs to replace. A megabyte of
output with ten known secrets costs tens of milliseconds (measured in SECURITY.md).
"""

from __future__ import annotations

import base64
import re
from urllib.parse import quote

# Characters of base64 (both alphabets) and hex, and single line breaks between them.
_RUN = re.compile(r"[A-Za-z0-9+/_=-]{8,}(?:\r?\n[A-Za-z0-9+/_=-]+)*")
_BREAKS = re.compile(r"\r?\n")


def _base64_fragments(secret: bytes) -> list[str]:
    """The part of base64(…secret…) that depends only on the secret, for each alignment.

    With k bytes before it in its 3-byte group, the secret's own characters start at
    ceil(4k/3) and end where its last byte's bits end (a partly filled last character
    depends on what follows)."""
    fragments: list[str] = []
    for k in range(3):
        encoded = base64.b64encode(b"\0" * k + secret).decode().rstrip("=")
        start = -(-4 * k // 3)
        end = (8 * (k + len(secret))) // 6
        fragment = encoded[start:end]
        if len(fragment) >= 6:
            fragments += [fragment, fragment.replace("+", "-").replace("/", "_")]
    return fragments


def literal_forms(secret: str) -> list[str]:
    """Forms found by a plain substring search: reversed, percent-encoded."""
    forms = [secret[::-1], quote(secret, safe=""), quote(secret, safe="/")]
    return [form for form in dict.fromkeys(forms) if form != secret]


def encoded_forms(secret: str) -> list[str]:
    """Forms found inside runs of encoding characters: hex (lower, upper) and base64."""
    raw = secret.encode("utf-8")
    return list(dict.fromkeys([raw.hex(), raw.hex().upper(), *_base64_fragments(raw)]))


class EncodedSearch:
    """Finds runs of hex/base64 text that hold one of the encoded forms of known secrets."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        self.forms: tuple[str, ...] = tuple(sorted({f for s in secrets for f in encoded_forms(s)}, key=len))
        self._shortest = len(self.forms[0]) if self.forms else 0

    def redact(self, text: str, replacement: str) -> str:
        if not self.forms or len(text) < self._shortest:
            return text
        flat = _BREAKS.sub("", text) if "\n" in text else text
        if not any(form in flat for form in self.forms):
            return text

        def run(match: re.Match[str]) -> str:
            found = match.group()
            if len(found) < self._shortest:
                return found
            joined = _BREAKS.sub("", found) if "\n" in found else found
            if any(form in joined for form in self.forms):
                # Keep the run's line breaks out of the replacement's way: one marker per run.
                return replacement + ("\n" if found.endswith("\n") else "")
            return found

        return _RUN.sub(run, text)


__all__ = ["EncodedSearch", "encoded_forms", "literal_forms"]
