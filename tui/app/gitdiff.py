"""The working tree as one unified diff, for the diff pane and the status line.

`working_tree_diff` blocks on git and the file system, so the app calls it from a thread worker;
for that reason this module never imports Textual. It runs a fixed number of git processes
(four, five on an unborn branch, plus one `git config --list` that switches the repository's
programs off, see tui/safety/git_hardening.py) whatever the size of the repository: one `git diff` for every
tracked path and one `git ls-files` for the untracked ones, whose contents are then read here.

What the diff shows, in order:

- every tracked change against HEAD, staged and unstaged alike, exactly as `git diff HEAD`
  prints it (binary detection and `.gitattributes` included), but with renames switched off: a
  moved file is always a deletion plus an addition, so the text does not depend on whether the
  agent used `git mv` or `mv`, nor on the user's `diff.renames`;
- then every untracked file that `.gitignore` does not exclude, as a new-file diff in git's format
  (without the `index` line, which `git apply` does not need), or a one-line note when it is
  binary or larger than `max_untracked_bytes`.

Paths are always relative to the top of the work tree, whichever subdirectory `cwd` names.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import git

from tui.safety.git_hardening import hardened_git

# git's own heuristic (`buffer_is_binary` in xdiff-interface.c): a NUL byte among the first
# 8000 bytes makes a file binary. Using the same figure keeps an untracked file and the same file
# once tracked on the same side of the line.
BINARY_SNIFF_BYTES = 8000

# Flags that pin the format whatever the user's git config says: `diff.noprefix` and
# `diff.mnemonicPrefix` would change the `a/` `b/` prefixes, `color.ui=always` would add escapes,
# `diff.external` and textconv drivers would replace the content with their own rendering.
_DIFF_FLAGS = (
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--no-renames",
    "--src-prefix=a/",
    "--dst-prefix=b/",
)

# Raw bytes and the trailing newline kept: file contents need not be UTF-8, and a diff's last line
# is only complete with its newline.
_BYTES: dict[str, bool] = {"stdout_as_string": False, "strip_newline_in_stdout": False}

_HUNK_HEADER = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")

# Named escapes in git's C-style path quoting (quote.c); other control bytes become octal.
_C_ESCAPES = {7: "a", 8: "b", 9: "t", 10: "n", 11: "v", 12: "f", 13: "r", 34: '"', 92: "\\"}
_C_UNESCAPES = {v: k for k, v in _C_ESCAPES.items()}


class UnknownRevision(ValueError):
    """`since` names no commit of the repository (or is not a revision at all)."""


def working_tree_diff(cwd: Path, *, max_untracked_bytes: int = 1 << 20, since: str | None = None) -> str | None:
    """The work tree containing `cwd` as a unified diff against HEAD, or None outside one.

    With `since` (a branch, tag or commit, as `/review main` or `/review HEAD~2` give it), against
    the commit where the work tree's history and `since` meet (their merge base): the commits
    since then and the uncommitted changes. An unchanged tree gives the empty string. Errors
    from git other than "not a work tree" (a corrupt repository, say) propagate as
    `git.GitCommandError`; a `since` that names no commit is `UnknownRevision`.
    """
    top = _work_tree_top(cwd)
    if top is None:
        return None
    repo_git = _git(top)
    base = _head_tree(repo_git) if since is None else _merge_base(repo_git, since)
    tracked = repo_git.diff(base, *_DIFF_FLAGS, "--", **_BYTES)
    # -z keeps names raw: no quoting to undo, and newlines in names cannot split an entry.
    listed = repo_git.ls_files("--others", "--exclude-standard", "-z", **_BYTES)
    parts = [tracked.decode("utf-8", "replace")]
    for raw in listed.split(b"\0"):
        # A trailing slash marks a nested repository, which git lists without looking inside.
        if raw and not raw.endswith(b"/"):
            parts.append(_untracked_diff(top, raw, max_untracked_bytes))
    return "".join(parts)


def diff_summary(text: str) -> list[tuple[str, int, int]]:
    """(path, lines added, lines removed) for each file of a diff, in the order they appear.

    Binary files, skipped files and mode-only changes count as (path, 0, 0). Line counts come
    from the hunk headers' lengths, so a removed line reading `--- x` is never taken for a
    file header.
    """
    summary: list[tuple[str, int, int]] = []
    path: str | None = None
    added = removed = 0
    old_left = new_left = 0  # lines still to come in the current hunk

    def close() -> None:
        if path is not None:
            summary.append((path, added, removed))

    for line in text.split("\n"):
        if old_left > 0 or new_left > 0:
            tag = line[:1]
            if tag in (" ", ""):
                old_left, new_left = old_left - 1, new_left - 1
            elif tag == "-":
                old_left, removed = old_left - 1, removed + 1
            elif tag == "+":
                new_left, added = new_left - 1, added + 1
            continue  # `\ No newline at end of file` and the like
        if line.startswith("diff --git "):
            close()
            path, added, removed = _path_from_header(line[len("diff --git ") :]), 0, 0
        elif line.startswith("+++ ") and path is not None:
            name = _unquote(line[4:].rstrip("\t"))
            if name != "/dev/null":
                path = name[2:]
        elif line.startswith("@@ ") and path is not None:
            match = _HUNK_HEADER.match(line)
            if match:
                old_left = int(match[1]) if match[1] is not None else 1
                new_left = int(match[2]) if match[2] is not None else 1
        elif line.startswith("# skipped "):
            close()
            name, _, _why = line[len("# skipped ") :].rpartition(": ")
            summary.append((_unquote(name), 0, 0))
            path = None
    close()
    return summary


def _git(directory: Path) -> git.Git:
    # Hardened: the repository's fsmonitor, filters, hooks and pagers run nothing (see
    # tui/safety/git_hardening.py); --no-ext-diff --no-textconv above cover the diff programs.
    command: git.Git = hardened_git(directory)
    # --no-optional-locks: this runs in the background while the agent may be committing, and
    # the index refresh `git diff` does by default would take `index.lock` from under it.
    # core.quotePath=false: non-ASCII names stay readable instead of becoming octal escapes.
    command.set_persistent_git_options(no_optional_locks=True, c="core.quotePath=false")
    return command


def _work_tree_top(cwd: Path) -> Path | None:
    """The top of the work tree holding `cwd`, found by git itself.

    Asking git (rather than walking up to a `.git`) honours everything it honours:
    GIT_CEILING_DIRECTORIES, `safe.directory`, `.git` files of worktrees and submodules, and
    the rule that the inside of `.git` and bare repositories are no work tree.
    """
    if not cwd.is_dir():
        return None
    try:
        out = _git(cwd).rev_parse("--show-toplevel", **_BYTES)
    except git.GitCommandError:
        return None
    return Path(os.fsdecode(out.rstrip(b"\n")))


def _head_tree(repo_git: git.Git) -> str:
    """What to diff against: HEAD, or on an unborn branch the empty tree."""
    try:
        repo_git.rev_parse("--verify", "--quiet", "HEAD^{commit}")
        return "HEAD"
    except git.GitCommandError:
        # Hashed, not hard-coded, because the empty tree's id differs in SHA-256 repositories.
        empty: str = repo_git.hash_object("-t", "tree", "--stdin", istream=subprocess.DEVNULL)
        return empty.strip()


def _merge_base(repo_git: git.Git, since: str) -> str:
    # Never an option: `--output=FILE` as a "branch" would have git write a file. Checked here
    # and told to git (--end-of-options) as well.
    if not since or since.startswith("-") or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in since):
        raise UnknownRevision(f"{since!r} is not a branch or commit name")
    try:
        commit: str = repo_git.rev_parse("--verify", "--quiet", "--end-of-options", f"{since}^{{commit}}").strip()
    except git.GitCommandError:
        raise UnknownRevision(f"{since!r} names no commit in this repository") from None
    try:
        merged: str = repo_git.merge_base(commit, "HEAD").strip()
        return merged or commit
    except git.GitCommandError:
        return commit  # unrelated histories, or an unborn HEAD: the commit itself


def _untracked_diff(top: Path, raw: bytes, limit: int) -> str:
    """One untracked file as git would show it once added, or a note in its place."""
    name = raw.decode("utf-8", "replace")
    path = top / os.fsdecode(raw)
    try:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            # git stores a symlink as a blob holding its target, with no final newline.
            return _new_file(name, "120000", os.readlink(os.fsencode(path)))
        if not stat.S_ISREG(info.st_mode):
            return ""
        if info.st_size > limit:
            return _skipped(name, f"{info.st_size} bytes")
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        return ""  # deleted since ls-files listed it: the agent is still at work
    except OSError:
        return _skipped(name, "unreadable")
    if len(data) > limit:  # it grew since lstat; what was read is a lower bound
        return _skipped(name, f"{len(data)} bytes")
    mode = "100755" if info.st_mode & stat.S_IXUSR else "100644"
    return _new_file(name, mode, data)


def _skipped(name: str, why: str) -> str:
    # A comment line, which `git apply` passes over as it does any text between file diffs.
    return f"# skipped {_quote(name)}: {why}\n"


def _new_file(name: str, mode: str, data: bytes) -> str:
    a_name, b_name = _quote("a/" + name), _quote("b/" + name)
    head = f"diff --git {a_name} {b_name}\nnew file mode {mode}\n"
    if not data:
        return head  # git prints no hunk, not even ---/+++, for an empty file
    if b"\0" in data[:BINARY_SNIFF_BYTES]:
        return f"{head}Binary files /dev/null and {b_name} differ\n"
    lines = data.decode("utf-8", "replace").split("\n")
    complete = lines[-1] == ""
    if complete:
        lines.pop()
    # git ends a `+++` label with a tab when the name has a space, so the name's end is unambiguous.
    tab = "\t" if " " in name else ""
    count = "" if len(lines) == 1 else f",{len(lines)}"
    body = "".join(f"+{line}\n" for line in lines)
    tail = "" if complete else "\\ No newline at end of file\n"
    return f"{head}--- /dev/null\n+++ {b_name}{tab}\n@@ -0,0 +1{count} @@\n{body}{tail}"


def _quote(name: str) -> str:
    """`name` as git writes it in diff headers with core.quotePath=false."""
    if not any(ord(c) < 32 or c in '"\\\x7f' for c in name):
        return name
    out = []
    for char in name:
        code = ord(char)
        if code in _C_ESCAPES:
            out.append("\\" + _C_ESCAPES[code])
        elif code < 32 or code == 127:
            out.append(f"\\{code:03o}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _unquote(name: str) -> str:
    """Undo `_quote` (and git's octal escapes of UTF-8 bytes when core.quotePath is on)."""
    if len(name) < 2 or not (name.startswith('"') and name.endswith('"')):
        return name
    out = bytearray()
    body, i = name[1:-1], 0
    while i < len(body):
        char = body[i]
        if char != "\\" or i + 1 == len(body):
            out += char.encode("utf-8")
            i += 1
        elif body[i + 1] in _C_UNESCAPES:
            out.append(_C_UNESCAPES[body[i + 1]])
            i += 2
        else:
            out.append(int(body[i + 1 : i + 4], 8) & 0xFF)
            i += 4
    return out.decode("utf-8", "replace")


def _path_from_header(rest: str) -> str:
    """The path in what follows `diff --git `: `a/P b/P`, either half possibly quoted.

    Without renames both halves name the same path, which settles where a name with spaces splits.
    """
    if rest.startswith('"'):
        end = _closing_quote(rest)
        return _unquote(rest[: end + 1])[2:]
    half = (len(rest) - 5) // 2  # len("a/") + len(" b/") == 5
    if rest[2 + half :] == " b/" + rest[2 : 2 + half]:
        return rest[2 : 2 + half]
    return rest[2:].partition(" b/")[0]


def _closing_quote(text: str) -> int:
    i = 1
    while i < len(text) and text[i] != '"':
        i += 2 if text[i] == "\\" else 1
    return i
