"""Run one command to completion and shape its output for the model.

Every command gets its own process group so that a timeout or an interrupt
can kill everything it started, not just the direct child (Codex #7985:
children survived interrupts). Captured output is bounded in memory no matter
how much the command prints.
"""

from __future__ import annotations

import asyncio
import fnmatch
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tui.config import ShellEnvironmentPolicy
from tui.protocol import ABORTED_BY_USER
from tui.safety.redact import remembered_secret_variables
from tui.safety.secret_names import is_secret_name, strip_url_secrets

TIMEOUT_EXIT_CODE = 124
"""Exit code reported for a timed-out command, as coreutils `timeout` does."""
INTERRUPTED_EXIT_CODE = 130
"""Exit code reported for a command the user interrupted, as a shell reports one stopped by Ctrl+C."""

# After the main process exits, background children may still hold the pipe
# open (`server &`); we read what they write for this long, then kill them.
_DRAIN_GRACE_S = 2.0
# Bound on waiting for a killed group to be reaped; SIGKILL is not ignorable,
# so this only guards against an uninterruptible (D-state) process.
_REAP_TIMEOUT_S = 5.0
_BYTES_PER_TOKEN = 4

_DROPPED_VARIABLES = frozenset({"SSH_AUTH_SOCK"})
# Codex's "core" set for `inherit = "core"`.
_CORE_VARIABLES = frozenset({"HOME", "LOGNAME", "PATH", "SHELL", "USER", "USERNAME", "TMPDIR", "TEMP", "TMP"})


@dataclass
class ExecResult:
    exit_code: int
    """The exit status; -N when killed by signal N; 124 when we killed it for timing out."""
    output: str
    """stdout and stderr interleaved in arrival order, decoded as UTF-8 with replacement.
    When bytes were dropped for the cap, a one-line marker stands where they were."""
    duration_s: float
    timed_out: bool = False
    truncated_bytes: int = 0
    """Bytes dropped from the middle of the output to respect `output_cap_bytes`."""
    interrupted: bool = False
    """The awaiting task was cancelled (the user interrupted): the command was killed."""


class CommandInterrupted(asyncio.CancelledError):
    """The cancellation of a running command, carrying what it printed until it was killed.

    A CancelledError still, so everything that handles cancellation goes on as before; it keeps
    its `result` only within the task that ran the command (a task boundary re-raises a bare
    CancelledError), so whoever needs the output catches it right there (shell.run_command)."""

    def __init__(self, result: ExecResult) -> None:
        super().__init__(ABORTED_BY_USER)
        self.result = result


class _HeadTailBuffer:
    """Keeps the first and last bytes of a stream, counting what falls between."""

    def __init__(self, cap_bytes: int) -> None:
        self.head_cap = max(cap_bytes, 0) // 2
        self.tail_cap = max(cap_bytes, 0) - self.head_cap
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.head_cap - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if not chunk or self.tail_cap == 0:
            return
        self.tail += chunk
        # Trimming only once the tail is twice its cap keeps the copying
        # amortised linear while memory stays within 3x the cap.
        if len(self.tail) > 2 * self.tail_cap:
            del self.tail[: len(self.tail) - self.tail_cap]

    @property
    def dropped(self) -> int:
        return self.total - len(self.head) - min(len(self.tail), self.tail_cap)

    def text(self) -> str:
        tail = bytes(self.tail[-self.tail_cap :]) if self.tail_cap else b""
        head = self.head.decode("utf-8", errors="replace")
        if self.dropped == 0:
            return (bytes(self.head) + tail).decode("utf-8", errors="replace")
        return f"{head}\n…[{self.dropped} bytes of output dropped]…\n{tail.decode('utf-8', errors='replace')}"


async def run_process(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout_s: float | None = None,
    output_cap_bytes: int = 1 << 20,
    pass_fds: Sequence[int] = (),
    on_output: Callable[[bytes], None] | None = None,
) -> ExecResult:
    """Run `argv` and collect its combined output.

    Never raises for a command that cannot start: a missing program gives exit
    code 127 and a missing working directory or unrunnable file gives 126,
    each with a message in `output`, as a shell would. Cancelling the awaiting
    task kills the command's whole process group and raises `CommandInterrupted` with what it
    printed. `on_output` gets every chunk as it arrives (for live display; keep it cheap).
    `pass_fds` are inherited under their own numbers (the shell snapshot's descriptor).
    """
    started = time.monotonic()
    if not argv:
        return ExecResult(exit_code=127, output="codeloop: empty command\n", duration_s=0.0)
    loop = asyncio.get_running_loop()
    buffer = _HeadTailBuffer(output_cap_bytes)
    try:
        transport, collector = await loop.subprocess_exec(
            lambda: _Collector(buffer, loop, on_output),
            *argv,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
            pass_fds=tuple(pass_fds),
        )
    except OSError as exc:
        return ExecResult(
            exit_code=_spawn_failure_code(exc, cwd),
            output=_spawn_failure_message(exc, argv[0], cwd),
            duration_s=time.monotonic() - started,
        )

    pgid = transport.get_pid()  # start_new_session made the child a group leader
    _LIVE_GROUPS.add(pgid)
    if _closing.is_set():  # the process is ending: spawned while kill_live_groups ran
        kill_group(pgid)
    timed_out = False
    try:
        if not await _settled(collector.exited, timeout_s):
            timed_out = True
            kill_group(pgid)
            await _settled(collector.exited, _REAP_TIMEOUT_S)
        if not await _settled(collector.output_closed, _DRAIN_GRACE_S):
            # Something the command left running still holds the pipe.
            kill_group(pgid)
            await _settled(collector.output_closed, _DRAIN_GRACE_S)
    except asyncio.CancelledError:
        kill_group(pgid)
        await _settled(collector.exited, _REAP_TIMEOUT_S)
        raise CommandInterrupted(
            ExecResult(
                exit_code=INTERRUPTED_EXIT_CODE,
                output=buffer.text(),
                duration_s=time.monotonic() - started,
                truncated_bytes=buffer.dropped,
                interrupted=True,
            )
        ) from None
    finally:
        _LIVE_GROUPS.discard(pgid)
        transport.close()

    returncode = transport.get_returncode()
    return ExecResult(
        exit_code=TIMEOUT_EXIT_CODE if timed_out or returncode is None else returncode,
        output=buffer.text(),
        duration_s=time.monotonic() - started,
        timed_out=timed_out,
        truncated_bytes=buffer.dropped,
    )


class _Collector(asyncio.SubprocessProtocol):
    """Feeds output into the buffer and reports exit and end-of-output separately.

    `asyncio.subprocess.Process.wait()` on Python 3.11 returns only once every
    pipe is closed too, so a background grandchild holding stdout would make
    an exited command look like it is still running; the protocol's
    `process_exited` fires at the real exit.
    """

    def __init__(
        self,
        buffer: _HeadTailBuffer,
        loop: asyncio.AbstractEventLoop,
        on_output: Callable[[bytes], None] | None = None,
    ) -> None:
        self.buffer = buffer
        self.on_output = on_output
        self.exited: asyncio.Future[None] = loop.create_future()
        self.output_closed: asyncio.Future[None] = loop.create_future()

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        chunk = data.encode() if isinstance(data, str) else data
        self.buffer.feed(chunk)
        if self.on_output is not None:
            self.on_output(chunk)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if not self.output_closed.done():
            self.output_closed.set_result(None)

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)


async def _settled(future: asyncio.Future[None], timeout_s: float | None) -> bool:
    """Wait up to `timeout_s` for `future` without cancelling it; True if it finished."""
    done, _ = await asyncio.wait({future}, timeout=timeout_s)
    return bool(done)


# Process groups of the commands running now. Each is its own session (so Ctrl+C in the
# terminal does not reach it), so nothing kills it when codeloop dies: whoever ends the process
# early (its terminal gone) calls kill_live_groups.
_LIVE_GROUPS: set[int] = set()
_closing = threading.Event()


def kill_live_groups() -> None:
    """SIGKILL every command still running, and any started from now on (one being spawned
    right now registers after this); safe from any thread or a signal handler."""
    _closing.set()
    for pgid in list(_LIVE_GROUPS):
        kill_group(pgid)


def kill_group(pgid: int) -> None:
    """SIGKILL a process group; one that is already gone is no error."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # the group is already gone


def _spawn_failure_code(exc: OSError, cwd: Path) -> int:
    if isinstance(exc, FileNotFoundError) and cwd.is_dir():
        return 127
    return 126


def _spawn_failure_message(exc: OSError, program: str, cwd: Path) -> str:
    if not cwd.is_dir():
        return f"codeloop: working directory does not exist: {cwd}\n"
    if isinstance(exc, FileNotFoundError):
        return f"codeloop: command not found: {program}\n"
    if isinstance(exc, PermissionError):
        return f"codeloop: permission denied: {program}\n"
    return f"codeloop: cannot execute {program}: {exc.strerror or exc}\n"


def format_exec_output(result: ExecResult, token_limit: int) -> str:
    """The text the model sees for a finished command.

    The output budget is `token_limit` × 4 characters (Codex's estimate of
    bytes per token, applied to characters). Longer output keeps its head and
    tail halves, cut at line boundaries where that loses less than half of a
    half, around a marker saying how much was left out.
    """
    output = result.output
    budget = max(token_limit, 0) * _BYTES_PER_TOKEN
    lines = [f"Exit code: {result.exit_code}", f"Wall time: {result.duration_s:.1f} seconds"]
    if result.timed_out:
        lines.append(f"Command timed out after {result.duration_s:.1f} seconds and was killed.")
    if result.interrupted:
        # Codex's words for it ("Wall time: …\naborted by user"), and what it printed until then.
        lines.append(f"{ABORTED_BY_USER}: the user interrupted the command; it was killed before it finished.")
    if len(output) > budget:
        lines.append(f"Total output lines: {_count_lines(output)}")
        output = _truncate_middle(output, budget)
    lines.append("Output:")
    return "\n".join(lines) + "\n" + output


def truncate_output(text: str, token_limit: int) -> str:
    """`text` cut to the output budget like a command's output (head and tail kept)."""
    budget = max(token_limit, 0) * _BYTES_PER_TOKEN
    if len(text) <= budget:
        return text
    return f"Total output lines: {_count_lines(text)}\n" + _truncate_middle(text, budget)


def _count_lines(text: str) -> int:
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def _truncate_middle(text: str, budget: int) -> str:
    head_budget = budget // 2
    tail_budget = budget - head_budget
    head = text[:head_budget]
    cut = head.rfind("\n")
    if cut >= head_budget // 2:
        head = head[: cut + 1]
    tail = text[len(text) - tail_budget :] if tail_budget else ""
    cut = tail.find("\n")
    if 0 <= cut < tail_budget // 2:
        tail = tail[cut + 1 :]
    omitted = len(text) - len(head) - len(tail)
    separator = "" if head.endswith("\n") or not head else "\n"
    return f"{head}{separator}…[{omitted} chars truncated]…\n{tail}"


def shell_environment(
    base: Mapping[str, str] | None = None, *, policy: ShellEnvironmentPolicy | None = None
) -> dict[str, str]:
    """The environment commands run with, built from `base` (default: ours) as Codex does.

    In order: keep everything, the core variables or nothing (`policy.inherit`); unless
    `ignore_default_excludes`, drop secret-named variables (tui/safety/secret_names.py:
    `*_KEY`, `*TOKEN*`, `*_CREDENTIAL`, `*_DSN`, `*_PASS`, ...) and the provider's key
    variable, so a command cannot print a key into the model's context, and SSH_AUTH_SOCK, so it
    cannot sign with the user's SSH keys, and take passwords and secret query parameters out of
    URL-valued variables of any name (`DATABASE_URL=postgres://u:pw@h` → `postgres://u@h`);
    drop `exclude` matches; add `set`; keep only `include_only` matches when that is given. No
    policy means the defaults.
    """
    policy = policy or ShellEnvironmentPolicy()
    source = os.environ if base is None else base
    if policy.inherit == "all":
        env = dict(source)
    elif policy.inherit == "core":
        env = {name: value for name, value in source.items() if name in _CORE_VARIABLES}
    else:
        env = {}
    if not policy.ignore_default_excludes:
        # The provider's key variable goes too, whatever it is called.
        dropped = _DROPPED_VARIABLES | remembered_secret_variables()
        env = {
            name: strip_url_secrets(value)
            for name, value in env.items()
            if name not in dropped and not is_secret_name(name)
        }
    if policy.exclude:
        env = {name: value for name, value in env.items() if not _matches_any(name, policy.exclude)}
    env.update(policy.set)
    if policy.include_only:
        env = {name: value for name, value in env.items() if _matches_any(name, policy.include_only)}
    return env


def _matches_any(name: str, patterns: Sequence[str]) -> bool:
    upper = name.upper()
    return any(fnmatch.fnmatchcase(upper, pattern.upper()) for pattern in patterns)
