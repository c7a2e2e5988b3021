"""The argv that starts bwrap with codeloop's seccomp filter and process limit in force."""

from __future__ import annotations

import fcntl
import functools
import os
import shlex
from collections.abc import Sequence
from pathlib import Path

from tui.safety import limits, seccomp


def launch(bwrap: Path, bwrap_args: list[str], argv: Sequence[str], process_limit: int = 0) -> list[str]:
    """The argv that starts bwrap with the seccomp filter and the process limit, then `argv`.

    bwrap reads a filter only from an open file descriptor, while `wrap` hands back a plain
    argv that any spawning API can run. So a shell opens the filter (a sealed memfd of ours, by
    its /proc path) as fd 3 and execs bwrap, which reads and closes it. The same shell first
    joins the process-limit cgroup (see limits.py), so bwrap and everything under it count
    against it. The shell is gone by the time bwrap runs, so `--die-with-parent` still watches
    our thread.
    """
    source = _seccomp_source(os.getpid())
    procs = limits.cgroup_procs_file(process_limit) if process_limit > 0 else None
    join = ""
    if procs is not None:
        # Fail closed: a command that cannot be limited does not run.
        join = f'echo $$ >{shlex.quote(str(procs))} || {{ echo "codeloop: cannot apply the process limit" >&2; exit 125; }}; '
    elif process_limit > 0 and os.geteuid() != 0:
        # No cgroup to be had: RLIMIT_NPROC, which counts all of the user's processes (root is exempt).
        join = f"ulimit -p {process_limit} 2>/dev/null; "
    if source is None:
        if not join:
            return [str(bwrap), *bwrap_args, "--", *argv]
        return ["/bin/sh", "-c", join + 'exec "$@"', "codeloop-sandbox", str(bwrap), *bwrap_args, "--", *argv]
    return ["/bin/sh", "-c", join + 'exec "$@" 3<"$0"', source, str(bwrap), "--seccomp", "3", *bwrap_args, "--", *argv]


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


__all__ = ["launch"]
