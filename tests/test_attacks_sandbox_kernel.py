"""A hostile command against the kernel-level walls: the seccomp filter (one test per refused
syscall, made for real with ctypes inside real bwrap and, where harmless, outside it), the empty
capability bounding set, and the process limit. The file-system walls are in
tests/test_attacks_sandbox.py."""

from __future__ import annotations

import ctypes
import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.exec_support import attack, shell
from tests.fakeopenai import FakeOpenAI
from tests.sandbox_support import (
    ALLOWED_OUTSIDE,
    OUTSIDE_UNSAFE,
    SYSCALL_PROBES,
    run_probe,
    run_text,
    syscall_probe_argv,
)
from tui.safety import limits
from tui.safety.sandbox import SandboxPolicy, bwrap_problem, wrap

pytestmark = pytest.mark.skipif(bwrap_problem() is not None, reason=f"bwrap unusable: {bwrap_problem()}")
x86_64_only = pytest.mark.skipif(os.uname().machine != "x86_64", reason="the probes carry x86_64 syscall numbers")


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    workspace = tmp_path / "ws"
    (workspace / ".git").mkdir(parents=True)
    return workspace


@pytest.fixture
def home() -> Iterator[Path]:
    folder = Path.home() / f"codeloop-home-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def probes(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], dict[str, str]]:
    """Every probe's result inside the sandbox, and the harmless ones' outside it."""
    cwd = tmp_path_factory.mktemp("probe")
    inside = run_probe(wrap(syscall_probe_argv(), SandboxPolicy("workspace-write"), cwd), cwd)
    outside = run_probe(syscall_probe_argv([n for n in SYSCALL_PROBES if n not in OUTSIDE_UNSAFE]), cwd)
    return inside, outside


@x86_64_only
@pytest.mark.parametrize("name", list(SYSCALL_PROBES))
def test_refused_syscall_fails_with_eperm_inside(probes: tuple[dict[str, str], dict[str, str]], name: str) -> None:
    """The syscall made raw inside the sandbox fails with EPERM; for the ones the host allows
    (ALLOWED_OUTSIDE) the same call outside does not, so the refusal is the filter's."""
    inside, outside = probes
    assert inside[name] == "EPERM"
    if name in ALLOWED_OUTSIDE:
        assert outside[name] != "EPERM"


def test_clone3_answers_enosys_so_programs_fall_back(ws: Path) -> None:
    """clone3 cannot be inspected (its flags are in memory): it answers ENOSYS, and a program that
    spawns children (python's subprocess, through libc) still works inside."""
    code = (
        "import ctypes, subprocess; libc = ctypes.CDLL(None, use_errno=True); "
        "print(libc.syscall(435, 0, 0), ctypes.get_errno()); print(subprocess.run(['echo', 'child'], capture_output=True, text=True).stdout)"
    )
    out = run_text(wrap([sys.executable, "-c", code], SandboxPolicy("workspace-write"), ws), ws)
    assert out.splitlines()[:2] == ["-1 38", "child"]


def test_a_key_added_inside_never_reaches_the_hosts_keyring(fake_openai: FakeOpenAI, ws: Path, home: Path) -> None:
    """add_key(…, KEY_SPEC_USER_KEYRING) through the real loop: refused (EPERM), and the host's
    user keyring has no such key afterwards."""
    name = f"codeloop-{uuid.uuid4().hex[:8]}"
    code = (
        "import ctypes; libc = ctypes.CDLL(None, use_errno=True); "
        f"print('add_key', libc.syscall(248, b'user', b'{name}', b'stolen', 6, -4), ctypes.get_errno())"
    )
    out = attack(fake_openai, ws, home, [shell("c1", [sys.executable, "-c", code])], "--full-auto")
    assert "add_key -1 1" in out.output("c1")
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.syscall(250, 10, ctypes.c_long(-4), b"user", name.encode(), 0) == -1  # KEYCTL_SEARCH


def test_capability_bounding_set_is_empty_inside(fake_openai: FakeOpenAI, ws: Path, home: Path) -> None:
    """/proc/self/status inside: CapBnd, CapEff, CapPrm, CapAmb are all 0, NoNewPrivs is 1 and a
    seccomp filter is in force; a setuid-root program could regain nothing."""
    out = attack(fake_openai, ws, home, [shell("c1", ["grep", "-E", "^(Cap|NoNewPrivs|Seccomp:)", "/proc/self/status"])], "--full-auto")
    fields = dict(line.split(":\t") for line in out.output("c1").splitlines() if ":\t" in line)
    assert {fields[k] for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")} == {"0000000000000000"}
    assert fields["NoNewPrivs"] == "1" and fields["Seccomp"] == "2"


def test_ptrace_of_a_sibling_is_refused(fake_openai: FakeOpenAI, ws: Path, home: Path) -> None:
    """The command starts a sibling and tries PTRACE_ATTACH on it (to rewrite its memory): EPERM."""
    code = (
        "import ctypes, subprocess; p = subprocess.Popen(['sleep', '5']); libc = ctypes.CDLL(None, use_errno=True); "
        "print('attach', libc.syscall(101, 16, p.pid, 0, 0), ctypes.get_errno()); p.kill()"
    )
    out = attack(fake_openai, ws, home, [shell("c1", [sys.executable, "-c", code])], "--full-auto")
    assert "attach -1 1" in out.output("c1")


def test_signals_cannot_reach_host_processes(fake_openai: FakeOpenAI, ws: Path, home: Path) -> None:
    """`kill -TERM` of this test's pid and of every pid in sight: host pids are not in the
    sandbox's pid namespace, so the test process survives and the kill reports no such process."""
    out = attack(fake_openai, ws, home, [shell("c1", f"kill -TERM {os.getpid()}; echo rc=$?; ps -e | wc -l")], "--full-auto")
    assert "rc=1" in out.output("c1")


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _until_gone(marker: str, timeout_s: float = 10) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while (left := _processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


@pytest.mark.skipif(limits.problem() is not None, reason=f"no process limit here: {limits.problem()}")
def test_spawning_thousands_of_processes_hits_the_limit_and_leaves_nothing(fake_openai: FakeOpenAI, ws: Path, home: Path) -> None:
    """A bounded fork bomb: try to start 5,000 sleeping processes. Inside, the limit (1024 by
    default) stops it; codeloop answers the next call; afterwards none of them is left."""
    marker = f"codeloop-bomb-{uuid.uuid4().hex[:8]}"
    code = (
        "import os, sys, time\n"
        "n = 0\n"
        "for _ in range(5000):\n"
        "    try: pid = os.fork()\n"
        "    except OSError as e: print('stopped', n, e.strerror); break\n"
        "    if pid == 0: time.sleep(120); os._exit(0)\n"
        "    n += 1\n"
        "else: print('all', n)\n"
    )
    calls = [shell("c1", [sys.executable, "-c", code, marker], timeout_ms=60_000), shell("c2", ["echo", "still here"])]
    out = attack(fake_openai, ws, home, calls, "--full-auto", timeout=120)
    first = out.output("c1")
    assert "stopped" in first and "Resource temporarily unavailable" in first
    stopped_at = int(first.split("stopped ", 1)[1].split()[0])
    assert 900 < stopped_at < 1024
    assert "still here" in out.output("c2")
    assert _until_gone(marker) == []


@pytest.mark.skipif(limits.problem() is not None, reason=f"no process limit here: {limits.problem()}")
def test_process_limit_is_configurable(fake_openai: FakeOpenAI, ws: Path, home: Path) -> None:
    """`sandbox_process_limit = 50`, and the command raises its own RLIMIT_NPROC as far as it
    can first: the 50th process still cannot start (the cgroup is not the command's to lift)."""
    code = "import os, resource, time\nhard = resource.getrlimit(resource.RLIMIT_NPROC)[1]\nresource.setrlimit(resource.RLIMIT_NPROC, (hard, hard))\nprint('nproc', hard)\nn = 0\nfor _ in range(500):\n    try: pid = os.fork()\n    except OSError: break\n    if pid == 0: time.sleep(30); os._exit(0)\n    n += 1\nprint('started', n)\n"
    out = attack(fake_openai, ws, home, [shell("c1", [sys.executable, "-c", code])], "--full-auto", "-c", "sandbox_process_limit=50")
    started = int(out.output("c1").split("started ", 1)[1].split()[0])
    assert 40 < started < 50


def test_the_process_limit_cgroup_cannot_be_left(fake_openai: FakeOpenAI, ws: Path, home: Path) -> None:
    """Writing its own pid to the root cgroup (v1 and v2 paths) to escape the limit: refused (/sys
    is read-only and no capability is left)."""
    script = "for f in /sys/fs/cgroup/pids/cgroup.procs /sys/fs/cgroup/cgroup.procs /sys/fs/cgroup/unified/cgroup.procs; do echo $$ > $f && echo LEFT $f; done; echo tried"
    out = attack(fake_openai, ws, home, [shell("c1", script)], "--full-auto")
    assert "tried" in out.output("c1") and "LEFT" not in out.output("c1")


def test_setsid_and_double_fork_do_not_outlive_the_command(fake_openai: FakeOpenAI, ws: Path, home: Path) -> None:
    """`setsid` plus a double fork plus nohup, then exit: the daemons die with the command's pid
    namespace instead of lingering on the host."""
    marker = f"codeloop-daemon-{uuid.uuid4().hex[:8]}"
    script = f"(setsid nohup sh -c 'sleep 300; echo {marker}' >/dev/null 2>&1 &) ; echo started"
    out = attack(fake_openai, ws, home, [shell("c1", script)], "--full-auto")
    assert "started" in out.output("c1")
    assert _until_gone(marker) == []


def test_timeout_kills_everything_the_command_started(fake_openai: FakeOpenAI, ws: Path, home: Path) -> None:
    """A command that starts detached sleepers and then hangs is killed at its timeout, and none
    of its processes is left."""
    marker = f"codeloop-hang-{uuid.uuid4().hex[:8]}"
    script = f"for i in 1 2 3; do setsid sh -c 'sleep 300; echo {marker}' & done; sleep 300"
    out = attack(fake_openai, ws, home, [shell("c1", script, timeout_ms=1500)], "--full-auto")
    assert "timed out" in out.output("c1").lower() or "timeout" in out.output("c1").lower()
    assert _until_gone(marker) == []


def test_memory_hog_is_stopped_by_the_timeout(fake_openai: FakeOpenAI, ws: Path, home: Path) -> None:
    """No memory limit is set (see SECURITY.md): a command growing memory slowly is bounded by its
    timeout, and codeloop answers the next call."""
    code = "import time\nblocks = []\nwhile True:\n    blocks.append(bytearray(8 << 20)); time.sleep(0.05)\n"
    calls = [shell("c1", [sys.executable, "-c", code], timeout_ms=1500), shell("c2", ["echo", "alive"])]
    out = attack(fake_openai, ws, home, calls, "--full-auto")
    assert "alive" in out.output("c2")


def test_kernel_knobs_under_proc_and_sys_cannot_be_written(fake_openai: FakeOpenAI, ws: Path, home: Path) -> None:
    """The classic escapes through kernel knobs, which answer to uid 0 rather than to a capability:
    a core_pattern pipe (the host kernel runs it as root at the next crash), sysrq-trigger, the
    hostname, a cgroup v1 release_agent, uevent_helper. Each must be unwritable inside. Safe to
    run even where the wall is missing: core_pattern is written its own current value, and the
    others are only checked with `test -w` (access(2) reports a read-only mount)."""
    pattern = Path("/proc/sys/kernel/core_pattern").read_text().rstrip("\n")
    knobs = ["/proc/sys/kernel/core_pattern", "/proc/sysrq-trigger", "/proc/sys/kernel/hostname", "/proc/sys/vm/drop_caches",
             "/sys/fs/cgroup/pids/release_agent", "/sys/kernel/uevent_helper", "/proc/sys/fs/binfmt_misc/register"]  # fmt: skip
    script = (
        f"(printf '%s\\n' {shlex.quote(pattern)} > /proc/sys/kernel/core_pattern) 2>/dev/null && echo WROTE core_pattern; "
        + "; ".join(f"[ -w {k} ] && echo WRITABLE {k}" for k in knobs)
        + "; cat /proc/keys /proc/kcore 2>/dev/null | head -c 64 | wc -c; echo tried"
    )
    out = attack(fake_openai, ws, home, [shell("c1", script)], "--full-auto")
    text = out.output("c1")
    assert "tried" in text and "WROTE" not in text and "WRITABLE" not in text, text
    assert "\n0\ntried" in text  # the host's keys and kernel memory read as nothing
    assert Path("/proc/sys/kernel/core_pattern").read_text().rstrip("\n") == pattern


def test_device_nodes_cannot_be_made_or_reached(fake_openai: FakeOpenAI, ws: Path, home: Path) -> None:
    """`mknod` of the host's first disk (to read it raw) fails, and the sandbox's /dev holds no
    disks to open."""
    out = attack(fake_openai, ws, home, [shell("c1", "mknod disk b 8 0 && echo MADE; ls /dev; echo listed")], "--full-auto")
    text = out.output("c1")
    assert "listed" in text and "MADE" not in text and not (ws / "disk").exists()
    assert not any(name in text.split() for name in ("sda", "vda", "nvme0n1", "xvda", "mem", "kmem"))


def test_entering_other_namespaces_is_refused(fake_openai: FakeOpenAI, ws: Path, home: Path) -> None:
    """`nsenter` into pid 1's namespaces and `unshare --user --map-root-user` (a fresh user
    namespace with every capability in it) both fail."""
    out = attack(fake_openai, ws, home, [shell("c1", "nsenter -t 1 -m -n -p true && echo ENTERED; unshare -r true && echo UNSHARED; echo tried")], "--full-auto")
    assert "tried" in out.output("c1") and "ENTERED" not in out.output("c1") and "UNSHARED" not in out.output("c1")


def test_the_terminal_cannot_be_reached(fake_openai: FakeOpenAI, ws: Path, home: Path) -> None:
    """Opening /dev/tty (to inject keystrokes with TIOCSTI or to read the user's typing) fails:
    the command has its own session and no controlling terminal."""
    out = attack(fake_openai, ws, home, [shell("c1", "(exec 3<>/dev/tty) 2>/dev/null && echo OPENED; echo tried")], "--full-auto")
    assert "tried" in out.output("c1") and "OPENED" not in out.output("c1")


@pytest.mark.skipif(limits.problem() is not None, reason=f"no process limit here: {limits.problem()}")
def test_process_limit_cgroups_of_finished_sessions_do_not_pile_up(fake_openai: FakeOpenAI, ws: Path, home: Path) -> None:
    """A cgroup left behind by a codeloop process that is gone (its last sandbox still dying at
    exit) is swept by the next codeloop that sandboxes a command."""
    parent = limits.cgroup_procs_file(1024).parent.parent  # type: ignore[union-attr]
    dead = subprocess.Popen(["true"])
    dead.wait()
    leftover = parent / f"codeloop-{dead.pid}"
    leftover.mkdir()
    attack(fake_openai, ws, home, [shell("c1", ["true"])], "--full-auto")
    assert not leftover.exists()
