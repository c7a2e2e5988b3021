"""The seccomp filter bwrap installs in every sandbox: no Unix-domain or vsock sockets.

Why: `--ro-bind / /` leaves every Unix socket on the host reachable, because `connect()` needs
only write permission on the socket inode and a read-only mount does not take it away (measured,
reference/sandbox-linux.md). Masking known paths (docker.sock, /run/user, ...) cannot cover a
socket someone left under $HOME or /var/tmp, and a tmux server or an ssh-agent there is a way
out. The kernel offers no way to allow some socket paths and not others, so, like Codex when it
cuts the network, the filter refuses Unix sockets altogether:

- `socket(AF_UNIX, ...)`: no socket to connect, bind or send from;
- `socketpair(AF_UNIX, SOCK_DGRAM)`: a datagram socket sends to any named address given to
  `sendmsg`, even when paired; stream and seqpacket pairs ignore the address, so they (what
  build tools use to talk to their children) keep working;
- `socket(AF_VSOCK, ...)`: vsock is not confined by the network namespace and reaches the
  hypervisor of a VM;
- `io_uring_setup`: io_uring can create and connect sockets without the syscalls above;
- the 32-bit ABIs' equivalents (x86's multiplexed `socketcall` is refused whole, its arguments
  being out of the filter's sight), and x32 syscalls altogether.

It also refuses, taking Docker's default profile as the reference, the calls that reach past the
sandbox into the kernel or the host:

- the kernel keyring (`add_key`, `keyctl`, `request_key`): the user keyring is shared with the
  host, so a key stored inside could be read outside and the other way round;
- debugging and introspection of other processes (`ptrace`, `process_vm_readv/writev`,
  `pidfd_getfd`), `bpf`, `perf_event_open`, `userfaultfd` (a favourite of kernel exploits),
  `fanotify_init`;
- mounts and new namespaces: `mount`, `umount`/`umount2`, `pivot_root`, the new mount API
  (`open_tree`, `move_mount`, `fsopen`, `fsconfig`, `fsmount`, `fspick`, `mount_setattr`),
  `unshare`, `setns`, `chroot`, and `clone` with any `CLONE_NEW*` flag; `clone3` answers ENOSYS
  (its flags sit in memory the filter cannot read) so libc falls back to `clone`;
- modules, kexec, reboot, swap, accounting, quotas, the clock, host and domain names, `syslog`,
  `vhangup`, `open_by_handle_at` (the classic container breakout), and the x86 relics (`iopl`,
  `ioperm`, `vm86`, `uselib`, `_sysctl`, ...);
- `personality` except the values Docker lets through (the default, UNAME26, ADDR_NO_RANDOMIZE,
  and the query `0xffffffff`): other flags such as READ_IMPLIES_EXEC weaken the address space.

Most of these also need a capability we drop (`--cap-drop ALL`): the filter is the second wall, and
the only one for the keyring, `ptrace` of a sibling, `bpf`/`perf_event_open` where unprivileged use
is allowed, and nested user namespaces.

Refused calls fail with EPERM ("Operation not permitted"), which `is_sandbox_denial` knows.
Programs that talk over Unix sockets among themselves (a test suite starting a server on one)
fail inside the sandbox; they run with the user's approval outside it.

The filter is classic BPF, assembled here (no libseccomp needed); syscall numbers come from the
kernel's unistd headers (x86_64, i386, and the generic table aarch64 and riscv64 share). A 32-bit
ABI whose table we do not carry (arm on aarch64) and x32 are refused whole. On a machine whose
syscall table we do not know, `program()` returns None and sandboxes run without it.
"""

from __future__ import annotations

import functools
import os
import struct
from dataclasses import dataclass

_AF_UNIX = 1
_AF_VSOCK = 40
_SOCK_DGRAM = 2
_SOCK_TYPE_MASK = 0xF  # the type argument also carries SOCK_NONBLOCK / SOCK_CLOEXEC
_X32_SYSCALL_BIT = 0x40000000
_IO_URING_SETUP = 425  # one number on every architecture (added after the tables were unified)

_RET_ALLOW = 0x7FFF0000
_RET_EPERM = 0x00050000 | 1
_RET_ENOSYS = 0x00050000 | 38

# struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6] (little-endian
# on every architecture listed below, so an argument's low word is at its own offset).
_NR, _ARCH = 0, 4


def _arg(n: int) -> int:
    return 16 + 8 * n


# The syscalls refused outright (see the module docstring), by name, per table.
_DENIED_NAMES: tuple[str, ...] = (
    "add_key", "request_key", "keyctl",
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
    "bpf", "perf_event_open", "userfaultfd", "fanotify_init",
    "mount", "umount", "umount2", "pivot_root", "chroot",
    "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    "unshare", "setns",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "create_module", "get_kernel_syms", "query_module",
    "reboot", "swapon", "swapoff", "acct", "quotactl", "quotactl_fd", "syslog", "vhangup",
    "settimeofday", "stime", "clock_settime", "clock_settime64", "clock_adjtime", "clock_adjtime64",
    "sethostname", "setdomainname", "lookup_dcookie", "open_by_handle_at",
    "iopl", "ioperm", "vm86", "vm86old", "uselib", "_sysctl", "nfsservctl",
)  # fmt: skip

# From /usr/include/x86_64-linux-gnu/asm/unistd_64.h, unistd_32.h and asm-generic/unistd.h.
_X86_64_NR: dict[str, int] = {
    "add_key": 248, "request_key": 249, "keyctl": 250, "ptrace": 101, "bpf": 321, "perf_event_open": 298,
    "userfaultfd": 323, "kexec_load": 246, "kexec_file_load": 320, "init_module": 175, "finit_module": 313,
    "delete_module": 176, "mount": 165, "umount2": 166, "pivot_root": 155, "move_mount": 429, "open_tree": 428,
    "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442, "unshare": 272,
    "setns": 308, "clone": 56, "clone3": 435, "personality": 135, "acct": 163, "swapon": 167, "swapoff": 168,
    "reboot": 169, "syslog": 103, "open_by_handle_at": 304, "process_vm_readv": 310, "process_vm_writev": 311,
    "quotactl": 179, "quotactl_fd": 443, "lookup_dcookie": 212, "chroot": 161, "settimeofday": 164,
    "clock_settime": 227, "clock_adjtime": 305, "sethostname": 170, "setdomainname": 171, "vhangup": 153,
    "pidfd_getfd": 438, "fanotify_init": 300, "iopl": 172, "ioperm": 173, "uselib": 134, "_sysctl": 156,
    "nfsservctl": 180, "create_module": 174, "get_kernel_syms": 177, "query_module": 178,
}  # fmt: skip
_I386_NR: dict[str, int] = {
    "add_key": 286, "request_key": 287, "keyctl": 288, "ptrace": 26, "bpf": 357, "perf_event_open": 336,
    "userfaultfd": 374, "kexec_load": 283, "init_module": 128, "finit_module": 350, "delete_module": 129,
    "mount": 21, "umount": 22, "umount2": 52, "pivot_root": 217, "move_mount": 429, "open_tree": 428,
    "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442, "unshare": 310,
    "setns": 346, "clone": 120, "clone3": 435, "personality": 136, "acct": 51, "swapon": 87, "swapoff": 115,
    "reboot": 88, "syslog": 103, "open_by_handle_at": 342, "process_vm_readv": 347, "process_vm_writev": 348,
    "quotactl": 131, "quotactl_fd": 443, "lookup_dcookie": 253, "chroot": 61, "settimeofday": 79,
    "clock_settime": 264, "clock_settime64": 404, "clock_adjtime": 343, "clock_adjtime64": 405,
    "sethostname": 74, "setdomainname": 121, "vhangup": 111, "pidfd_getfd": 438, "fanotify_init": 338,
    "iopl": 110, "ioperm": 101, "vm86": 166, "vm86old": 113, "uselib": 86, "_sysctl": 149, "nfsservctl": 169,
    "create_module": 127, "get_kernel_syms": 130, "query_module": 167, "stime": 25,
}  # fmt: skip
_GENERIC_NR: dict[str, int] = {
    "add_key": 217, "request_key": 218, "keyctl": 219, "ptrace": 117, "bpf": 280, "perf_event_open": 241,
    "userfaultfd": 282, "kexec_load": 104, "kexec_file_load": 294, "init_module": 105, "finit_module": 273,
    "delete_module": 106, "mount": 40, "umount2": 39, "pivot_root": 41, "move_mount": 429, "open_tree": 428,
    "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442, "unshare": 97,
    "setns": 268, "clone": 220, "clone3": 435, "personality": 92, "acct": 89, "swapon": 224, "swapoff": 225,
    "reboot": 142, "syslog": 116, "open_by_handle_at": 265, "process_vm_readv": 270, "process_vm_writev": 271,
    "quotactl": 60, "quotactl_fd": 443, "lookup_dcookie": 18, "chroot": 51, "settimeofday": 170,
    "clock_settime": 112, "clock_adjtime": 266, "sethostname": 161, "setdomainname": 162, "vhangup": 58,
    "pidfd_getfd": 438, "fanotify_init": 262, "nfsservctl": 42,
}  # fmt: skip

# Every CLONE_NEW* flag clone() takes: NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET.
_CLONE_NEW_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
# personality() values Docker's default profile allows: PER_LINUX, UNAME26, ADDR_NO_RANDOMIZE,
# both, and the query.
_PERSONALITY_ALLOWED = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)


@dataclass(frozen=True)
class _Abi:
    name: str
    audit_arch: int
    socket: int | None
    socketpair: int | None
    socketcall: int | None = None
    x32_bit: bool = False
    numbers: dict[str, int] | None = None
    """The syscall table; None refuses every call of this ABI (one we cannot filter precisely)."""

    def denied(self) -> list[int]:
        table = self.numbers or {}
        return sorted({table[name] for name in _DENIED_NAMES if name in table})


_X86_64 = _Abi("x86_64", 0xC000003E, 41, 53, x32_bit=True, numbers=_X86_64_NR)
_I386 = _Abi("i386", 0x40000003, 359, 360, socketcall=102, numbers=_I386_NR)
_AARCH64 = _Abi("aarch64", 0xC00000B7, 198, 199, numbers=_GENERIC_NR)
_ARM = _Abi("arm", 0x40000028, 281, 288)
_RISCV64 = _Abi("riscv64", 0xC00000F3, 198, 199, numbers=_GENERIC_NR)

# Machine (uname -m) → the ABIs its processes can use, native first.
_MACHINES: dict[str, tuple[_Abi, ...]] = {
    "x86_64": (_X86_64, _I386),
    "aarch64": (_AARCH64, _ARM),
    "riscv64": (_RISCV64,),
}

# Classic BPF opcodes.
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_AND_K = 0x54
_RET_K = 0x06


class _Assembler:
    """Just enough of an assembler: forward jumps to named labels, resolved at the end."""

    def __init__(self) -> None:
        self.code: list[tuple[int, int, str | None, str | None]] = []
        self.labels: dict[str, int] = {}

    def label(self, name: str) -> None:
        self.labels[name] = len(self.code)

    def op(self, code: int, k: int, jt: str | None = None, jf: str | None = None) -> None:
        self.code.append((code, k, jt, jf))

    def assemble(self) -> bytes:
        out = bytearray()
        for index, (code, k, jt, jf) in enumerate(self.code):
            out += struct.pack("=HBBI", code, self._offset(index, jt), self._offset(index, jf), k)
        return bytes(out)

    def _offset(self, index: int, label: str | None) -> int:
        if label is None:
            return 0
        offset = self.labels[label] - index - 1
        assert 0 <= offset < 256, f"jump to {label} out of range"
        return offset


def _build(abis: tuple[_Abi, ...]) -> bytes:
    asm = _Assembler()
    asm.op(_LD_W_ABS, _ARCH)
    for abi in abis:
        asm.op(_JEQ_K, abi.audit_arch, jt=abi.name)
    asm.op(_RET_K, _RET_EPERM)  # an ABI we do not know the syscall numbers of
    for abi in abis:
        _abi_section(asm, abi)
    return asm.assemble()


def _abi_section(asm: _Assembler, abi: _Abi) -> None:
    """One ABI's checks, with its own allow/deny exits so every jump stays short."""
    n = abi.name
    asm.label(n)
    if abi.numbers is None:
        asm.op(_RET_K, _RET_EPERM)
        return
    asm.op(_LD_W_ABS, _NR)
    if abi.x32_bit:
        asm.op(_JGE_K, _X32_SYSCALL_BIT, jt=f"{n}.deny")
    if abi.socket is not None:
        asm.op(_JEQ_K, abi.socket, jt=f"{n}.socket")
    if abi.socketpair is not None:
        asm.op(_JEQ_K, abi.socketpair, jt=f"{n}.socketpair")
    if abi.socketcall is not None:
        asm.op(_JEQ_K, abi.socketcall, jt=f"{n}.deny")
    asm.op(_JEQ_K, _IO_URING_SETUP, jt=f"{n}.deny")
    for number in abi.denied():
        asm.op(_JEQ_K, number, jt=f"{n}.deny")
    asm.op(_JEQ_K, abi.numbers["clone"], jt=f"{n}.clone")
    asm.op(_JEQ_K, abi.numbers["clone3"], jt=f"{n}.enosys")
    asm.op(_JEQ_K, abi.numbers["personality"], jt=f"{n}.personality")
    asm.op(_RET_K, _RET_ALLOW)
    if abi.socket is not None:
        asm.label(f"{n}.socket")
        asm.op(_LD_W_ABS, _arg(0))
        asm.op(_JEQ_K, _AF_UNIX, jt=f"{n}.deny")
        asm.op(_JEQ_K, _AF_VSOCK, jt=f"{n}.deny")
        asm.op(_RET_K, _RET_ALLOW)
    if abi.socketpair is not None:
        asm.label(f"{n}.socketpair")
        asm.op(_LD_W_ABS, _arg(0))
        asm.op(_JEQ_K, _AF_UNIX, jf=f"{n}.allow")
        asm.op(_LD_W_ABS, _arg(1))
        asm.op(_AND_K, _SOCK_TYPE_MASK)
        asm.op(_JEQ_K, _SOCK_DGRAM, jt=f"{n}.deny")
        asm.op(_RET_K, _RET_ALLOW)
    asm.label(f"{n}.clone")
    asm.op(_LD_W_ABS, _arg(0))  # the flags are the first argument on every ABI
    asm.op(_JSET_K, _CLONE_NEW_FLAGS, jt=f"{n}.deny")
    asm.op(_RET_K, _RET_ALLOW)
    asm.label(f"{n}.personality")
    asm.op(_LD_W_ABS, _arg(0))
    for value in _PERSONALITY_ALLOWED:
        asm.op(_JEQ_K, value, jt=f"{n}.allow")
    asm.op(_RET_K, _RET_EPERM)
    asm.label(f"{n}.allow")
    asm.op(_RET_K, _RET_ALLOW)
    asm.label(f"{n}.deny")
    asm.op(_RET_K, _RET_EPERM)
    asm.label(f"{n}.enosys")
    asm.op(_RET_K, _RET_ENOSYS)


@functools.cache
def program(machine: str | None = None) -> bytes | None:
    """The filter for `machine` (default: this one) as bwrap's `--seccomp` reads it, or None."""
    abis = _MACHINES.get(machine or os.uname().machine)
    return _build(abis) if abis is not None else None


def denied_syscalls(machine: str | None = None) -> list[str]:
    """The names refused outright on `machine`'s native ABI (for tests and the docs)."""
    abis = _MACHINES.get(machine or os.uname().machine)
    table = (abis[0].numbers or {}) if abis else {}
    return [name for name in _DENIED_NAMES if name in table]


__all__ = ["denied_syscalls", "program"]
