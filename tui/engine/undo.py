"""Snapshots of the work tree for /undo: ghost commits that leave the user's git state alone.

`take_snapshot` runs at the start of a turn and `restore_snapshot` on /undo. Both block on git and
the file system, so the engine calls them from a thread; this module never imports Textual.

A snapshot is built the way `git stash` builds its commits, but entirely through a scratch index
(`GIT_INDEX_FILE` in a temporary directory), so the user's index, HEAD, branches and stash are
never written:

1. the user's index is copied into the scratch index, mtime kept. Starting from the index rather
   than `read-tree HEAD` (codex's way) has three gains: git's stat cache lets `add -A` rehash
   only the files whose stat changed instead of every tracked file; "tracked" means what it
   means to `git status` (a staged new file is tracked even when .gitignore matches it); and the
   copy's tree records the index itself (next step). The mtime matters: git rechecks the content
   of entries not older than the index file, and a copy stamped "now" would make a racily clean
   entry look safe. Skip-worktree entries of a sparse checkout stay as they are.
2. `write-tree` on the copy gives the index's tree, kept as the commit "codeloop snapshot index"
   (parent HEAD). A conflicted index has no tree; then nothing is recorded and restore leaves the
   index alone.
3. `add -A` brings the copy to the work tree (after clearing any assume-unchanged bit the copy
   carries, which would hide edits from it): modified and new files, deletions, all honouring
   .gitignore, .git/info/exclude and core.excludesFile. Untracked files larger than the limit
   are kept out with `:(exclude,literal)` pathspecs, so they are never hashed into the object
   database at all (adding them and then `rm --cached` would write every big blob each turn).
4. `write-tree`, then `commit-tree` "codeloop snapshot" with parents HEAD (when born) and the
   index commit, named in an `Index-Commit:` trailer; `update-ref` keeps it from gc under
   refs/codeloop/snapshots/<session>/<seq>, a namespace no porcelain command shows or moves.

Restoring computes the work tree's tree again the same way and lets `git diff-tree` say what
differs. Files the snapshot has are written back by `checkout-index` from a scratch index holding
the snapshot's tree (exact bytes, modes and symlinks, filters and all); files it lacks are
deleted, with any directory left empty. Left alone: ignored files, untracked files over the limit
(skipped ones and new ones alike: nothing could bring them back), nested repositories, and a
directory that stands where the snapshot has a file (it still holds ignored files). Empty
directories are not in git, so one that existed before the snapshot goes if it empties.

HEAD is never moved, not even when the agent committed since. The user's index is rewritten
only where it would otherwise contradict the restore: for each path restored, its entry is put
back as recorded in step 2, which undoes the agent's `git add`/`git rm` on those paths and keeps
`git status` as it was. Other entries, and the index file itself when nothing needs fixing, are
untouched.

Names are decoded with `os.fsdecode`, so they round-trip to the file system; `describe_restore`
makes any undecodable byte printable. Git failures raise `git.GitCommandError`.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import git

from tui.safety.git_hardening import hardened_git

DEFAULT_MAX_UNTRACKED_BYTES = 10 << 20
SNAPSHOT_REFS = "refs/codeloop/snapshots"
SNAPSHOT_MESSAGE = "codeloop snapshot"
INDEX_MESSAGE = "codeloop snapshot index"
_INDEX_TRAILER = "Index-Commit"

# Raw bytes and no stripping: names need not be UTF-8, and -z output ends in a NUL.
_BYTES: dict[str, Any] = {"stdout_as_string": False, "strip_newline_in_stdout": False}

# A fixed identity: commit-tree must not fail for a user who never configured one.
_IDENTITY = {
    "GIT_AUTHOR_NAME": "codeloop",
    "GIT_AUTHOR_EMAIL": "codeloop@localhost",
    "GIT_COMMITTER_NAME": "codeloop",
    "GIT_COMMITTER_EMAIL": "codeloop@localhost",
}

_GITLINK = b"160000"  # a submodule or a nested repository: its content is not ours to touch
_SESSION_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
_LISTED_PATHS = 50  # how many paths the note to the model names before summing up the rest


@dataclass(frozen=True)
class Snapshot:
    sha: str  # the "codeloop snapshot" commit, on no branch
    ref: str  # refs/codeloop/snapshots/<session-id>/<n>, which keeps it from gc
    repo_root: Path
    skipped: list[str]  # untracked files left out for their size, relative to repo_root


def take_snapshot(
    cwd: Path,
    *,
    session_id: str,
    seq: int,
    max_untracked_bytes: int = DEFAULT_MAX_UNTRACKED_BYTES,
) -> Snapshot | None:
    """Record the work tree holding `cwd` as a commit, or return None outside a work tree.

    The snapshot covers the whole work tree, whichever subdirectory `cwd` names.
    """
    if not _SESSION_ID.fullmatch(session_id) or ".." in session_id or session_id.endswith(".lock"):
        raise ValueError(f"session id {session_id!r} cannot be part of a ref name")
    repo = _Repo.find(cwd)
    if repo is None:
        return None
    head = repo.head()
    parents = [head] if head else []
    with tempfile.TemporaryDirectory(prefix="codeloop-snapshot-") as scratch:
        env = repo.scratch_index(Path(scratch))
        try:
            index_tree: str | None = repo.text("write-tree", env=env)
        except git.GitCommandError:
            index_tree = None  # unmerged entries: there is no tree to record
        tree, skipped = repo.worktree_tree(env, Path(scratch), max_untracked_bytes)
    message = SNAPSHOT_MESSAGE
    if index_tree is not None:
        index_commit = repo.commit(index_tree, parents, INDEX_MESSAGE)
        parents = [*parents, index_commit]
        message += f"\n\n{_INDEX_TRAILER}: {index_commit}\n"
    sha = repo.commit(tree, parents, message)
    ref = f"{SNAPSHOT_REFS}/{session_id}/{seq}"
    repo.text("update-ref", "-m", SNAPSHOT_MESSAGE, ref, sha)
    return Snapshot(sha=sha, ref=ref, repo_root=repo.top, skipped=skipped)


def restore_snapshot(
    snap: Snapshot, *, max_untracked_bytes: int = DEFAULT_MAX_UNTRACKED_BYTES
) -> list[str]:
    """Put the work tree back as `snap` recorded it; the paths changed, relative to its top.

    `max_untracked_bytes` should be the limit the snapshot was taken with: untracked files over
    it are neither hashed nor deleted.
    """
    repo = _Repo.find(snap.repo_root)
    if repo is None:
        raise ValueError(f"{snap.repo_root} is no longer a git work tree")
    keep = {os.fsencode(name) for name in snap.skipped}
    with tempfile.TemporaryDirectory(prefix="codeloop-restore-") as scratch:
        env = repo.scratch_index(Path(scratch))
        snapshot_tree, changes = _changes(repo, snap, env, Path(scratch), max_untracked_bytes)
        # Deletions first: they may empty a directory that stands where a file is to come back.
        removed = [
            name
            for old_mode, name in changes
            if old_mode == b"000000" and name not in keep and repo.remove(name)
        ]
        written = [
            name
            for old_mode, name in changes
            if old_mode != b"000000" and not repo.directory_in_the_way(name)
        ]
        if written:
            # read-tree without -m replaces the scratch index wholesale with the snapshot.
            repo.text("read-tree", snapshot_tree, env=env)
            paths_file = Path(scratch) / "paths"
            paths_file.write_bytes(b"".join(name + b"\0" for name in written))
            with paths_file.open("rb") as paths:
                repo.run("checkout-index", "-f", "-z", "--stdin", env=env, istream=paths)
    touched = sorted(removed + written)
    index_commit = repo.recorded_index(snap.sha)
    if touched and index_commit is not None:
        repo.realign_index(index_commit, set(touched))
    return [os.fsdecode(name) for name in touched]


def changed_since(snap: Snapshot, *, max_untracked_bytes: int = DEFAULT_MAX_UNTRACKED_BYTES) -> list[str]:
    """The paths `restore_snapshot(snap)` would put back or delete, changing nothing (it only
    hashes the work tree into git's object store, as a snapshot does)."""
    repo = _Repo.find(snap.repo_root)
    if repo is None:
        raise ValueError(f"{snap.repo_root} is no longer a git work tree")
    keep = {os.fsencode(name) for name in snap.skipped}
    with tempfile.TemporaryDirectory(prefix="codeloop-restore-") as scratch:
        _, changes = _changes(repo, snap, repo.scratch_index(Path(scratch)), Path(scratch), max_untracked_bytes)
    return sorted(os.fsdecode(name) for old_mode, name in changes if not (old_mode == b"000000" and name in keep))


def _changes(
    repo: _Repo, snap: Snapshot, env: dict[str, str], scratch: Path, limit: int
) -> tuple[str, list[tuple[bytes, bytes]]]:
    """The snapshot's tree, and (mode in the snapshot, path) of each file the work tree has
    otherwise; nested repositories left out."""
    snapshot_tree = repo.text("rev-parse", "--verify", f"{snap.sha}^{{tree}}")
    current, _ = repo.worktree_tree(env, scratch, limit)
    changes = [
        (old_mode, name)
        for old_mode, new_mode, name in repo.tree_changes(snapshot_tree, current)
        if _GITLINK not in (old_mode, new_mode)
    ]
    return snapshot_tree, changes


def describe_restore(paths: list[str]) -> str:
    """The note appended to the conversation after /undo, telling the model what changed."""
    if not paths:
        return (
            "<undo>\nThe user undid the previous turn. The files already matched the snapshot "
            "taken before it, so nothing changed.\n</undo>"
        )
    shown = [_printable(path) for path in paths[:_LISTED_PATHS]]
    if len(paths) > len(shown):
        shown.append(f"... and {len(paths) - len(shown)} more")
    noun = "file" if len(paths) == 1 else "files"
    listing = "\n".join(f"- {line}" for line in shown)
    return (
        "<undo>\nThe user undid the previous turn: the work tree is back to the snapshot taken "
        f"before it, and edits made since are gone. Restored {len(paths)} {noun}:\n{listing}\n"
        "Read a file again before editing it.\n</undo>"
    )


class _Repo:
    """One work tree, driven through gitpython from its top directory."""

    def __init__(self, top: Path, index: Path) -> None:
        self.top = top
        self.index = index  # the user's index file, which only `realign_index` ever writes
        self.git = hardened_git(top)
        # --no-optional-locks: reading the user's index must not refresh and rewrite it.
        # core.safecrlf=false: `add` must not die on an irreversible line-ending conversion.
        self.git.set_persistent_git_options(
            no_optional_locks=True, c=["core.safecrlf=false", "advice.addEmbeddedRepo=false"]
        )

    @classmethod
    def find(cls, cwd: Path) -> _Repo | None:
        """The work tree holding `cwd`, as git finds it (worktrees, ceilings, safe.directory)."""
        if not cwd.is_dir():
            return None
        try:
            out = hardened_git(cwd).rev_parse("--show-toplevel", "--git-path", "index", **_BYTES)
        except git.GitCommandError:
            return None  # not a repository, a bare one, or the inside of .git
        top_raw, index_raw = out.rstrip(b"\n").split(b"\n")
        top = Path(os.fsdecode(top_raw))
        # --git-path answers relative to where rev-parse ran (or absolute, for GIT_INDEX_FILE).
        return cls(top, cwd / os.fsdecode(index_raw))

    def run(self, command: str, *args: str, **kwargs: Any) -> bytes:
        out: bytes = getattr(self.git, command.replace("-", "_"))(*args, **kwargs, **_BYTES)
        return out

    def text(self, command: str, *args: str, **kwargs: Any) -> str:
        return self.run(command, *args, **kwargs).decode().strip()

    def head(self) -> str | None:
        try:
            return self.text("rev-parse", "--verify", "--quiet", "HEAD^{commit}")
        except git.GitCommandError:
            return None  # an unborn branch

    def scratch_index(self, scratch: Path) -> dict[str, str]:
        """An environment whose index is a copy of the user's, in `scratch`."""
        copy = scratch / "index"
        if self.index.is_file():
            shutil.copy2(self.index, copy)  # copy2 keeps the mtime: see the module docstring
        # GIT_LITERAL_PATHSPECS=1 in the user's environment would disable the exclude magic.
        return {"GIT_INDEX_FILE": str(copy), "GIT_LITERAL_PATHSPECS": "0"}

    def worktree_tree(
        self, env: dict[str, str], scratch: Path, limit: int
    ) -> tuple[str, list[str]]:
        """Bring the scratch index up to the work tree; its tree, and the big files left out."""
        # One listing of tracked and untracked files, tagged: `?` untracked, lowercase for
        # entries marked assume-unchanged, whose edits `add` would not look for. Tracked ones
        # come as `TAG MODE OID STAGE\tPATH` (-s), which names the submodules.
        listed = self.run(
            "ls-files", "-v", "-s", "-z", "--cached", "--others", "--exclude-standard", env=env
        )
        big: list[bytes] = []
        assumed: list[bytes] = []
        gitlinks: list[bytes] = []
        for entry in listed.split(b"\0"):
            tag, raw = entry[:1], entry[2:]
            if tag != b"?" and b"\t" in raw:
                info, _, raw = raw.partition(b"\t")
                if info.startswith(_GITLINK):
                    # `add` would run `git status` inside it, with the submodule's own config
                    # (its clean filters, which git_hardening cannot name): left as indexed.
                    gitlinks.append(raw)
            if tag.islower():
                assumed.append(raw)
            elif tag == b"?":
                try:
                    found = os.lstat(self.top / os.fsdecode(raw))
                except OSError:
                    continue  # gone since it was listed; `add` will not see it either
                if stat.S_ISREG(found.st_mode) and found.st_size > limit:
                    big.append(raw)
        if assumed:
            paths = scratch / "assumed"
            paths.write_bytes(b"".join(raw + b"\0" for raw in assumed))
            with paths.open("rb") as stdin:
                self.run(
                    "update-index", "--no-assume-unchanged", "-z", "--stdin", env=env, istream=stdin
                )
        if big or gitlinks:
            spec = scratch / "pathspec"
            spec.write_bytes(b".\0" + b"".join(b":(exclude,literal)" + raw + b"\0" for raw in big + gitlinks))
            self.run("add", "-A", f"--pathspec-from-file={spec}", "--pathspec-file-nul", env=env)
        else:
            self.run("add", "-A", env=env)
        return self.text("write-tree", env=env), [os.fsdecode(raw) for raw in big]

    def commit(self, tree: str, parents: list[str], message: str) -> str:
        args = [arg for parent in parents for arg in ("-p", parent)]
        return self.text("commit-tree", tree, *args, "-m", message, env=_IDENTITY)

    def tree_changes(self, old: str, new: str) -> list[tuple[bytes, bytes, bytes]]:
        """(old mode, new mode, path) for each file that differs; 000000 where it is absent."""
        out = self.run("diff-tree", "-r", "-z", "--raw", "--no-renames", old, new)
        fields = out.split(b"\0")
        return [
            (meta[1:7], meta[8:14], name)
            for meta, name in zip(fields[0:-1:2], fields[1::2], strict=True)
        ]

    def remove(self, name: bytes) -> bool:
        """Delete a file created since the snapshot, and the directories it leaves empty."""
        path = self.top / os.fsdecode(name)
        try:
            if stat.S_ISDIR(path.lstat().st_mode):
                return False
            path.unlink()
        except FileNotFoundError:
            return False
        parent = path.parent
        while parent != self.top:
            try:
                parent.rmdir()
            except OSError:
                break  # not empty: ignored or untracked files still live there
            parent = parent.parent
        return True

    def directory_in_the_way(self, name: bytes) -> bool:
        # checkout-index -f would delete the whole directory, ignored files included.
        try:
            return stat.S_ISDIR((self.top / os.fsdecode(name)).lstat().st_mode)
        except OSError:
            return False

    def recorded_index(self, sha: str) -> str | None:
        message = self.run("cat-file", "commit", sha).split(b"\n\n", 1)[-1].decode()
        found = re.search(rf"^{_INDEX_TRAILER}: ([0-9a-f]+)$", message, re.MULTILINE)
        return found[1] if found else None

    def realign_index(self, index_commit: str, touched: set[bytes]) -> None:
        """Put the user's entries for `touched` back as they were when the snapshot was taken."""
        # Compares the recorded tree (src) with the user's index (dst) without reading the work
        # tree, so only entries the agent's git commands changed show up.
        out = self.run("diff-index", "--cached", "-z", "--raw", "--no-renames", index_commit)
        fields = out.split(b"\0")
        lines = b""
        for meta, name in zip(fields[0:-1:2], fields[1::2], strict=True):
            if name in touched:
                mode, sha = meta[1:7], meta.split(b" ")[2]
                # Mode 0 removes the entry (and any conflict stages); sha is then all zeros.
                lines += (b"0" if mode == b"000000" else mode) + b" " + sha + b"\t" + name + b"\0"
        if not lines:
            return  # the common case: the user's index file is not rewritten at all
        with tempfile.TemporaryFile() as info:
            info.write(lines)
            info.seek(0)
            self.run("update-index", "-z", "--index-info", istream=info)


def _printable(name: str) -> str:
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
