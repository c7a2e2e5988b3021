"""What stays read-only or hidden inside the sandbox, and the check that nothing slipped past.

Read-only inside every writable root (bwrap re-mounts them read-only after the writable binds):

- every git repository's `.git` (a directory, or a worktree's `.git` file with its gitdir and
  common dir) found under a writable root, and the `.git` of any repository a writable root lies
  inside (codeloop started in a subfolder of a repository): hooks and config in them run outside
  the sandbox the next time anyone uses git there;
- `$CODELOOP_HOME` (its config.toml decides the approval policy and the sandbox);
- the shell's and the desktop's startup files in the home folder (`.bashrc`, `.profile`,
  `.zshenv`, fish's config, `.local/bin` on PATH, git's global config, systemd user units, ...):
  whatever is written there runs unsandboxed at the user's next login or shell.

Hidden (an empty tmpfs or /dev/null mounted over them) in every sandboxed mode, unless config
exposes them: the well-known credential stores of the home folder and the host's password hashes.

Finding nested `.git` takes a walk. It is bounded (`WALK_ENTRY_BUDGET` entries,
`WALK_TIME_BUDGET_S` seconds per root; symlinks are not followed and a `.git` is not entered) and
cached per process and root. Past the bound the walk fails closed: that root is not writable at
all (`SandboxPolicy.effective_writable_roots` leaves it out and says why).

Mounts protect only what exists when a command starts. A command can still create a protected
name that did not exist (`~/.bash_profile`), or move a protected path's parent away and put a
forged `.git` in its place. `Tripwire` catches both after the command: it records the identity
(device, inode) of every protected path and of its folder before, compares after, and moves what
appeared, or what was replaced along with its folder, aside to `NAME.codeloop-quarantine-N`,
saying so in the command's output (a file replaced in place was edited from outside: a mount
point cannot be replaced from inside). Nothing
sandboxed outlives the command (its pid namespace dies with it), so nothing can race the check
from inside. A repository the model itself creates (`git init`, `git clone`) during a session is
its own work, like any file it writes; it is protected from the next session on (codeloop's own git
calls run with repository-configured programs switched off either way).
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from tui.safety.credentials import CREDENTIAL_STORES, HOST_SECRETS, home_folders

WALK_ENTRY_BUDGET = 200_000
WALK_TIME_BUDGET_S = 3.0
# /tmp and $TMPDIR are searched only this deep (/tmp/clone/.git, /tmp/work/repo/.git): shared
# scratch space holds many short-lived repositories deeper down (test runs), each a mount per
# command. A walk past this budget protects what it found and says so; it cannot fail closed
# (a read-only /tmp would break every command).
SCRATCH_DEPTH = 2
SCRATCH_ENTRY_BUDGET = 20_000
SCRATCH_TIME_BUDGET_S = 0.25

# Relative to a home folder. Files and directories alike; a directory is protected whole.
STARTUP_FILES: tuple[str, ...] = (
    ".profile", ".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".bash_aliases",
    ".bashrc.d", ".inputrc", ".zshenv", ".zprofile", ".zshrc", ".zlogin", ".zlogout", ".zsh",
    ".oh-my-zsh", ".kshrc", ".mkshrc", ".cshrc", ".tcshrc", ".login", ".logout",
    ".config/fish", ".config/zsh", ".config/nushell", ".config/environment.d", ".pam_environment",
    ".xprofile", ".xsessionrc", ".xinitrc", ".xsession", ".config/autostart", ".config/systemd",
    ".gitconfig", ".config/git", ".local/bin", ".ssh/rc", ".ssh/authorized_keys", ".ssh/config",
    ".vimrc", ".vim", ".config/nvim", ".emacs", ".emacs.d", ".pythonrc", ".pythonstartup",
    ".npmrc", ".yarnrc", ".curlrc", ".wgetrc", ".tmux.conf", ".config/tmux",
)  # fmt: skip

def is_within(path: Path, ancestor: Path) -> bool:
    # On strings: `ancestor in path.parents` builds a Path per level, and this runs thousands of
    # times per command (every protected path against every root).
    p, a = str(path), str(ancestor)
    return p == a or p.startswith(a if a.endswith("/") else a + "/")


def default_codeloop_home() -> Path:
    """Where codeloop keeps its config when the policy was not told (mirrors config.codeloop_home)."""
    value = os.environ.get("CODELOOP_HOME")
    if value:
        return Path(value).expanduser().resolve()
    return (Path(os.environ.get("HOME") or Path.home()) / ".codeloop").resolve()


def startup_paths() -> list[Path]:
    """Every startup file or folder name of every home folder, existing or not."""
    paths: list[Path] = []
    extra = [os.environ.get(name) for name in ("ZDOTDIR", "BASH_ENV", "ENV")]
    for home in home_folders():
        paths += [home / name for name in STARTUP_FILES]
    paths += [Path(value).resolve() for value in extra if value and os.path.isabs(value)]
    return paths


def credential_paths(exposed: tuple[Path, ...]) -> list[Path]:
    """Existing credential stores to hide, resolved (a symlinked ~/.ssh is hidden at its target)."""
    exposed_resolved = [p.expanduser().resolve() for p in exposed]
    found: list[Path] = []
    names = [home / name for home in home_folders() for name in CREDENTIAL_STORES]
    for path in [*names, *(Path(p) for p in HOST_SECRETS)]:
        try:
            if not path.exists():
                continue
            resolved = path.resolve()
        except OSError:
            continue
        if any(resolved == e or e in resolved.parents or resolved in e.parents for e in exposed_resolved):
            continue  # exposed: the parent of an exposed path stays visible too
        if resolved not in found:
            found.append(resolved)
    return found


# ---------------------------------------------------------------- git repositories


@dataclass
class GitScan:
    """The `.git` entries found under a root, and whether the walk saw the whole root."""

    found: list[Path] = field(default_factory=list)
    complete: bool = True
    reason: str = ""


_scans: dict[tuple[Path, bool], GitScan] = {}
_scans_lock = threading.Lock()


def scan_git(root: Path, *, scratch: bool = False) -> GitScan:
    """Every `.git` under `root` (resolved), walked once per process and root; for a scratch
    root (/tmp, $TMPDIR) only `SCRATCH_DEPTH` folders deep."""
    key = (root, scratch)
    with _scans_lock:
        cached = _scans.get(key)
    if cached is not None:
        return cached
    if scratch:
        scan = _walk(root, SCRATCH_ENTRY_BUDGET, SCRATCH_TIME_BUDGET_S, max_depth=SCRATCH_DEPTH)
    else:
        scan = _walk(root, WALK_ENTRY_BUDGET, WALK_TIME_BUDGET_S)
    with _scans_lock:
        _scans[key] = scan
    return scan


def forget_git_scans() -> None:
    """Walk again next time (after a tripwire fired, or when a test changed the tree)."""
    global _generation
    with _scans_lock:
        _scans.clear()
        _generation += 1


_generation = 0


def cache_key() -> tuple[object, ...]:
    """What the lists computed here depend on besides the file system: the scans' generation and
    the environment variables that name homes and roots. Callers memoise on it."""
    names = ("HOME", "CODELOOP_HOME", "ZDOTDIR", "BASH_ENV", "ENV", "TMPDIR")
    return (_generation, os.getuid(), *(os.environ.get(name) for name in names))


def _walk(root: Path, entry_budget: int, time_budget_s: float, max_depth: int | None = None) -> GitScan:
    scan = GitScan()
    deadline = time.monotonic() + time_budget_s
    seen = 0
    pending = deque([(str(root), 0)])
    while pending:
        folder, depth = pending.popleft()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    seen += 1
                    if entry.name == ".git":
                        scan.found.append(Path(entry.path))
                    elif entry.is_dir(follow_symlinks=False) and (max_depth is None or depth < max_depth):
                        pending.append((entry.path, depth + 1))
        except OSError:
            continue  # unreadable to us: unreadable to the sandboxed command as well
        if seen > entry_budget or time.monotonic() > deadline:
            scan.complete = False
            scan.reason = (
                f"{root} holds more than {entry_budget} entries (or took over {time_budget_s:.0f} s to list), "
                "too many to find every git repository in it, so it is not writable in the sandbox"
            )
            return scan
    return scan


def ancestor_git(root: Path) -> list[Path]:
    """The `.git` of every repository `root` lies inside (the nearest first)."""
    return [parent / ".git" for parent in root.parents if os.path.lexists(parent / ".git")]


def git_metadata(dot_git: Path) -> list[Path]:
    """`dot_git` itself and, for a worktree's `.git` file, its gitdir and the common dir."""
    paths = [dot_git]
    if dot_git.is_file():
        gitdir = _read_gitdir_file(dot_git)
        # Only a folder git would accept (it has HEAD): a planted `.git` file saying
        # `gitdir: /tmp` must not get /tmp mounted read-only.
        if gitdir is not None and (gitdir / "HEAD").is_file():
            paths.append(gitdir)
            commondir = _read_commondir(gitdir)
            if commondir is not None and commondir not in paths:
                paths.append(commondir)
    return paths


def _read_gitdir_file(dot_git: Path) -> Path | None:
    try:
        text = dot_git.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("gitdir:"):
            target = Path(line[len("gitdir:") :].strip())
            if not target.is_absolute():
                target = dot_git.parent / target
            return target.resolve()
    return None


def _read_commondir(gitdir: Path) -> Path | None:
    try:
        text = (gitdir / "commondir").read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    if not text:
        return None
    target = Path(text)
    if not target.is_absolute():
        target = gitdir / target
    target = target.resolve()
    return target if any((target / name).exists() for name in ("HEAD", "objects", "config")) else None


# ---------------------------------------------------------------- after the command


Identity = tuple[int, int] | None


class Tripwire:
    """Protected paths' identities before a sandboxed command; `check()` after it."""

    def __init__(self, paths: list[Path]) -> None:
        self.before: dict[Path, tuple[Identity, Identity]] = {
            path: (_identity(path), _identity(path.parent)) for path in paths
        }

    def check(self) -> list[str]:
        """Move aside whatever appeared at a protected path, or replaced one whose folder was
        swapped; say what was done.

        An existing protected path is a read-only mount point inside the sandbox: a command cannot
        unlink it or rename over it, only move a folder above it. So a path replaced *in place*
        (same folder) was changed from outside, by the user (an editor saving ~/.bashrc), and is
        left alone."""
        notes: list[str] = []
        for path, (before, parent_before) in self.before.items():
            after = _identity(path)
            if after == before or after is None:
                continue
            if before is not None and _identity(path.parent) == parent_before:
                continue
            aside = _quarantine(path)
            forget_git_scans()
            what = "appeared" if before is None else "was replaced"
            where = f"moved to {aside}" if aside else "could NOT be moved aside: check it by hand"
            notes.append(f"codeloop: {path} is protected and {what} during the command; {where}.")
        return notes


def _identity(path: Path) -> Identity:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _quarantine(path: Path) -> Path | None:
    for n in range(1, 1000):
        aside = path.with_name(f"{path.name}.codeloop-quarantine-{n}")
        if os.path.lexists(aside):
            continue
        try:
            os.rename(path, aside)
        except OSError:
            return None
        return aside
    return None


__all__ = [
    "CREDENTIAL_STORES",
    "HOST_SECRETS",
    "STARTUP_FILES",
    "GitScan",
    "Tripwire",
    "ancestor_git",
    "credential_paths",
    "default_codeloop_home",
    "forget_git_scans",
    "git_metadata",
    "home_folders",
    "is_within",
    "scan_git",
    "startup_paths",
]
