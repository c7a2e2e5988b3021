"""The files an `@` mention can name, and the fuzzy ranking of them.

`list_files` blocks on git or the file system, so the app calls it from a thread worker; this
module never imports Textual. Inside a git work tree the files are what git would consider
(tracked and untracked, minus what `.gitignore` ignores); elsewhere a bounded walk that skips
hidden folders and the usual build and dependency junk.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

MAX_FILES = 50_000  # beyond this a walk (or a huge monorepo's listing) is cut short
# Folders a walk outside git never enters: dependencies, caches and build output.
SKIPPED_DIRS = frozenset({
    "node_modules", "__pycache__", "venv", "env", "target", "dist", "build", "site-packages",
    "bower_components", "vendor",
})


@dataclass(frozen=True)
class FileListing:
    paths: list[str]  # relative to the folder asked about, "/"-separated
    from_git: bool
    truncated: bool


def list_files(cwd: Path, *, limit: int = MAX_FILES) -> FileListing:
    """The files under `cwd`, relative to it."""
    listed = _git_files(cwd)
    if listed is not None:
        return FileListing(listed[:limit], True, len(listed) > limit)
    return _walk(cwd, limit)


def _git_files(cwd: Path) -> list[str] | None:
    """git's view of the files under `cwd`, or None when `cwd` is not in a work tree."""
    import git  # here, in the listing thread: gitpython costs ~40 ms, not for the first frame

    from tui.safety.git_hardening import hardened_git

    runner = hardened_git(cwd)
    # --no-optional-locks: this runs while the agent may be committing (see gitdiff.py).
    runner.set_persistent_git_options(no_optional_locks=True)
    try:
        # -z: names raw, no quoting to undo. Paths come relative to cwd, limited to below it.
        present = runner.ls_files("--cached", "--others", "--exclude-standard", "-z")
        deleted = set(runner.ls_files("--deleted", "-z").split("\0"))
    except (git.CommandError, OSError):  # not a work tree, or no git at all
        return None
    # A trailing slash marks a nested repository, which git lists without looking inside.
    seen: set[str] = set()
    out = []
    for name in present.split("\0"):
        if name and not name.endswith("/") and name not in deleted and name not in seen:
            seen.add(name)  # a path with merge conflicts is listed once per stage
            out.append(name)
    return out


def _walk(cwd: Path, limit: int) -> FileListing:
    out: list[str] = []
    for top, dirs, files in os.walk(cwd):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
        rel = os.path.relpath(top, cwd)
        for name in sorted(files):
            if name.startswith("."):
                continue
            out.append(name if rel == "." else f"{rel}/{name}".replace(os.sep, "/"))
            if len(out) >= limit:
                return FileListing(out, False, True)
    return FileListing(out, False, False)


def _subsequence_span(query: str, text: str) -> tuple[int, int] | None:
    """(first, last) positions of `query`'s characters found in order in `text`, or None."""
    pos, first = -1, -1
    for ch in query:
        pos = text.find(ch, pos + 1)
        if pos < 0:
            return None
        if first < 0:
            first = pos
    return first, pos


def match_key(path: str, query: str) -> tuple[int, int, int, str] | None:
    """How well `path` matches the lower-cased `query` (smaller is better), or None.

    Best means: the query in the file name before the query only across folders; within each,
    a file name starting with it, then containing it, then spelling it out with gaps (tighter
    first); then shorter paths; then alphabetical.
    """
    low = path.lower()
    base = low[low.rfind("/") + 1 :]
    if base.startswith(query):
        tier, gaps = 0, 0
    elif query in base:
        tier, gaps = 1, 0
    elif (span := _subsequence_span(query, base)) is not None:
        tier, gaps = 2, span[1] - span[0]
    elif query in low:
        tier, gaps = 3, 0
    elif (span := _subsequence_span(query, low)) is not None:
        tier, gaps = 4, span[1] - span[0]
    else:
        return None
    return tier, gaps, len(path), path


def matching(paths: Iterable[str], query: str) -> list[str]:
    """The paths `query` matches at all (any order): a narrower query only needs to look at these."""
    q = query.lower()
    return [p for p in paths if _subsequence_span(q, p.lower()) is not None]


def rank(paths: Iterable[str], query: str, limit: int = 50) -> list[str]:
    """The `limit` best paths for `query` (letters in order, any case), best first; an empty
    query lists the shallowest files."""
    if not query:
        return heapq.nsmallest(limit, paths, key=lambda p: (p.count("/"), len(p), p))
    q = query.lower()
    keys = (k for k in (match_key(p, q) for p in paths) if k is not None)
    return [k[3] for k in heapq.nsmallest(limit, keys)]
