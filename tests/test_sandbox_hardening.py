"""What a sandboxed command cannot reach besides files: host sockets, our environment, a real
git worktree's repository. Real commands under real bwrap; tests/test_sandbox.py has the rest
(writes outside the roots and into .git, remounting .git, TCP to 127.0.0.1, the pid namespace)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sandbox_support import READ_ONLY, WRITE, needs_bwrap
from tui.safety import masks, seccomp
from tui.safety.sandbox import SandboxPolicy, is_sandbox_denial, wrap
from tui.tools.process import run_process, shell_environment

NETWORKED = SandboxPolicy("workspace-write", network_access=True)
SECRET = "zq9VtK2mLp7XwR4nB8cDf3Hs"


def _run(argv: list[str], policy: SandboxPolicy, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(wrap(argv, policy, cwd), capture_output=True, text=True, timeout=60, env=env)


def _py(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", code, *args]


CONNECT = "import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1]); print('connected')"


class _Listener:
    """A listening Unix socket on the host, which the host itself can reach."""

    def __init__(self, address: str, kind: int = socket.SOCK_STREAM) -> None:
        self.address = address
        self.sock = socket.socket(socket.AF_UNIX, kind)
        self.sock.bind(address)
        if kind == socket.SOCK_STREAM:
            self.sock.listen(4)
            probe = socket.socket(socket.AF_UNIX)
            probe.connect(address)  # the leak the sandbox must close is real
            probe.close()


@pytest.fixture
def listener_outside(outside: Path) -> Iterator[_Listener]:
    """Listening in a directory outside every writable root (under /var/tmp or $HOME)."""
    listener = _Listener(str(outside / "service.sock"))
    yield listener
    listener.sock.close()


# ---------------------------------------------------------------- Unix sockets


@needs_bwrap
@pytest.mark.parametrize("policy", [WRITE, READ_ONLY, NETWORKED], ids=["workspace-write", "read-only", "network-access"])
def test_unix_socket_outside_the_writable_roots_is_unreachable(ws: Path, listener_outside: _Listener, policy: SandboxPolicy) -> None:
    done = _run(_py(CONNECT, listener_outside.address), policy, ws)
    assert done.returncode != 0 and "connected" not in done.stdout
    assert "Operation not permitted" in done.stderr
    assert is_sandbox_denial(done.returncode, done.stderr)


@needs_bwrap
def test_unix_socket_under_tmp_is_unreachable_though_tmp_is_writable(ws: Path, tmp_path: Path) -> None:
    assert any(root in tmp_path.resolve().parents for root in WRITE.effective_writable_roots(ws))
    listener = _Listener(str(tmp_path / "host.sock"))
    try:
        done = _run(_py(CONNECT, listener.address), WRITE, ws)
        assert done.returncode != 0 and "connected" not in done.stdout
    finally:
        listener.sock.close()


@needs_bwrap
def test_abstract_unix_socket_is_unreachable_even_with_network_access(ws: Path) -> None:
    # Abstract sockets live in the network namespace: only a shared one (network access) could
    # reach the host's, and the socket filter refuses them there too.
    listener = _Listener(f"\0codeloop-test-{os.getpid()}")
    try:
        code = "import socket, sys; socket.socket(socket.AF_UNIX).connect('\\0' + sys.argv[1]); print('connected')"
        done = _run(_py(code, listener.address[1:]), NETWORKED, ws)
        assert done.returncode != 0 and "connected" not in done.stdout
    finally:
        listener.sock.close()


@needs_bwrap
def test_datagram_socket_cannot_be_reached_through_a_socketpair(ws: Path, outside: Path) -> None:
    # A datagram pair sends to any address given to sendmsg, pair or not: only stream pairs pass.
    listener = _Listener(str(outside / "log.sock"), socket.SOCK_DGRAM)
    code = (
        "import socket, sys\n"
        "a, b = socket.socketpair(); a.sendall(b'x'); assert b.recv(1) == b'x'; print('stream pair ok')\n"
        "a, b = socket.socketpair(type=socket.SOCK_SEQPACKET); print('seqpacket pair ok')\n"
        "a, b = socket.socketpair(type=socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)\n"
        "a.sendto(b'forged', sys.argv[1]); print('sent')\n"
    )
    try:
        done = _run(_py(code, listener.address), WRITE, ws)
        assert done.stdout == "stream pair ok\nseqpacket pair ok\n", done.stderr
        assert "Operation not permitted" in done.stderr
        listener.sock.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.sock.recv(16)
    finally:
        listener.sock.close()


@needs_bwrap
def test_vsock_and_io_uring_are_refused(ws: Path) -> None:
    code = (
        "import ctypes, errno, socket\n"
        "try:\n    socket.socket(40, socket.SOCK_STREAM)\nexcept OSError as e:\n    print('vsock', errno.errorcode[e.errno])\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "params = ctypes.create_string_buffer(120)\n"
        "rc = libc.syscall(425, 4, params)\n"
        "print('io_uring', rc, errno.errorcode.get(ctypes.get_errno()))\n"
    )
    done = _run(_py(code), NETWORKED, ws)
    assert done.stdout == "vsock EPERM\nio_uring -1 EPERM\n", done.stderr


@needs_bwrap
def test_the_socket_filter_is_in_force(ws: Path) -> None:
    done = _run(["grep", "^Seccomp:", "/proc/self/status"], WRITE, ws)
    assert done.stdout.split() == ["Seccomp:", "2"], done.stderr
    assert wrap(["true"], WRITE, ws)[:2] == ["/bin/sh", "-c"]


@pytest.mark.parametrize("machine", ["x86_64", "aarch64", "riscv64"])
def test_the_filter_assembles_for_each_known_machine(machine: str) -> None:
    program = seccomp.program(machine)
    assert program is not None and len(program) % 8 == 0 and 10 < len(program) // 8 < 400
    assert seccomp.program("s390x") is None


# ---------------------------------------------------------------- masks


@needs_bwrap
def test_host_socket_directories_are_masked(ws: Path, outside: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    listener = _Listener(str(outside / "bus.sock"))
    try:
        monkeypatch.setattr(masks, "_HIDDEN_DIRS", (*masks._HIDDEN_DIRS, outside))
        argv = wrap(["sh", "-c", f"find {outside} /run/user /run/dbus -mindepth 1 2>/dev/null; echo end"], WRITE, ws)
        for path in ("/run/user", "/run/dbus", "/var/run/dbus"):
            if Path(path).is_dir():
                assert str(Path(path).resolve()) in [argv[i + 1] for i, a in enumerate(argv) if a == "--tmpfs"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert done.stdout == "end\n", done.stderr
    finally:
        listener.sock.close()


@needs_bwrap
def test_ssh_agent_directory_is_masked_and_the_variable_unset(
    ws: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent_dir = outside / "ssh-agent"
    agent_dir.mkdir()
    listener = _Listener(str(agent_dir / "agent.42"))
    monkeypatch.setenv("SSH_AUTH_SOCK", listener.address)
    try:
        # Even handed our full environment (shell_environment drops it too), bwrap unsets it.
        script = f'ls -A {agent_dir}; echo "sock=[$SSH_AUTH_SOCK]"'
        done = _run(["sh", "-c", script], WRITE, ws, env=dict(os.environ))
        assert done.stdout == "sock=[]\n", done.stderr
    finally:
        listener.sock.close()


@needs_bwrap
def test_ssh_agent_socket_inside_the_workspace_is_masked_alone(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    listener = _Listener(str(ws / "agent.sock"))
    monkeypatch.setenv("SSH_AUTH_SOCK", listener.address)
    try:
        done = _run(["sh", "-c", "test -S agent.sock && echo socket; echo ok > made.txt && cat made.txt"], WRITE, ws)
        assert done.stdout == "ok\n", done.stderr
    finally:
        listener.sock.close()


# ---------------------------------------------------------------- our environment


@needs_bwrap
async def test_sandboxed_command_cannot_read_our_environment(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    script = (
        "cat /proc/1/environ; echo; "
        f"cat /proc/{os.getpid()}/environ || echo 'no pid {os.getpid()}'; "
        f"cat /proc/{os.getppid()}/environ 2>/dev/null; "
        "cat /proc/self/environ; echo; env"
    )
    # The raw output (no redaction here): the secret must simply not be there to read.
    result = await run_process(wrap(["sh", "-c", script], WRITE, ws), cwd=ws, env=shell_environment())
    assert SECRET not in result.output
    assert f"no pid {os.getpid()}" in result.output
    assert "PATH=" in result.output  # the reads worked; the key just is not there


# ---------------------------------------------------------------- /tmp and real git worktrees


@needs_bwrap
def test_tmp_is_the_hosts_and_outlives_a_command(ws: Path, tmp_path: Path) -> None:
    # Kept from Codex on purpose (see tui/safety/sandbox.py): a script written to /tmp by one
    # command is run by the next.
    script = tmp_path / "step.sh"
    assert _run(["sh", "-c", f"echo 'echo step two' > {script}"], WRITE, ws).returncode == 0
    assert _run(["sh", str(script)], WRITE, ws).stdout == "step two\n"
    assert script.read_text() == "echo step two\n"


def _git(*args: str, cwd: Path) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout


@needs_bwrap
@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_real_git_worktree_cannot_touch_its_repository(tmp_path: Path) -> None:
    main = tmp_path / "main"
    main.mkdir()
    _git("init", "-q", "-b", "main", cwd=main)
    (main / "a.txt").write_text("a\n")
    _git("add", "a.txt", cwd=main)
    _git("commit", "-q", "-m", "first", cwd=main)
    worktree = tmp_path / "wt"
    _git("worktree", "add", "-q", "-b", "feature", str(worktree), cwd=main)
    head = _git("rev-parse", "HEAD", cwd=main)
    config = (main / ".git" / "config").read_text()

    script = (
        "echo b > b.txt; git status --short; "
        "git add b.txt; git -c user.name=t -c user.email=t@e commit -q -m evil; "
        f"echo '[core]' >> {main}/.git/config; "
        f"mount -o remount,rw,bind {main}/.git; umount {main}/.git; echo ok"
    )
    done = _run(["sh", "-c", script], WRITE, worktree)
    assert "?? b.txt" in done.stdout and (worktree / "b.txt").read_text() == "b\n"  # worktree: writable
    assert "read-only file system" in done.stderr.lower()
    assert _git("rev-parse", "HEAD", cwd=main) == head and _git("rev-parse", "feature", cwd=main) == head
    assert (main / ".git" / "config").read_text() == config
