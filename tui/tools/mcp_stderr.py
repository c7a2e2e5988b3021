"""The lines of an MCP server's stderr that say why it failed.

A failing `npx` prints its cause two lines above its last one (`npm error 404 Not Found ...`,
then where its log went); a Python server prints a traceback whose last line is the error and
whose frames are noise; a Node server prints the error, then `at ...` frames and its version.
So the reason shown is the last few lines that are neither blank nor a stack frame, taken from
a bounded tail, neutralized (the server's bytes are untrusted) and redacted.
"""

from __future__ import annotations

import re

from tui.safety.redact import default_redactor
from tui.safety.terminal_text import neutralize

TAIL_LINES = 20  # of the tail read (at most STDERR_TAIL_BYTES, tui/tools/mcp.py), at most these
SHOWN_LINES = 5  # of those, the meaningful ones shown
LINE_CHARS = 200
_NOISE = re.compile(
    r"""^\s*(?:
        File\s".*",\s+line\s+\d+.*              # a Python frame
      | Traceback\s\(most\srecent\scall\slast\):
      | [~^\s]+                                 # Python's carets under the failing code
      | node:internal/.*
      | Node\.js\sv\d[\d.]*
      | \.\.\.\s\d+\smore.*                     # Java's elided frames
      | \{?\s*\}?                               # a lone brace of a dumped object
    )\s*$""",
    re.VERBOSE,
)
_PYTHON_FRAME = re.compile(r'^\s*File ".*", line \d+')
_NODE_FRAME = re.compile(r"^\s+at\s")  # indented: "at least one ..." unindented is a message


def meaningful_lines(tail: str) -> list[str]:
    """The last SHOWN_LINES lines of `tail` worth reading, oldest first, each made safe to show."""
    lines = tail.splitlines()[-TAIL_LINES:]
    kept: list[str] = []
    after_frame = False
    for line in lines:
        # A Python frame is followed by the source line it ran, indented: noise too.
        if after_frame and line.startswith((" ", "\t")) and not _PYTHON_FRAME.match(line):
            after_frame = False
            continue
        after_frame = bool(_PYTHON_FRAME.match(line))
        if not line.strip() or _NOISE.match(line) or _NODE_FRAME.match(line):
            continue
        text = " ".join(neutralize(line, strict=True).split())
        kept.append(text if len(text) <= LINE_CHARS else text[: LINE_CHARS - 1] + "…")
    redactor = default_redactor()
    return [redactor.redact(line) for line in kept[-SHOWN_LINES:]]


def with_stderr(reason: str, tail: str) -> str:
    """`reason`, followed by what the server's stderr says about it (one line, or an indented
    block of a few)."""
    lines = meaningful_lines(tail)
    if not lines:
        return reason
    if len(lines) == 1:
        return f"{reason} (stderr: {lines[0]})"
    return f"{reason}; its stderr ends:\n" + "\n".join(f"  {line}" for line in lines)
