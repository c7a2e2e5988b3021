"""Whether a failed sandboxed command was stopped by the sandbox (to offer a rerun outside it)."""

from __future__ import annotations

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


__all__ = ["is_sandbox_denial"]
