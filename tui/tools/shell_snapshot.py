"""Shell snapshots: the user's login shell set-up, captured once and replayed into each `bash -lc`.

Models wrap their commands as `["bash", "-lc", script]` so they run with the user's usual PATH
and shell functions (pyenv, nvm, ...). A login shell re-reads the profile every time, and real
profiles are slow: `pyenv init` alone costs ~110 ms a call on the machines this was measured on.
So, as Codex does, the profile runs once per session: what it exported (the same environment
policy applied, so a secret the profile exports is not handed to commands) and the functions it
defined are written as a script, and each later `bash -lc SCRIPT` runs as `bash -c SNAPSHOT;SCRIPT`
under the same sandbox. Aliases are not kept: a non-interactive `bash -lc` does not expand them
either. When capturing fails (a profile that exits, hangs or breaks the script), commands run as
the model asked.

What a profile sets can be private, so the snapshot is built with the same rules as the command
environment: secret-named exports are dropped and URL passwords stripped
(tui/safety/secret_names.py), a function whose body holds one of those values (or
credential-shaped text) is left out, and the values learned this way are given to the redactor,
so a command that prints them another way (`cat ~/.profile`) shows `[REDACTED]`.

The snapshot is never in an argv, where any process of the machine can read it
(`/proc/PID/cmdline`), nor in a file: it sits in a sealed memfd of ours that each command gets
as an inherited descriptor and sources (`. /dev/fd/N`), closing it at once. It is freed when the
session ends (`SnapshotCache.close`) or the process exits.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import re
import shlex
import subprocess
import tempfile
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tui.safety.redact import Redactor, default_redactor, remember_secret
from tui.safety.secret_names import is_secret_name, url_secrets
from tui.tools.process import kill_group

MARK = "__codeloop_snapshot_5f1d__"
CAPTURE = f"printf '\\0%s\\0' {MARK}; env -0; printf '\\0%s\\0' {MARK}; declare -f"
CAPTURE_TIMEOUT_S = 10.0
# A bound on what each command sources; real profiles' snapshots are a few KiB.
MAX_SNAPSHOT_BYTES = 1024 * 1024
# Variables a shell sets for itself; replaying them would be wrong (SHLVL, PWD) or pointless.
SHELL_OWN = frozenset({"_", "PWD", "OLDPWD", "SHLVL", "PS1", "PS2", "PS4", "BASHOPTS", "SHELLOPTS", "COLUMNS", "LINES"})

Runner = Callable[[list[str], Sequence[int]], Awaitable["tuple[int, str] | None"]]
# `declare -f` prints each function as `name () \n{ \n...\n}` with the closing brace alone.
_FD_FLOOR = 64
_FUNCTION_END = re.compile(r"(?m)^}[ \t]*$\n?")


@dataclass(frozen=True)
class Snapshot:
    """A captured snapshot: its text, and the sealed memfd commands source it from."""

    script: str
    fd: int

    @property
    def pass_fds(self) -> tuple[int, ...]:
        return (self.fd,)


def _sealed_memfd(script: str) -> int:
    fd = os.memfd_create("codeloop-shell-snapshot", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.write(fd, script.encode("utf-8", "surrogateescape"))
    # Sealed: no command (even one run outside the sandbox) can change what later ones source.
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL)
    # A high number: the sandbox's launcher opens the seccomp filter as fd 3 over whatever is there.
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, _FD_FLOOR)
    os.close(fd)
    return high


def run_to_completion(
    argv: list[str], cwd: Path, env: dict[str, str], timeout_s: float, pass_fds: Sequence[int] = ()
) -> tuple[int, str] | None:
    """Blocking (call it in a thread): exit code and output, or None if it hung past timeout_s.

    A login shell is never killed half-way for our convenience: profiles take locks and write
    files (`pyenv rehash` leaves a lock behind that makes every later login shell on the machine
    wait 60 s). So an interrupted turn or an exiting codeloop lets it finish (the thread waits;
    the output goes to a file, so there is no pipe to break); only one that hangs is killed."""
    with tempfile.TemporaryFile() as out:
        try:
            proc = subprocess.Popen(
                argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True, pass_fds=tuple(pass_fds),
            )  # fmt: skip
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


def source_line(fd: int) -> str:
    """Bash that runs the snapshot held by descriptor `fd`, then closes it: the command and
    whatever it starts do not keep it."""
    return f". /dev/fd/{fd}\nexec {fd}<&-\n"


def with_snapshot(argv: Sequence[str], snapshot: Snapshot) -> list[str]:
    """`bash -lc SCRIPT` → `bash -c '. /dev/fd/N; SCRIPT'` (run it with `snapshot.pass_fds`)."""
    return [argv[0], "-c", f"{source_line(snapshot.fd)}{argv[2]}"]


def profile_secrets(login_env: dict[str, str]) -> list[str]:
    """The values a profile set that commands must not see: secret-named ones, URL passwords."""
    named = [value for name, value in login_env.items() if is_secret_name(name)]
    return named + [secret for value in login_env.values() for secret in url_secrets(value)]


def public_functions(declared: str, redactor: Redactor) -> str:
    """`declare -f` output minus the functions whose text holds a secret."""
    kept: list[str] = []
    start = 0
    for end in _FUNCTION_END.finditer(declared):
        function = declared[start : end.end()]
        start = end.end()
        if redactor.redact(function) == function:
            kept.append(function)
    return "".join(kept)


def build(output: str, env: dict[str, str], policy_env: Callable[[dict[str, str]], dict[str, str]]) -> str | None:
    """The snapshot script from the capture's output; None when the output is not a capture.

    `env` is what commands get anyway; `policy_env` filters a variable set the way it was.
    Secret values the profile set are remembered by the process-wide redactor."""
    parts = output.split(f"\0{MARK}\0")
    if len(parts) != 3:
        return None
    login_env = dict(entry.split("=", 1) for entry in parts[1].split("\0") if "=" in entry)
    secrets = profile_secrets(login_env)
    for secret in secrets:
        remember_secret(secret)
    exports = [
        f"export {name}={shlex.quote(value)}"
        for name, value in sorted(policy_env(login_env).items())
        if env.get(name) != value and name not in SHELL_OWN and name.isidentifier() and not name.startswith("BASH_")
    ]
    redactor = Redactor([*secrets, *default_redactor().secrets])
    return "\n".join([*exports, public_functions(parts[2].strip() + "\n", redactor).strip()]).strip() + "\n"


class SnapshotCache:
    """One snapshot per shell and the conditions it ran under (sandbox, cwd), captured on first
    use and shared by every call after."""

    def __init__(self) -> None:
        self._tasks: dict[Hashable, asyncio.Task[Snapshot | None]] = {}

    async def get(
        self, key: Hashable, bash: str, run: Runner, env: dict[str, str], policy_env: Callable[[dict[str, str]], dict[str, str]]
    ) -> Snapshot | None:
        task = self._tasks.get(key)
        if task is None:
            task = asyncio.ensure_future(_capture(bash, run, env, policy_env))
            self._tasks[key] = task
        # shield: a call interrupted while the capture runs must not cancel it for the others.
        return await asyncio.shield(task)

    def close(self) -> None:
        """Free the snapshots (the session is over); a capture still running is left to finish."""
        for task in self._tasks.values():
            if task.done() and not task.cancelled() and task.exception() is None:
                snapshot = task.result()
                if snapshot is not None:
                    try:
                        os.close(snapshot.fd)
                    except OSError:
                        pass
        self._tasks.clear()


async def _capture(bash: str, run: Runner, env: dict[str, str], policy_env: Callable[[dict[str, str]], dict[str, str]]) -> Snapshot | None:
    result = await run([bash, "-lc", CAPTURE], ())
    if result is None or result[0] != 0:
        return None
    script = build(result[1], env, policy_env)
    if script is None or len(script.encode()) > MAX_SNAPSHOT_BYTES:
        return None
    snapshot = Snapshot(script, _sealed_memfd(script))
    # The functions must parse and the exports must run before any command depends on them.
    check = await run([bash, "-c", f"{source_line(snapshot.fd)}printf ok"], snapshot.pass_fds)
    if check is None or check[0] != 0 or not check[1].endswith("ok"):
        os.close(snapshot.fd)
        return None
    return snapshot
