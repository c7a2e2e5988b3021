"""What a sandbox hides or freezes besides the writable roots' protected paths: host sockets,
credential stores (protected.py lists them), and the kernel's knobs under /proc. `wrap` puts
these mounts last, so a writable bind cannot re-expose what they hide."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path

from tui.safety import protected
from tui.safety.protected import is_within

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


# The kernel's knobs under /proc answer to uid 0 alone, not to a capability: a command running as
# (a user namespace's) root writes /proc/sys/kernel/core_pattern — a program the host kernel runs
# as root at the next crash — /proc/sysrq-trigger, or an IRQ's smp_affinity. bwrap means to cover
# /proc/sys but skips it when its own access(W_OK) check says no (measured: the writes went
# through). /proc/keys lists the host's keys the caller may view. Each mount costs every command
# time, so only these: Docker's other read-only and masked /proc paths need a capability we drop
# (/proc/bus, /proc/kcore) or only show counters (/proc/timer_list, /proc/key-users).
_PROC_READ_ONLY = ("/proc/sys", "/proc/sysrq-trigger", "/proc/irq")
_PROC_MASKED = ("/proc/keys",)


@functools.cache
def proc_walls() -> tuple[str, ...]:
    args: list[str] = []
    for path in _PROC_READ_ONLY:
        args += ["--ro-bind-try", path, path]
    for path in _PROC_MASKED:
        if os.path.isdir(path):
            args += ["--tmpfs", path, "--remount-ro", path]
        elif os.path.exists(path):
            args += ["--ro-bind", "/dev/null", path]
    return tuple(args)


@functools.lru_cache(maxsize=64)
def _credential_paths(exposed: tuple[Path, ...], key: tuple[object, ...]) -> tuple[Path, ...]:
    return tuple(protected.credential_paths(exposed))


def mask_args(cwd: Path, roots: list[Path], exposed: tuple[Path, ...]) -> list[str]:
    """Mounts hiding host sockets and credential stores. They go last so a writable bind cannot
    re-expose what they hide, and are skipped where they would hide the workspace itself.
    Credential stores config exposes stay visible, read-only."""
    keep_visible = [cwd, *roots]
    hidden_dirs = _existing(_HIDDEN_DIRS, Path.is_dir)
    hidden_sockets = _existing(_HIDDEN_SOCKETS, Path.is_socket)
    for secret in _credential_paths(exposed, protected.cache_key()):
        (hidden_dirs if secret.is_dir() else hidden_sockets).append(secret)
    agent = _ssh_agent_socket()
    if agent is not None:
        # The agent's own directory (`/tmp/ssh-XXXX`, `~/.ssh`) goes whole, unless it is a
        # top-level one (/run), $HOME, or must stay visible (a writable root or an ancestor of
        # one): then just the socket.
        folder = agent.parent
        shared = len(folder.parts) < 3 or folder == Path(os.path.expanduser("~")).resolve()
        if shared or any(is_within(p, folder) for p in keep_visible):
            hidden_sockets.append(agent)
        else:
            hidden_dirs.append(folder)
    args: list[str] = []
    for hidden in hidden_dirs:
        if not any(is_within(path, hidden) for path in keep_visible):
            args += ["--tmpfs", str(hidden)]
    for hidden in hidden_sockets:
        if not any(is_within(path, hidden) for path in keep_visible):
            args += ["--ro-bind", "/dev/null", str(hidden)]
    for path in exposed:
        resolved = path.expanduser().resolve()
        if resolved.exists() and any(is_within(resolved, root) for root in roots):
            args += ["--ro-bind", str(resolved), str(resolved)]
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



__all__ = ["mask_args", "proc_walls"]
