"""The changes of an Update File hunk: reading them from the patch, finding them in the file, and
rebuilding the file around the matches.

Models copy context lines imperfectly (trailing spaces, re-indented code, typographic quotes and
dashes the file never had), so a chunk is looked for with four increasingly forgiving line
comparisons. Each comparison is tried over the whole remaining file before the next one, so a
looser match never wins over an exact one further down.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal


class PatchError(ValueError):
    """A patch that cannot be parsed, located or written; `str(e)` goes to the model verbatim."""


Op = Literal[" ", "-", "+"]
_OPS: dict[str, Op] = {" ": " ", "-": "-", "+": "+"}
END_OF_FILE = "*** End of File"
# Models used to git diffs sometimes write `@@ -12,4 +12,5 @@`; the numbers locate nothing here.
_GIT_RANGE = re.compile(r"-\d+(,\d+)? \+\d+(,\d+)? @@")


@dataclass
class Chunk:
    """One `@@` section of an Update File hunk."""

    anchors: list[str] = field(default_factory=list)  # stacked `@@ text` headers, outermost first
    lines: list[tuple[Op, str]] = field(default_factory=list)
    at_eof: bool = False  # the chunk ended with `*** End of File`

    def old_lines(self) -> list[str]:
        return [text for op, text in self.lines if op != "+"]


def parse_chunks(
    body: Sequence[tuple[int, str]], i: int, path: str, stop_at: tuple[str, ...]
) -> tuple[int, list[Chunk]]:
    """Read change sections from `body[i]` (numbered patch lines) up to a line in `stop_at`."""
    chunks: list[Chunk] = []
    chunk: Chunk | None = None
    while i < len(body):
        number, line = body[i]
        marker = line.strip()
        if marker == END_OF_FILE:
            if chunk is None or not chunk.lines:
                raise PatchError(f"Invalid patch line {number}: '{END_OF_FILE}' follows no changes")
            chunk.at_eof = True
        elif marker.startswith(stop_at):
            break
        elif line.startswith("@@") or marker == "@@":
            if chunk is None or chunk.lines or chunk.at_eof:
                chunk = Chunk()
                chunks.append(chunk)
            anchor = marker[2:].strip()
            if anchor and not _GIT_RANGE.match(anchor):
                # Keep the anchor's own indentation: `@@     def bar` should prefer the method.
                chunk.anchors.append(line[2:].removeprefix(" ").rstrip())
        elif chunk is None and not marker:
            pass  # blank lines between the Update header and the first change
        elif line[:1] in (" ", "+", "-") or not marker:
            if chunk is None or chunk.at_eof:
                chunk = Chunk()
                chunks.append(chunk)
            if not marker and line[:1] != " ":
                chunk.lines.append((" ", ""))  # an empty context line that lost its space
            else:
                chunk.lines.append((_OPS[line[0]], line[1:]))
        else:
            raise PatchError(
                f"Invalid patch line {number} in the update of '{path}': '{line}'. Every line "
                "of a change starts with ' ' (context), '-' (removed) or '+' (added)"
            )
        i += 1
    if any(not chunk.lines for chunk in chunks):
        raise PatchError(f"An '@@' header in the update of '{path}' has no lines after it")
    return i, chunks


# Dashes, quotes and spaces a model tends to "prettify" when it retypes a line.
_TYPOGRAPHY = str.maketrans(
    {
        **{chr(c): "-" for c in range(0x2010, 0x2016)},
        "\u2212": "-",
        **{c: "'" for c in "\u2018\u2019\u201a\u201b"},
        **{c: '"' for c in "\u201c\u201d\u201e\u201f"},
        **{chr(c): " " for c in (0x00A0, 0x1680, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000)},
    }
)


def _typography(line: str) -> str:
    return line.strip().translate(_TYPOGRAPHY)


def _identity(line: str) -> str:
    return line


_PASSES: tuple[Callable[[str], str], ...] = (_identity, str.rstrip, str.strip, _typography)


class LineMatcher:
    """Searches one file's lines; the normalised views are built once and shared by all chunks."""

    def __init__(self, lines: Sequence[str]) -> None:
        self._lines = lines
        self._views: dict[int, list[str]] = {}

    def _view(self, level: int) -> list[str]:
        if level not in self._views:
            self._views[level] = [_PASSES[level](line) for line in self._lines]
        return self._views[level]

    def find(self, pattern: Sequence[str], start: int, *, at_eof: bool = False) -> int | None:
        """Index where `pattern` begins at or after `start`, or None.

        With `at_eof` only the position that puts the pattern's last line on the file's last
        line is considered.
        """
        if not pattern:
            return start
        size, last = len(pattern), len(self._lines) - len(pattern)
        if last < start:
            return None
        for level, normalise in enumerate(_PASSES):
            view = self._view(level)
            wanted = [normalise(line) for line in pattern]
            if at_eof:
                if view[last:] == wanted:
                    return last
                continue
            i = start
            while i <= last:
                try:
                    # list.index does the scan for the first line in C; 50k-line files stay quick.
                    i = view.index(wanted[0], i, last + 1)
                except ValueError:
                    break
                if view[i : i + size] == wanted:
                    return i
                i += 1
        return None


    def find_anchor(self, anchor: str, start: int) -> int | None:
        """The line an `@@` header names, at or after `start`.

        Models often abbreviate the line (`@@ def bar` for `def bar(self, x):`), so when no whole
        line matches, the first line that begins with the anchor is taken.
        """
        found = self.find([anchor], start)
        if found is not None or not anchor.strip():
            return found
        wanted = _typography(anchor)
        view = self._view(len(_PASSES) - 1)
        return next((i for i in range(start, len(view)) if view[i].startswith(wanted)), None)


@dataclass(frozen=True)
class _Edit:
    start: int
    length: int
    new: list[str]


def apply_chunks(lines: list[str], chunks: Sequence[Chunk], path: str) -> list[str]:
    """The file's lines after every chunk; chunks are located in order, each after the last."""
    matcher = LineMatcher(lines)
    cursor = 0
    edits: list[_Edit] = []
    for chunk in chunks:
        for anchor in chunk.anchors:
            found = matcher.find_anchor(anchor, cursor)
            if found is None:
                raise PatchError(f"Failed to find context '{anchor}' in {path}")
            cursor = found + 1
        ops, old = chunk.lines, chunk.old_lines()
        start = _locate(matcher, old, cursor, chunk.at_eof) if old else None
        if start is None and old and old[-1] == "":
            # A blank line a model leaves before the next header is read as an empty context line.
            ops, old = _without_last_old_line(ops), old[:-1]
            start = _locate(matcher, old, cursor, chunk.at_eof) if old else None
        if not old:
            # Nothing to match: an anchored addition goes right under its anchor, a bare one at EOF.
            # A blank line between its `+` lines was one more added line that lost its `+`.
            at = cursor if chunk.anchors else len(lines)
            added = list(chunk.lines)
            while added and added[-1] == (" ", ""):
                added.pop()
            edits.append(_Edit(at, 0, [text for _, text in added]))
            continue
        if start is None:
            expected = "\n".join(chunk.old_lines())
            raise PatchError(f"Failed to find expected lines in {path}:\n{expected}")
        edits.append(_Edit(start, len(old), _replacement(lines, start, ops)))
        cursor = start + len(old)
    return _rebuild(lines, edits)


def _locate(matcher: LineMatcher, old: list[str], cursor: int, at_eof: bool) -> int | None:
    if at_eof:
        found = matcher.find(old, cursor, at_eof=True)
        if found is not None:
            return found
    return matcher.find(old, cursor)


def _without_last_old_line(ops: list[tuple[Op, str]]) -> list[tuple[Op, str]]:
    index = max(i for i, (op, _) in enumerate(ops) if op != "+")
    return ops[:index] + ops[index + 1 :]


def _replacement(lines: list[str], start: int, ops: list[tuple[Op, str]]) -> list[str]:
    # Context lines keep the file's own text: a fuzzy match must not rewrite the whitespace or
    # quotes of lines the model did not mean to change.
    new: list[str] = []
    at = start
    for op, text in ops:
        if op == " ":
            new.append(lines[at])
            at += 1
        elif op == "-":
            at += 1
        else:
            new.append(text)
    return new


def _rebuild(lines: list[str], edits: list[_Edit]) -> list[str]:
    out: list[str] = []
    done = 0
    # sorted() is stable: an insertion recorded before a replacement at the same line stays first.
    for edit in sorted(edits, key=lambda e: e.start):
        out.extend(lines[done : edit.start])
        out.extend(edit.new)
        done = edit.start + edit.length
    out.extend(lines[done:])
    return out


def rewrite(old_text: str, chunks: Sequence[Chunk], path: str) -> str:
    """The new content of a file; it keeps the file's CRLF or LF endings and ends with one."""
    first_newline = old_text.find("\n")
    crlf = first_newline > 0 and old_text[first_newline - 1] == "\r"
    lines = old_text.split("\n")
    if lines[-1] == "":
        lines.pop()
    if crlf:
        lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    new_lines = apply_chunks(lines, chunks, path)
    if not new_lines:
        return ""
    eol = "\r\n" if crlf else "\n"
    return eol.join(new_lines) + eol
