"""The process limit of sandboxed commands: a pids cgroup that bwrap and its children join.

Why a cgroup: a fork bomb in the sandbox takes the host's pids with it, and RLIMIT_NPROC does not
stop root (the kernel exempts uid 0, also when a user namespace maps uid 0 inside to it), which is
how codeloop often runs in containers. A cgroup's `pids.max` holds for everyone. Measured on the
development machine (root in a container, kernel 6.18): cgroup v1 with the pids controller mounted
read-write at /sys/fs/cgroup/pids, so creating a child cgroup and joining it works; cgroup v2 is
used the same way where it offers `pids` in `cgroup.controllers`.

One cgroup per codeloop process, `codeloop-<pid>` under our own cgroup, with
`pids.max` = the configured limit (`sandbox_process_limit`, default 1024): it bounds every
sandboxed command running at once together. Inside the sandbox /sys is read-only and capabilities
are gone, so a command cannot leave it. It is removed at exit when empty; the next codeloop
sweeps away any that a dead one left behind (an exit through os._exit skips atexit).

Cost (SECURITY.md has the figures): the join is a 0.2 ms write, but bwrap runs 6-10 ms slower in
a cgroup v1 hierarchy on the loaded development machine; `sandbox_process_limit = 0` skips it.

Where no cgroup can be had, a non-root codeloop sets RLIMIT_NPROC instead (it counts all of the
user's processes, so it is looser); root without a cgroup runs commands without a process limit,
and `problem()` says so.
"""

from __future__ import annotations

import atexit
import functools
import os
from pathlib import Path

DEFAULT_PROCESS_LIMIT = 1024


def cgroup_procs_file(limit: int) -> Path | None:
    """The `cgroup.procs` to write a launcher's pid to, for a cgroup holding at most `limit`
    processes; None when this machine offers none to us."""
    folder = _our_cgroup()
    if folder is None:
        return None
    try:
        current = (folder / "pids.max").read_text().strip()
        if current != str(limit):
            (folder / "pids.max").write_text(str(limit))
    except OSError:
        return None
    return folder / "cgroup.procs"


def problem() -> str | None:
    """None when sandboxed commands get a process limit here, else why not."""
    if _our_cgroup() is not None or os.geteuid() != 0:
        return None
    return "no pids cgroup can be created here and RLIMIT_NPROC does not bind root: sandboxed commands run without a process limit"


@functools.cache
def _our_cgroup() -> Path | None:
    for parent in _candidate_parents():
        _sweep(parent)
        folder = parent / f"codeloop-{os.getpid()}"
        try:
            folder.mkdir(exist_ok=True)
        except OSError:
            continue
        if (folder / "pids.max").exists() and (folder / "cgroup.procs").exists():
            atexit.register(_remove, folder)
            return folder
        _remove(folder)
    return None


def _candidate_parents() -> list[Path]:
    """Where a pids cgroup could go: under our own cgroup in each hierarchy that has the controller."""
    try:
        mountinfo = Path("/proc/self/mountinfo").read_text()
        membership = Path("/proc/self/cgroup").read_text()
    except OSError:
        return []
    own: dict[str, str] = {}
    for line in membership.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            own[parts[1]] = parts[2]
    parents: list[Path] = []
    for line in mountinfo.splitlines():
        fields = line.split()
        if " - " not in line:
            continue
        after = line.split(" - ", 1)[1].split()
        fstype, options = after[0], after[2] if len(after) > 2 else ""
        mount_point, root = Path(fields[4]), fields[3]
        if fstype == "cgroup" and "pids" in options.split(","):
            relative = own.get("pids")
        elif fstype == "cgroup2":
            relative = own.get("")
            if not _v2_offers_pids(mount_point, relative, root):
                continue
        else:
            continue
        if relative is None:
            continue
        parents.append(mount_point / os.path.relpath(relative, root) if relative.startswith(root) else mount_point)
    return parents


def _v2_offers_pids(mount_point: Path, relative: str | None, root: str) -> bool:
    if relative is None or not relative.startswith(root):
        return False
    folder = mount_point / os.path.relpath(relative, root)
    try:
        if "pids" not in (folder / "cgroup.controllers").read_text().split():
            return False
        if "pids" in (folder / "cgroup.subtree_control").read_text().split():
            return True
        # Enabling it fails where our cgroup holds processes (cgroup v2's no-internal-process rule).
        (folder / "cgroup.subtree_control").write_text("+pids")
        return True
    except OSError:
        return False


def _sweep(parent: Path) -> None:
    """Remove the cgroups of codeloop processes that are gone (one that exits through os._exit, or
    whose last sandbox was still dying at exit, leaves its empty cgroup behind). rmdir refuses a
    cgroup that still holds processes, so a live one is never disturbed."""
    try:
        leftovers = [entry for entry in parent.iterdir() if entry.name.startswith("codeloop-")]
    except OSError:
        return
    for folder in leftovers:
        pid = folder.name.removeprefix("codeloop-")
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            _remove(folder)


def _remove(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass  # still has processes (they die with their sandbox) or already gone


__all__ = ["DEFAULT_PROCESS_LIMIT", "cgroup_procs_file", "problem"]
