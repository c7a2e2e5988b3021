"""Shell snapshots: the user's login shell set-up, captured once and replayed into each `bash -lc`.

Models wrap their commands as `["bash", "-lc", script]` so they run with the user's usual PATH
and shell functions (pyenv, nvm, ...). A login shell re-reads the profile every time, and real
profiles are slow: `pyenv init` alone costs ~110 ms a call on the machines this was measured on.
So, as Codex does, the profile runs once per session: what it exported (the same environment
policy applied, so a secret the profile exports is not handed to commands) and the functions it
defined are written as a script, and each later `bash -lc SCRIPT` runs as `bash -c SNAPSHOT;SCRIPT`
under the same sandbox. Aliases are not kept: a non-interactive `bash -lc` does not expand them
either. When capturing fails (a profile that exits, hangs or breaks the script), commands run as
the model asked. Snapshots live in memory and in each command's argv, never in a file: what a
profile exports can include values nobody should find on disk later.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
import tempfile
from collections.abc import Awaitable, Callable, Hashable, Sequence
from pathlib import Path

from tui.tools.process import kill_group


MARK = "__codeloop_snapshot_5f1d__"
CAPTURE = f"printf '\\0%s\\0' {MARK}; env -0; printf '\\0%s\\0' {MARK}; declare -f"
CAPTURE_TIMEOUT_S = 10.0
# One argv string may hold at most 128 KiB on Linux (MAX_ARG_STRLEN); leave room for the script.
MAX_SNAPSHOT_BYTES = 96 * 1024
# Variables a shell sets for itself; replaying them would be wrong (SHLVL, PWD) or pointless.
SHELL_OWN = frozenset({"_", "PWD", "OLDPWD", "SHLVL", "PS1", "PS2", "PS4", "BASHOPTS", "SHELLOPTS", "COLUMNS", "LINES"})

Runner = Callable[[list[str]], Awaitable["tuple[int, str] | None"]]


def run_to_completion(argv: list[str], cwd: Path, env: dict[str, str], timeout_s: float) -> tuple[int, str] | None:
    """Blocking (call it in a thread): exit code and output, or None if it hung past timeout_s.

    A login shell is never killed half-way for our convenience: profiles take locks and write
    files (`pyenv rehash` leaves a lock behind that makes every later login shell on the machine
    wait 60 s). So an interrupted turn or an exiting codeloop lets it finish (the thread waits;
    the output goes to a file, so there is no pipe to break); only one that hangs is killed."""
    with tempfile.TemporaryFile() as out:
        try:
            proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        except OSError:
            return None
        try:
            code = proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            kill_group(proc.pid)
            proc.wait()
            return None
        out.seek(0)
        return code, out.read().decode("utf-8", "replace")


def is_login_script(argv: Sequence[str]) -> bool:
    """`bash -lc SCRIPT` exactly (any path to bash): the form a snapshot can stand in for."""
    return len(argv) == 3 and os.path.basename(argv[0]) == "bash" and argv[1] == "-lc"


def with_snapshot(argv: Sequence[str], snapshot: str) -> list[str]:
    return [argv[0], "-c", f"{snapshot}\n{argv[2]}"]


def build(output: str, env: dict[str, str], policy_env: Callable[[dict[str, str]], dict[str, str]]) -> str | None:
    """The snapshot script from the capture's output; None when the output is not a capture.

    `env` is what commands get anyway; `policy_env` filters a variable set the way it was."""
    parts = output.split(f"\0{MARK}\0")
    if len(parts) != 3:
        return None
    login_env = dict(entry.split("=", 1) for entry in parts[1].split("\0") if "=" in entry)
    exports = [
        f"export {name}={shlex.quote(value)}"
        for name, value in sorted(policy_env(login_env).items())
        if env.get(name) != value and name not in SHELL_OWN and name.isidentifier() and not name.startswith("BASH_")
    ]
    return "\n".join([*exports, parts[2].strip()]).strip() + "\n"


class SnapshotCache:
    """One snapshot per shell and the conditions it ran under (sandbox, cwd), captured on first
    use and shared by every call after."""

    def __init__(self) -> None:
        self._tasks: dict[Hashable, asyncio.Task[str | None]] = {}

    async def get(
        self, key: Hashable, bash: str, run: Runner, env: dict[str, str], policy_env: Callable[[dict[str, str]], dict[str, str]]
    ) -> str | None:
        task = self._tasks.get(key)
        if task is None:
            task = asyncio.ensure_future(_capture(bash, run, env, policy_env))
            self._tasks[key] = task
        # shield: a call interrupted while the capture runs must not cancel it for the others.
        return await asyncio.shield(task)


async def _capture(bash: str, run: Runner, env: dict[str, str], policy_env: Callable[[dict[str, str]], dict[str, str]]) -> str | None:
    result = await run([bash, "-lc", CAPTURE])
    if result is None or result[0] != 0:
        return None
    snapshot = build(result[1], env, policy_env)
    if snapshot is None or len(snapshot.encode()) > MAX_SNAPSHOT_BYTES:
        return None
    # The functions must parse and the exports must run before any command depends on them.
    check = await run([bash, "-c", f"{snapshot}\nprintf ok"])
    if check is None or check[0] != 0 or not check[1].endswith("ok"):
        return None
    return snapshot
