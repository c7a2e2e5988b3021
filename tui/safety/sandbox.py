"""Confine shell commands with bubblewrap (Linux).

The three modes follow Codex: ``read-only`` lets a command read everything and
write nothing; ``workspace-write`` adds the session's folder, ``/tmp``, ``$TMPDIR``
and configured roots as writable (never a tool call's ``workdir``: it only says
where the command starts), with every ``.git``, ``$CODELOOP_HOME`` and the shell's
startup files re-mounted read-only inside them and credential stores hidden (see
protected.py); ``danger-full-access`` runs the command as is. The seccomp filter
(seccomp.py) and the process limit (limits.py) are put in force by launch.py.

Facts this module relies on were measured on the target machine (see
``reference/sandbox-linux.md``): bwrap's later mounts override earlier ones,
so ``--ro-bind`` of ``.git`` after ``--bind`` of the workspace protects it; and
bwrap run as root keeps every capability unless told ``--cap-drop ALL``, in
which case the sandboxed command can simply ``mount -o remount,rw`` its way
out. If bwrap cannot run we refuse the sandboxed modes; we never fall back to
running unsandboxed without being told to.

Host services are kept out of reach three ways: Unix and vsock sockets cannot be
created at all (a seccomp filter, see tui/safety/seccomp.py: connecting to a
socket needs no write access, so a read-only `/` still exposes every one); the
usual socket directories are masked besides (docker, D-Bus, X11, /run/user, the
ssh-agent's); and SSH_AUTH_SOCK is unset. The host's `/tmp` stays shared and
writable, as in Codex: models routinely write a script to /tmp in one command and
run it in the next, which a fresh tmpfs per command would break, and the socket
filter already covers what a private /tmp would hide.
"""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tui.protocol import SandboxMode
from tui.safety import masks, protected
from tui.safety.denial import is_sandbox_denial
from tui.safety.launch import launch
from tui.safety.limits import DEFAULT_PROCESS_LIMIT
from tui.safety.protected import is_within

# The system bwrap is preferred over anything on PATH: Ubuntu's AppArmor
# profile only lets /usr/bin/bwrap create user namespaces, and a bwrap found in
# some user-writable directory could have been planted by an earlier command.
PREFERRED_BWRAP = Path("/usr/bin/bwrap")

_PROBE_TIMEOUT_S = 10.0

_FIX_HINT = (
    "To fix it, install bubblewrap (`apt-get install bubblewrap`) or enable "
    "unprivileged user namespaces; if codeloop already runs inside a container "
    "or VM that is itself the boundary, choose `--sandbox danger-full-access`."
)

@dataclass(frozen=True)
class SandboxPolicy:
    mode: SandboxMode
    writable_roots: tuple[Path, ...] = ()
    """Extra writable roots from config, in addition to the working directory."""
    network_access: bool = False
    codeloop_home: Path | None = None
    """codeloop's own folder (config.toml, sessions), read-only inside; None: `$CODELOOP_HOME`
    or `~/.codeloop`."""
    exposed_paths: tuple[Path, ...] = ()
    """Credential stores that stay visible (read-only) although protected.py hides them."""
    process_limit: int = DEFAULT_PROCESS_LIMIT
    """How many processes one sandboxed command may have at once (0: no limit); see limits.py."""

    def effective_writable_roots(self, cwd: Path) -> list[Path]:
        """The directories a sandboxed command started for the session in `cwd` may write to.

        Only the session's folder, config's `writable_roots`, /tmp and $TMPDIR: never where a
        tool call asked to start (its `workdir`). Paths are resolved (bwrap mounts onto real
        paths, and a symlinked duplicate would otherwise escape deduplication) and may not exist;
        `wrap` skips the missing ones. A root too big to search for git repositories is left out
        (see `refused_roots`).
        """
        return [root for root in self._candidate_roots(cwd) if not self._root_problem(root)]

    def refused_roots(self, cwd: Path) -> list[tuple[Path, str]]:
        """The roots `effective_writable_roots` left out, each with the reason."""
        return [(root, problem) for root in self._candidate_roots(cwd) if (problem := self._root_problem(root))]

    def _candidate_roots(self, cwd: Path) -> list[Path]:
        if self.mode == "danger-full-access":
            return [Path("/")]
        if self.mode == "read-only":
            return []
        candidates = [cwd, *self.writable_roots, Path("/tmp")]
        tmpdir = os.environ.get("TMPDIR")
        if tmpdir:
            candidates.append(Path(tmpdir))
        roots: list[Path] = []
        for candidate in candidates:
            resolved = candidate.expanduser().resolve()
            if resolved not in roots:
                roots.append(resolved)
        return roots

    def _is_scratch(self, root: Path) -> bool:
        """/tmp and $TMPDIR, unless config names them: shared scratch space, searched for
        repositories only `protected.SCRATCH_DEPTH` folders deep (a clone in /tmp/x or
        /tmp/x/y). On a busy machine they hold hundreds of short-lived ones further down (test
        runs), each of which would cost a mount per command (~0.5-3 ms) and could vanish between
        listing and mounting (README, SECURITY.md). Never refused as too big: a read-only /tmp
        would break every command."""
        scratch = [Path("/tmp").resolve()]
        if tmpdir := os.environ.get("TMPDIR"):
            scratch.append(Path(tmpdir).resolve())
        return root in scratch and root not in [r.expanduser().resolve() for r in self.writable_roots]

    def _root_problem(self, root: Path) -> str:
        if self.mode == "danger-full-access" or not root.is_dir() or self._is_scratch(root):
            return ""
        scan = protected.scan_git(root)
        return "" if scan.complete else scan.reason

    def read_only_subpaths(self, root: Path) -> list[Path]:
        """Paths under (or, for an enclosing repository's `.git`, above) a writable root that stay
        read-only, resolved: every `.git` found under it (under /tmp only a few levels deep, see `_is_scratch`) with a
        worktree's gitdir and common dir,
        the `.git` of repositories it lies in, `$CODELOOP_HOME`, and the home folder's startup
        files. Startup files and codeloop's home are listed even when missing, so the patch tool
        refuses to create them and `wrap`'s tripwire moves aside any a command creates."""
        paths: list[Path] = []
        nested = protected.scan_git(root, scratch=self._is_scratch(root)).found if root.is_dir() else []
        dot_gits = [*nested, *protected.ancestor_git(root)] if root.is_dir() else []
        for dot_git in dot_gits:
            paths += protected.git_metadata(dot_git)
        homes = [self.codeloop_home or protected.default_codeloop_home()]
        homes += [home / ".codeloop" for home in protected.home_folders()]
        for path in [*homes, *protected.startup_paths()]:
            if is_within(path, root):
                paths.append(path)
        unique: list[Path] = []
        for path in paths:
            resolved = path.resolve()
            if resolved not in unique:
                unique.append(resolved)
        return unique

    def protected_paths(self, cwd: Path) -> list[Path]:
        """Every path inside a writable root that stays read-only, resolved, without duplicates.

        The one list both walls use: `wrap` re-mounts these read-only, and the patch tool asks
        before writing inside one (`allows_write`). Memoised per session folder until a
        tripwire fires (it costs a few ms, and every command needs it twice)."""
        return list(_protected_paths(self, cwd.resolve(), protected.cache_key()))

    def _compute_protected_paths(self, cwd: Path) -> tuple[Path, ...]:
        # A refused root may lie inside another root (a big folder under /tmp): it is re-mounted
        # read-only like any protected path, or it would stay writable through its parent.
        protected_list: list[Path] = [root for root, _ in self.refused_roots(cwd)]
        for root in self.effective_writable_roots(cwd):
            for subpath in self.read_only_subpaths(root):
                if subpath not in protected_list:
                    protected_list.append(subpath)
        return tuple(protected_list)

    def allows_write(self, path: Path, cwd: Path) -> bool:
        """Whether a sandboxed command started for the session in `cwd` could write `path`:
        inside a writable root and outside every protected path. `path` is resolved (symlinks
        followed), so a link inside the workspace pointing out of it is judged by its target."""
        if self.mode == "danger-full-access":
            return True
        target = path.resolve()
        roots = self.effective_writable_roots(cwd.resolve())
        if not any(is_within(target, root) for root in roots):
            return False
        return not any(is_within(target, p) for p in self.protected_paths(cwd))

    def tripwire(self, cwd: Path) -> protected.Tripwire:
        """Arm before a sandboxed command of the session in `cwd`; `check()` after it."""
        if self.mode != "workspace-write":
            return protected.Tripwire([])
        return protected.Tripwire(self.protected_paths(cwd))


@functools.lru_cache(maxsize=64)
def _protected_paths(policy: SandboxPolicy, cwd: Path, key: tuple[object, ...]) -> tuple[Path, ...]:
    return policy._compute_protected_paths(cwd)


class SandboxUnavailable(RuntimeError):
    """A sandboxed mode was requested but bubblewrap cannot run here."""


def find_bwrap(path_env: str | None = None, preferred: Path = PREFERRED_BWRAP) -> Path | None:
    """Locate bwrap: the system one if present, else the first on PATH.

    Relative PATH entries are skipped (they resolve against whatever the
    current directory is, often the workspace), and entries we cannot read
    are ignored instead of raising.
    """
    if _is_executable_file(preferred):
        return preferred
    search = os.environ.get("PATH", "") if path_env is None else path_env
    for entry in search.split(os.pathsep):
        if not entry or not os.path.isabs(entry):
            continue
        candidate = Path(entry) / "bwrap"
        if _is_executable_file(candidate):
            return candidate
    return None


# Variables unset inside the sandbox whatever environment it was given.
_UNSET_VARIABLES = ("SSH_AUTH_SOCK",)


@dataclass(frozen=True)
class _Detection:
    bwrap: Path | None
    problem: str | None
    userns: bool = False
    """Whether bwrap can add a user namespace here (it empties the capability bounding set)."""


@functools.cache
def _detect() -> _Detection:
    bwrap = find_bwrap()
    if bwrap is None:
        return _Detection(None, f"bubblewrap (bwrap) was not found. {_FIX_HINT}")
    # With a user namespace first; where none can be had (Docker's default seccomp profile, some
    # AppArmor setups) without one: capabilities are still dropped, only the bounding set stays.
    failure = ""
    for userns in (True, False):
        probe = launch(bwrap, [
            "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
            *(["--unshare-user"] if userns else []),
            "--unshare-net", "--unshare-pid", "--die-with-parent", "--cap-drop", "ALL",
        ], ["/bin/true"])  # fmt: skip
        try:
            done = subprocess.run(probe, stdin=subprocess.DEVNULL, capture_output=True, timeout=_PROBE_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            return _Detection(bwrap, f"{bwrap} did not finish a trial run within {_PROBE_TIMEOUT_S:.0f} s. {_FIX_HINT}")
        except OSError as exc:
            return _Detection(bwrap, f"{bwrap} could not be started: {exc}. {_FIX_HINT}")
        if done.returncode == 0:
            return _Detection(bwrap, None, userns)
        failure = failure or done.stderr.decode("utf-8", errors="replace").strip() or f"exit code {done.returncode}"
    return _Detection(bwrap, f"{bwrap} failed a trial run: {failure}. {_FIX_HINT}")


def bwrap_problem() -> str | None:
    """None when bwrap works here, else what failed and how to fix it.

    The first call runs a trial sandbox (a few ms, up to 10 s if something is
    badly wrong) and blocks; call it once at startup, off the event loop.
    The answer is cached for the life of the process.
    """
    return _detect().problem


def clear_bwrap_cache() -> None:
    """Forget the cached probe so the next call looks for bwrap again."""
    _detect.cache_clear()


def wrap(argv: Sequence[str], policy: SandboxPolicy, cwd: Path, *, workdir: Path | None = None) -> list[str]:
    """The argv that runs `argv` under `policy` for the session in `cwd`, started in `workdir`
    (default: `cwd`).

    The writable roots come from `cwd` and the policy only: a tool call's `workdir` chooses where
    the command starts, never what it may write (a model asking to start in `~/.codeloop` must
    not make it writable). Must be spawned from a thread that outlives the command:
    `--die-with-parent` fires when the *thread* that forked bwrap exits.
    """
    if policy.mode == "danger-full-access":
        return list(argv)
    detection = _detect()
    if detection.problem is not None or detection.bwrap is None:
        raise SandboxUnavailable(detection.problem or "bubblewrap is unavailable")
    cwd = cwd.resolve()
    start_in = workdir.resolve() if workdir is not None else cwd
    roots = [root for root in policy.effective_writable_roots(cwd) if root.exists()]
    if any(is_within(detection.bwrap.resolve(), root) for root in roots):
        # A command could replace this bwrap and own every later sandbox.
        raise SandboxUnavailable(
            f"{detection.bwrap} lies inside a writable root of the sandbox; "
            f"refusing to use it. {_FIX_HINT}"
        )

    args = [
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
        *masks.proc_walls(),
        # A user namespace empties the capability bounding set (--cap-drop ALL alone leaves it
        # full when we run as root); uid 0 inside maps to our own uid, so file access is unchanged.
        *(["--unshare-user"] if detection.userns else []),
        "--unshare-pid", "--unshare-ipc",
    ]  # fmt: skip
    if not policy.network_access:
        args.append("--unshare-net")
    # --new-session stops TIOCSTI keystroke injection into our terminal;
    # --cap-drop ALL matters when we run as root (see module docstring).
    args += ["--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    for name in _UNSET_VARIABLES:
        args += ["--unsetenv", name]

    # Parents before children, so a nested root is mounted on top of its parent.
    roots.sort(key=lambda root: len(root.parts))
    for root in roots:
        args += ["--bind", str(root), str(root)]
    for subpath in policy.protected_paths(cwd):
        if not subpath.exists():
            continue
        # -try: a repository deleted between here and bwrap's start (a test's tmp dir under
        # /tmp) must not fail the command; gone, it has nothing left to protect.
        args += ["--ro-bind-try", str(subpath), str(subpath)]
    args += masks.mask_args(cwd, roots, policy.exposed_paths)
    args += ["--chdir", str(start_in)]
    return launch(detection.bwrap, args, argv, policy.process_limit)


def _is_executable_file(path: Path) -> bool:
    try:
        return path.is_file() and os.access(path, os.X_OK)
    except OSError:
        return False


__all__ = [
    "PREFERRED_BWRAP",
    "SandboxMode",
    "SandboxPolicy",
    "SandboxUnavailable",
    "bwrap_problem",
    "clear_bwrap_cache",
    "find_bwrap",
    "is_sandbox_denial",
    "wrap",
]
