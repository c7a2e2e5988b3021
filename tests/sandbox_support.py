"""Helpers for the sandbox attack suites: the policies a wall must hold under, and a probe that
makes raw syscalls (through ctypes, so no program's own checks stand in the way) and reports
each one's errno; and the plain policies, the bwrap marker and the workspace fixtures (`ws`,
`outside`) of the sandbox tests, which reach every test through `pytest_plugins` in
tests/conftest.py."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.safety.sandbox import SandboxPolicy, bwrap_problem, clear_bwrap_cache

# Every approval policy that lets a sandboxed command run without a human (exec has nobody to ask).
WRITE_POLICIES: list[tuple[str, ...]] = [
    ("--full-auto",),
    ("-a", "on-failure", "-s", "workspace-write"),
    ("-a", "never", "-s", "workspace-write"),
]
WRITE_POLICY_IDS = ["on-request", "on-failure", "never"]

# name → (x86_64 number, harmless arguments): each call either fails on its arguments or does
# nothing lasting when allowed (bad magic, bad fds, NULL pointers, no flags).
SYSCALL_PROBES: dict[str, tuple[int, tuple[int | bytes, ...]]] = {
    "add_key": (248, (b"user", b"codeloop-probe", b"v", 1, -4)),  # -4: KEY_SPEC_USER_KEYRING
    "keyctl": (250, (0, -4, 0)),  # KEYCTL_GET_KEYRING_ID of the user keyring
    "request_key": (249, (b"user", b"codeloop-none", 0, 0)),
    "ptrace": (101, (16, 1, 0, 0)),  # PTRACE_ATTACH to pid 1
    "bpf": (321, (0, 0, 0)),
    "perf_event_open": (298, (0, 0, -1, -1, 0)),
    "userfaultfd": (323, (0,)),
    "kexec_load": (246, (0, 0, 0, 0xFFFF0000)),  # invalid architecture flags
    "kexec_file_load": (320, (-1, -1, 0, 0, 0xFFFFFFFF)),
    "init_module": (175, (0, 0, 0)),
    "finit_module": (313, (-1, 0, 0)),
    "delete_module": (176, (b"codeloop_no_such_module", 0)),
    "mount": (165, (0, 0, 0, 0, 0)),
    "umount2": (166, (b"/codeloop-no-such-mount", 0)),
    "pivot_root": (155, (0, 0)),
    "open_tree": (428, (-1, 0, 0)),
    "fsopen": (430, (b"codeloop-no-such-fs", 0)),
    "unshare": (272, (0x10000000,)),  # CLONE_NEWUSER
    "unshare_mount": (272, (0x00020000,)),  # CLONE_NEWNS
    "setns": (308, (-1, 0)),
    "clone_newuser": (56, (0x10000000 | 17, 0, 0, 0, 0)),  # CLONE_NEWUSER | SIGCHLD
    "personality": (135, (0x0400000,)),  # READ_IMPLIES_EXEC
    "chroot": (161, (b"/",)),
    "reboot": (169, (0, 0, 0, 0)),  # bad magic
    "swapon": (167, (b"/codeloop-no-such-swap", 0)),
    "acct": (163, (b"/codeloop-no-such-file",)),
    "syslog": (103, (3, 0, 0)),  # SYSLOG_ACTION_READ_ALL into NULL
    "process_vm_readv": (310, (1, 0, 0, 0, 0, 0)),
    "pidfd_getfd": (438, (-1, 0, 0)),
    "open_by_handle_at": (304, (-1, 0, 0)),
    "settimeofday": (164, (0, 0)),
    "sethostname": (170, (0, 1)),  # NULL name: EFAULT when allowed
    "iopl": (172, (0,)),
}

_PROBE = r"""
import ctypes, errno, json, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
results = {}
for name, (nr, args) in json.loads(sys.argv[1]).items():
    cargs = [ctypes.c_char_p(a.encode()) if isinstance(a, str) else ctypes.c_long(a) for a in args]
    ctypes.set_errno(0)
    rc = libc.syscall(ctypes.c_long(nr), *cargs)
    results[name] = "ok" if rc >= 0 else errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))
print(json.dumps(results))
"""


# Never made outside the sandbox: they would change the host (a key in root's keyring, a child
# process, the clock, the machine) if the host allowed them.
OUTSIDE_UNSAFE = {"add_key", "clone_newuser", "reboot", "settimeofday", "acct", "swapon", "kexec_load", "kexec_file_load"}
# Allowed on this kind of host (root, or any user for these), so EPERM inside is the filter's doing.
ALLOWED_OUTSIDE = {"keyctl", "bpf", "perf_event_open", "userfaultfd", "mount", "setns", "unshare", "personality", "pidfd_getfd", "open_tree"}


def syscall_probe_argv(names: list[str] | None = None) -> list[str]:
    """A python command making the probes' calls and printing {name: "ok" | errno name}."""
    chosen = names if names is not None else list(SYSCALL_PROBES)
    table = {name: (nr, [a.decode() if isinstance(a, bytes) else a for a in args]) for name, (nr, args) in SYSCALL_PROBES.items() if name in chosen}
    return [sys.executable, "-c", _PROBE, json.dumps(table)]


def run_probe(argv: list[str], cwd: Path) -> dict[str, str]:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run_text(argv: list[str], cwd: Path) -> str:
    """`argv`'s standard output (a sandboxed argv from `wrap`, typically)."""
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=60, check=False).stdout


# ------------------------------------------------------------ policies and workspace fixtures

WRITE = SandboxPolicy("workspace-write")
READ_ONLY = SandboxPolicy("read-only")

clear_bwrap_cache()
needs_bwrap = pytest.mark.skipif(bwrap_problem() is not None, reason=f"bwrap unusable: {bwrap_problem()}")


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    workspace = tmp_path / "ws"
    (workspace / ".git").mkdir(parents=True)
    (workspace / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return workspace


@pytest.fixture
def outside(ws: Path) -> Iterator[Path]:
    """A directory outside every writable root (pytest's tmp_path is under /tmp, which is writable)."""
    roots = WRITE.effective_writable_roots(ws)
    for base in (Path("/var/tmp"), Path.home()):
        resolved = base.resolve()
        if base.is_dir() and not any(resolved == r or r in resolved.parents for r in roots):
            directory = Path(tempfile.mkdtemp(prefix="codeloop-sandbox-test-", dir=base))
            yield directory
            shutil.rmtree(directory, ignore_errors=True)
            return
    pytest.skip("no directory outside the writable roots to test with")
