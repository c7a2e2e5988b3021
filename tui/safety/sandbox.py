"""Confine shell commands with bubblewrap (Linux).

The three modes follow Codex: ``read-only`` lets a command read everything and
write nothing; ``workspace-write`` adds the workspace, ``/tmp``, ``$TMPDIR``
and configured roots as writable, with ``.git`` re-mounted read-only inside
them; ``danger-full-access`` runs the command as is.

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

import fcntl
import functools
import os
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tui.safety import seccomp

SandboxMode = Literal["read-only", "workspace-write", "danger-full-access"]

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

# Host sockets reachable through the read-only view of `/` would let a
# sandboxed command talk to services outside it (the docker socket is root on
# the host). The seccomp filter already refuses Unix sockets; these masks are
# the second line, and hide the paths from view. Directories are covered with
# an empty tmpfs, sockets with /dev/null. Only paths that exist are masked.
_HIDDEN_DIRS: tuple[Path, ...] = (
    Path("/run/user"),
    Path("/run/dbus"),
    Path("/var/run/dbus"),
    Path("/tmp/.X11-unix"),
    Path("/tmp/.ICE-unix"),
)
_HIDDEN_SOCKETS: tuple[Path, ...] = (
    Path("/run/docker.sock"),
    Path("/var/run/docker.sock"),
    Path("/run/podman/podman.sock"),
    Path("/run/containerd/containerd.sock"),
)


@dataclass(frozen=True)
class SandboxPolicy:
    mode: SandboxMode
    writable_roots: tuple[Path, ...] = ()
    """Extra writable roots from config, in addition to the working directory."""
    network_access: bool = False

    def effective_writable_roots(self, cwd: Path) -> list[Path]:
        """The directories a sandboxed command may write to.

        Paths are resolved (bwrap mounts onto real paths, and a symlinked
        duplicate would otherwise escape deduplication) and may not exist;
        `wrap` skips the missing ones.
        """
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

    def read_only_subpaths(self, root: Path) -> list[Path]:
        """Paths under a writable root that stay read-only.

        `.git` is protected so a command cannot rewrite hooks or config that
        git later executes outside the sandbox. A worktree's `.git` is a file
        pointing at its real git dir elsewhere; that dir and the repository's
        common dir (where objects, refs and hooks live) are protected too.
        """
        dot_git = root / ".git"
        if dot_git.is_dir():
            return [dot_git.resolve()]
        if not dot_git.is_file():
            return []
        subpaths = [dot_git.resolve()]
        gitdir = _read_gitdir_file(dot_git)
        if gitdir is not None and gitdir.is_dir():
            subpaths.append(gitdir)
            commondir = _read_commondir(gitdir)
            if commondir is not None and commondir not in subpaths:
                subpaths.append(commondir)
        return subpaths

    def protected_paths(self, cwd: Path) -> list[Path]:
        """Every path inside a writable root that stays read-only, resolved, without duplicates.

        The one list both walls use: `wrap` re-mounts these read-only, and the patch tool asks
        before writing inside one (`allows_write`)."""
        protected: list[Path] = []
        for root in self.effective_writable_roots(cwd.resolve()):
            for subpath in self.read_only_subpaths(root):
                if subpath not in protected:
                    protected.append(subpath)
        return protected

    def allows_write(self, path: Path, cwd: Path) -> bool:
        """Whether a sandboxed command started for the session in `cwd` could write `path`:
        inside a writable root and outside every protected path. `path` is resolved (symlinks
        followed), so a link inside the workspace pointing out of it is judged by its target."""
        if self.mode == "danger-full-access":
            return True
        target = path.resolve()
        roots = self.effective_writable_roots(cwd.resolve())
        if not any(_is_within(target, root) for root in roots):
            return False
        return not any(_is_within(target, p) for p in self.protected_paths(cwd))


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


@functools.cache
def _detect() -> _Detection:
    bwrap = find_bwrap()
    if bwrap is None:
        return _Detection(None, f"bubblewrap (bwrap) was not found. {_FIX_HINT}")
    probe = _launch(bwrap, [
        "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
        "--unshare-net", "--unshare-pid", "--die-with-parent", "--cap-drop", "ALL",
    ], ["/bin/true"])  # fmt: skip
    try:
        done = subprocess.run(
            probe,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=_PROBE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return _Detection(bwrap, f"{bwrap} did not finish a trial run within {_PROBE_TIMEOUT_S:.0f} s. {_FIX_HINT}")
    except OSError as exc:
        return _Detection(bwrap, f"{bwrap} could not be started: {exc}. {_FIX_HINT}")
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", errors="replace").strip() or f"exit code {done.returncode}"
        return _Detection(bwrap, f"{bwrap} failed a trial run: {stderr}. {_FIX_HINT}")
    return _Detection(bwrap, None)


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


def wrap(argv: Sequence[str], policy: SandboxPolicy, cwd: Path) -> list[str]:
    """The argv that runs `argv` under `policy` with working directory `cwd`.

    Must be spawned from a thread that outlives the command:
    `--die-with-parent` fires when the *thread* that forked bwrap exits.
    """
    if policy.mode == "danger-full-access":
        return list(argv)
    detection = _detect()
    if detection.problem is not None or detection.bwrap is None:
        raise SandboxUnavailable(detection.problem or "bubblewrap is unavailable")
    cwd = cwd.resolve()
    roots = [root for root in policy.effective_writable_roots(cwd) if root.exists()]
    if any(_is_within(detection.bwrap.resolve(), root) for root in roots):
        # A command could replace this bwrap and own every later sandbox.
        raise SandboxUnavailable(
            f"{detection.bwrap} lies inside a writable root of the sandbox; "
            f"refusing to use it. {_FIX_HINT}"
        )

    args = [
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
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
        args += ["--ro-bind", str(subpath), str(subpath)]
    args += _mask_args(cwd, roots)
    args += ["--chdir", str(cwd)]
    return _launch(detection.bwrap, args, argv)


def _mask_args(cwd: Path, roots: list[Path]) -> list[str]:
    """Mounts hiding host sockets. They go last so a writable bind cannot re-expose what they
    hide, and are skipped where they would hide the workspace itself."""
    keep_visible = [cwd, *roots]
    hidden_dirs = _existing(_HIDDEN_DIRS, Path.is_dir)
    hidden_sockets = _existing(_HIDDEN_SOCKETS, Path.is_socket)
    agent = _ssh_agent_socket()
    if agent is not None:
        # The agent's own directory (`/tmp/ssh-XXXX`, `~/.ssh`) goes whole, unless it is a
        # top-level one (/run), $HOME, or must stay visible (a writable root or an ancestor of
        # one): then just the socket.
        folder = agent.parent
        shared = len(folder.parts) < 3 or folder == Path(os.path.expanduser("~")).resolve()
        if shared or any(_is_within(p, folder) for p in keep_visible):
            hidden_sockets.append(agent)
        else:
            hidden_dirs.append(folder)
    args: list[str] = []
    for hidden in hidden_dirs:
        if not any(_is_within(path, hidden) for path in keep_visible):
            args += ["--tmpfs", str(hidden)]
    for hidden in hidden_sockets:
        if not any(_is_within(path, hidden) for path in keep_visible):
            args += ["--ro-bind", "/dev/null", str(hidden)]
    return args


def _ssh_agent_socket() -> Path | None:
    value = os.environ.get("SSH_AUTH_SOCK")
    if not value or not os.path.isabs(value):
        return None
    try:
        path = Path(value).resolve()
        return path if path.is_socket() else None
    except OSError:
        return None


def _launch(bwrap: Path, bwrap_args: list[str], argv: Sequence[str]) -> list[str]:
    """The argv that starts bwrap with the seccomp filter, then `argv` inside.

    bwrap reads a filter only from an open file descriptor, while `wrap` hands back a plain
    argv that any spawning API can run. So a shell opens the filter (a sealed memfd of ours, by
    its /proc path) as fd 3 and execs bwrap, which reads and closes it. The shell is gone by
    the time bwrap runs, so `--die-with-parent` still watches our thread.
    """
    source = _seccomp_source(os.getpid())
    if source is None:
        return [str(bwrap), *bwrap_args, "--", *argv]
    return ["/bin/sh", "-c", 'exec "$@" 3<"$0"', source, str(bwrap), "--seccomp", "3", *bwrap_args, "--", *argv]


@functools.cache
def _seccomp_source(pid: int) -> str | None:
    """A path that reads as the filter; per process (`pid`), since it names our own fd."""
    program = seccomp.program()
    if program is None:
        return None
    fd = os.memfd_create("codeloop-seccomp", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.write(fd, program)
    # Sealed: nothing, not even an unsandboxed command of ours, can change what bwrap loads.
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL)
    return f"/proc/{pid}/fd/{fd}"


# Lower-cased substrings that commands print when the sandbox (rather than the
# command's own logic) stopped them. DNS failures are included because the
# sandbox's private network namespace has no resolver. Codex also matches
# "sandbox", but that word turns up in ordinary failures (a failing
# test_sandbox.py), so it is left out.
_DENIAL_MARKERS: tuple[str, ...] = (
    "operation not permitted",
    "permission denied",
    "read-only file system",
    "network is unreachable",
    "temporary failure in name resolution",
    "could not resolve host",
    "seccomp",
    "bwrap:",
)

_SIGSYS = 31  # what a seccomp kill looks like; exit codes are -signal for killed processes


def is_sandbox_denial(exit_code: int, output: str) -> bool:
    """Guess whether a failed command was stopped by the sandbox.

    A heuristic (as in Codex): used to offer a rerun outside the sandbox, never
    to decide anything on its own. A successful command is never a denial.
    """
    if exit_code == 0:
        return False
    if exit_code == -_SIGSYS:
        return True
    lowered = output.lower()
    return any(marker in lowered for marker in _DENIAL_MARKERS)


def _is_executable_file(path: Path) -> bool:
    try:
        return path.is_file() and os.access(path, os.X_OK)
    except OSError:
        return False


def _is_within(path: Path, ancestor: Path) -> bool:
    return path == ancestor or ancestor in path.parents


def _existing(paths: tuple[Path, ...], check: Callable[[Path], bool]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        try:
            resolved = path.resolve()
            ok = check(resolved)
        except OSError:
            continue
        if ok and resolved not in found:
            found.append(resolved)
    return found


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
    return target if target.is_dir() else None


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
