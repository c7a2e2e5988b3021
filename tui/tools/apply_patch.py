"""The apply_patch tool: parse a patch, plan every file's new content, then write all or nothing.

Unlike Codex, which writes hunk by hunk and leaves earlier files changed when a later hunk fails,
nothing touches the disk until every hunk has been located; a write that still fails part-way is
rolled back from in-memory copies. Planning is separate so the UI can show diffs for approval.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import stat
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tui.protocol import FileChangeKind
from tui.tools.patch_match import Chunk, parse_chunks, rewrite

# Re-exported: the engine and the UI catch PatchError from this module.
from tui.tools.patch_match import PatchError as PatchError

BEGIN, END = "*** Begin Patch", "*** End Patch"
ADD, DELETE, UPDATE, MOVE = "*** Add File:", "*** Delete File:", "*** Update File:", "*** Move to:"
# Lines that end an Update File hunk's changes even when indented like a context line.
_MARKERS = (BEGIN, END, ADD, DELETE, UPDATE, MOVE)
# `apply_patch <<'EOF'` … `EOF`: how a model writes the patch when it thinks it is in a shell.
_HEREDOC = re.compile(r"(?:apply_patch\s+)?<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")


@dataclass
class AddFile:
    path: str
    contents: str


@dataclass
class DeleteFile:
    path: str


@dataclass
class UpdateFile:
    path: str
    move_to: str | None = None
    chunks: list[Chunk] = field(default_factory=list)


Hunk = AddFile | DeleteFile | UpdateFile


@dataclass(frozen=True)
class FileChange:
    kind: FileChangeKind
    path: Path  # absolute, resolved path of the file as it is now
    rel: str  # the path as written in the patch
    old_text: str | None  # None for add
    new_text: str | None  # None for delete
    move_to: Path | None = None
    move_rel: str | None = None


# ---------------------------------------------------------------------------------------- parse

_Line = tuple[int, str]  # (1-based line number in the patch text, line without its ending)


def parse_patch(text: str) -> list[Hunk]:
    body = _envelope(text)
    hunks: list[Hunk] = []
    i = 0
    while i < len(body):
        number, line = body[i]
        header = line.strip()
        if not header:
            i += 1
        elif header.startswith(ADD):
            path = _header_path(header, ADD, number)
            i, contents = _parse_added_lines(body, i + 1)
            hunks.append(AddFile(path, contents))
        elif header.startswith(DELETE):
            hunks.append(DeleteFile(_header_path(header, DELETE, number)))
            i += 1
        elif header.startswith(UPDATE):
            hunk = UpdateFile(_header_path(header, UPDATE, number))
            i += 1
            if i < len(body) and body[i][1].strip().startswith(MOVE):
                hunk.move_to = _header_path(body[i][1].strip(), MOVE, body[i][0])
                i += 1
            i, hunk.chunks = parse_chunks(body, i, hunk.path, _MARKERS)
            if not hunk.chunks and hunk.move_to is None:
                raise PatchError(f"The Update File hunk for '{hunk.path}' has no changes")
            hunks.append(hunk)
        else:
            raise PatchError(
                f"Invalid patch line {number}: '{line}' is not a valid hunk header. Valid hunk "
                "headers: '*** Add File: {path}', '*** Delete File: {path}', "
                "'*** Update File: {path}'"
            )
    if not hunks:
        raise PatchError("Empty patch: there is no file operation between the Begin/End markers")
    return hunks


def _envelope(text: str) -> list[_Line]:
    """The lines between `*** Begin Patch` and `*** End Patch`, any heredoc wrapper removed."""
    lines = [(n, raw.removesuffix("\r")) for n, raw in enumerate(text.split("\n"), start=1)]
    lines = _trim_blank(lines)
    if not lines:
        raise PatchError("Empty patch")
    heredoc = _HEREDOC.fullmatch(lines[0][1].strip())
    if heredoc and len(lines) >= 2 and lines[-1][1].strip() == heredoc.group(2):
        lines = _trim_blank(lines[1:-1])
    if not lines or lines[0][1].strip() != BEGIN:
        raise PatchError(f"The first line of the patch must be '{BEGIN}'")
    if len(lines) < 2 or lines[-1][1].strip() != END:
        raise PatchError(f"The last line of the patch must be '{END}'")
    return lines[1:-1]


def _trim_blank(lines: list[_Line]) -> list[_Line]:
    start, end = 0, len(lines)
    while start < end and not lines[start][1].strip():
        start += 1
    while end > start and not lines[end - 1][1].strip():
        end -= 1
    return lines[start:end]


def _header_path(header: str, marker: str, number: int) -> str:
    path = header[len(marker) :].strip()
    if not path:
        raise PatchError(f"Invalid patch line {number}: '{header}' is missing its file path")
    return path


def _parse_added_lines(body: list[_Line], i: int) -> tuple[int, str]:
    contents: list[str] = []
    while i < len(body):
        line = body[i][1]
        if line.startswith("+"):
            contents.append(line[1:] + "\n")
        elif not line.strip() and _next_is_added_line(body, i):
            contents.append("\n")  # a model dropped the `+` of an empty line inside the file
        else:
            break
        i += 1
    return i, "".join(contents)


def _next_is_added_line(body: list[_Line], i: int) -> bool:
    rest = (line for _, line in body[i:] if line.strip())
    return next(rest, "").startswith("+")


# ----------------------------------------------------------------------------------------- plan


class _Workspace:
    """Path checks, plus the tree as earlier hunks of the same patch will have left it."""

    def __init__(self, cwd: Path, allowed_roots: Sequence[Path] | None) -> None:
        self.cwd = cwd
        self.roots = [self._real(root, str(root)) for root in (allowed_roots or [cwd])]
        self.pending: dict[Path, str | None] = {}

    def _real(self, path: Path, rel: str) -> Path:
        try:
            return path.resolve()
        except (OSError, RuntimeError, ValueError) as e:  # loops, bad bytes, over-long names
            raise PatchError(f"Cannot resolve '{rel}': {e}") from None

    def _inside(self, path: Path) -> bool:
        return any(path == root or path.is_relative_to(root) for root in self.roots)

    def resolve(self, rel: str, *, keep_link: bool = False) -> Path:
        if "\x00" in rel:
            raise PatchError(f"Refusing '{rel}': the path contains a NUL byte")
        if rel.startswith(("/", "\\", "~")) or re.match(r"[A-Za-z]:", rel):
            raise PatchError(f"Refusing '{rel}': use a path relative to the working directory")
        if ".." in re.split(r"[\\/]", rel):
            raise PatchError(f"Refusing '{rel}': '..' components are not allowed")
        lexical = self.cwd / rel
        real = self._real(lexical, rel)
        if not self._inside(real):
            raise PatchError(f"Refusing '{rel}': it resolves outside the workspace ({real})")
        if keep_link:
            # Deleting a symlink removes the link, never the file it points to.
            link = self._real(lexical.parent, rel) / lexical.name
            if os.path.islink(link):
                return link
        return real

    def read(self, path: Path, rel: str, verb: str) -> str:
        if path in self.pending:
            text = self.pending[path]
            if text is None:
                raise PatchError(f"Cannot {verb} '{rel}': an earlier hunk of this patch removed it")
            return text
        try:
            mode = path.stat().st_mode
            if stat.S_ISDIR(mode):
                raise PatchError(f"Cannot {verb} '{rel}': it is a directory")
            if not stat.S_ISREG(mode):  # a FIFO or device would block or never end
                raise PatchError(f"Cannot {verb} '{rel}': it is not a regular file")
            return path.read_bytes().decode("utf-8", "surrogateescape")
        except FileNotFoundError:
            raise PatchError(f"Cannot {verb} '{rel}': no such file") from None
        except OSError as e:
            raise PatchError(f"Cannot {verb} '{rel}': {e.strerror or e}") from None

    def check_writable(self, path: Path, rel: str) -> None:
        try:
            is_dir = self.pending.get(path) is None and path.is_dir()
        except OSError as e:  # e.g. a name longer than the filesystem allows
            raise PatchError(f"Cannot write '{rel}': {e.strerror or e}") from None
        if is_dir:
            raise PatchError(f"Cannot write '{rel}': it is a directory")


def plan_patch(
    text: str, cwd: Path, allowed_roots: Sequence[Path] | None = None
) -> list[FileChange]:
    """Every file change the patch makes, computed without writing anything."""
    ws = _Workspace(cwd, allowed_roots)
    changes: list[FileChange] = []
    for hunk in parse_patch(text):
        if isinstance(hunk, AddFile):
            path = ws.resolve(hunk.path)
            ws.check_writable(path, hunk.path)
            changes.append(FileChange("add", path, hunk.path, None, hunk.contents))
            ws.pending[path] = hunk.contents
        elif isinstance(hunk, DeleteFile):
            path = ws.resolve(hunk.path, keep_link=True)
            old = ws.read(path, hunk.path, "delete")
            changes.append(FileChange("delete", path, hunk.path, old, None))
            ws.pending[path] = None
        else:
            path = ws.resolve(hunk.path)
            old = ws.read(path, hunk.path, "update")
            new = rewrite(old, hunk.chunks, hunk.path) if hunk.chunks else old
            dest = ws.resolve(hunk.move_to) if hunk.move_to is not None else None
            if dest is not None and dest != path:
                ws.check_writable(dest, hunk.move_to or "")
                ws.pending[path] = None
            ws.pending[dest or path] = new
            changes.append(FileChange("update", path, hunk.path, old, new, dest, hunk.move_to))
    return changes


# ---------------------------------------------------------------------------------------- apply


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


@dataclass
class _Saved:
    data: bytes | None  # None: the path did not exist
    link: str | None = None
    mode: int | None = None


class _Journal:
    """What the disk looked like before each write, so a failed patch can be undone.

    Undone strictly in reverse order: a file this patch deleted may have become a folder this
    patch made (`Move` it away, then `Add` a file under its name), and that folder must be gone
    before the file can come back.
    """

    def __init__(self) -> None:
        self.saved: dict[Path, _Saved] = {}
        self.steps: list[tuple[Literal["file", "dir"], Path]] = []

    def remember(self, path: Path) -> None:
        if path in self.saved:
            return
        if path.is_symlink():
            self.saved[path] = _Saved(None, link=os.readlink(path))
        elif path.is_file():
            self.saved[path] = _Saved(path.read_bytes(), mode=path.stat().st_mode)
        else:
            self.saved[path] = _Saved(None)
        self.steps.append(("file", path))

    def make_parents(self, path: Path) -> None:
        missing = [p for p in path.parents if not p.exists()]
        for directory in reversed(missing):
            directory.mkdir()
            self.steps.append(("dir", directory))

    def restore(self) -> list[str]:
        problems: list[str] = []
        for kind, path in reversed(self.steps):
            if kind == "dir":
                try:
                    path.rmdir()
                except OSError:
                    pass  # something else now lives there; leaving an empty dir is harmless
                continue
            saved = self.saved[path]
            try:
                if path.is_symlink() or path.is_file():
                    path.unlink()
                if saved.link is not None:
                    os.symlink(saved.link, path)
                elif saved.data is not None:
                    path.write_bytes(saved.data)
                    if saved.mode is not None:
                        path.chmod(saved.mode)
            except OSError as e:
                problems.append(f"{path}: {e}")
        return problems


def _read_or_none(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8", "surrogateescape")
    except OSError:
        return None


def _check_unchanged(changes: Sequence[FileChange]) -> None:
    """Refuse to write over files that changed between planning (and approval) and now."""
    expected: dict[Path, str | None] = {}
    for change in changes:
        if change.kind != "add":
            now = expected[change.path] if change.path in expected else _read_or_none(change.path)
            if now != change.old_text:
                raise PatchError(f"'{change.rel}' changed since the patch was checked; re-read it")
        if change.kind == "delete" or change.move_to is not None:
            expected[change.path] = None
        if change.kind != "delete":
            expected[change.move_to or change.path] = change.new_text


def apply_changes(changes: Sequence[FileChange]) -> str:
    """Write every change or none of them; returns the summary the model sees."""
    if not changes:
        raise PatchError("No files were modified")
    _check_unchanged(changes)
    journal = _Journal()
    current = changes[0]
    try:
        for current in changes:
            if current.kind == "delete":
                journal.remember(current.path)
                current.path.unlink()
                continue
            target = current.move_to or current.path
            journal.make_parents(target)  # before remember(): the rollback removes the file, then the folders
            journal.remember(target)
            target.write_bytes(_encode(current.new_text or ""))
            if current.move_to is not None and current.move_to != current.path:
                shutil.copymode(current.path, target)  # a moved script stays executable
                journal.remember(current.path)
                current.path.unlink()
    except OSError as e:
        problems = journal.restore()
        message = f"Failed to write '{current.move_rel or current.rel}': {e.strerror or e}."
        if problems:
            raise PatchError(message + " Rollback failed for: " + "; ".join(problems)) from e
        raise PatchError(message + " No files were changed.") from e
    return _summary(changes)


def _summary(changes: Sequence[FileChange]) -> str:
    rows: list[str] = []
    for letter, kind in (("A", "add"), ("M", "update"), ("D", "delete")):
        for change in changes:
            row = f"{letter} {change.move_rel or change.rel}"
            if change.kind == kind and row not in rows:
                rows.append(row)
    return "Success. Updated the following files:\n" + "\n".join(rows)


# ----------------------------------------------------------------------------------------- diff


def _display_lines(text: str | None) -> list[str]:
    if not text:
        return []
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    return lines[:-1] if lines[-1] == "" else lines


def unified_diff(change: FileChange, context: int = 3) -> str:
    """A git-style unified diff of one change, for the approval prompt and the transcript."""
    old, new = _display_lines(change.old_text), _display_lines(change.new_text)
    source = "/dev/null" if change.kind == "add" else f"a/{change.rel}"
    dest = "/dev/null" if change.kind == "delete" else f"b/{change.move_rel or change.rel}"
    lines = list(difflib.unified_diff(old, new, source, dest, n=context, lineterm=""))
    if not lines and source[2:] != dest[2:]:
        lines = [f"--- {source}", f"+++ {dest}"]  # a pure rename still shows both names
    return "".join(line + "\n" for line in lines)


def diff_stats(change: FileChange) -> tuple[int, int]:
    """(lines added, lines removed), counted the same way `unified_diff` shows them."""
    old, new = _display_lines(change.old_text), _display_lines(change.new_text)
    added = removed = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new).get_opcodes():
        if tag in ("replace", "delete"):
            removed += i2 - i1
        if tag in ("replace", "insert"):
            added += j2 - j1
    return added, removed


# ------------------------------------------------------------------------------------------ cli


def main() -> int:
    """`codeloop apply-patch`: the patch on stdin is applied in the current directory."""
    if sys.stdin.isatty():
        print("error: pipe a patch into `codeloop apply-patch` on stdin", file=sys.stderr)
        return 1
    text = sys.stdin.buffer.read().decode("utf-8", "surrogateescape")
    try:
        summary = apply_changes(plan_patch(text, Path(os.getcwd())))
    except PatchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(summary)
    return 0
