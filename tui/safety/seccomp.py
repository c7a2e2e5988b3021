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

Refused calls fail with EPERM ("Operation not permitted"), which `is_sandbox_denial` knows.
Programs that talk over Unix sockets among themselves (a test suite starting a server on one)
fail inside the sandbox; they run with the user's approval outside it.

The filter is classic BPF, assembled here (no libseccomp needed). On a machine whose syscall
table we do not know, `program()` returns None and sandboxes run without it.
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

# struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6] (little-endian
# on every architecture listed below, so an argument's low word is at its own offset).
_NR, _ARCH = 0, 4


def _arg(n: int) -> int:
    return 16 + 8 * n


@dataclass(frozen=True)
class _Abi:
    name: str
    audit_arch: int
    socket: int | None
    socketpair: int | None
    socketcall: int | None = None
    x32_bit: bool = False


_X86_64 = _Abi("x86_64", 0xC000003E, 41, 53, x32_bit=True)
_I386 = _Abi("i386", 0x40000003, 359, 360, socketcall=102)
_AARCH64 = _Abi("aarch64", 0xC00000B7, 198, 199)
_ARM = _Abi("arm", 0x40000028, 281, 288)
_RISCV64 = _Abi("riscv64", 0xC00000F3, 198, 199)

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
        asm.label(abi.name)
        asm.op(_LD_W_ABS, _NR)
        if abi.x32_bit:
            asm.op(_JGE_K, _X32_SYSCALL_BIT, jt="deny")
        if abi.socket is not None:
            asm.op(_JEQ_K, abi.socket, jt=f"{abi.name}.socket")
        if abi.socketpair is not None:
            asm.op(_JEQ_K, abi.socketpair, jt=f"{abi.name}.socketpair")
        if abi.socketcall is not None:
            asm.op(_JEQ_K, abi.socketcall, jt="deny")
        asm.op(_JEQ_K, _IO_URING_SETUP, jt="deny")
        asm.op(_RET_K, _RET_ALLOW)
        if abi.socket is not None:
            asm.label(f"{abi.name}.socket")
            asm.op(_LD_W_ABS, _arg(0))
            asm.op(_JEQ_K, _AF_UNIX, jt="deny")
            asm.op(_JEQ_K, _AF_VSOCK, jt="deny")
            asm.op(_RET_K, _RET_ALLOW)
        if abi.socketpair is not None:
            asm.label(f"{abi.name}.socketpair")
            asm.op(_LD_W_ABS, _arg(0))
            asm.op(_JEQ_K, _AF_UNIX, jf="allow")
            asm.op(_LD_W_ABS, _arg(1))
            asm.op(_AND_K, _SOCK_TYPE_MASK)
            asm.op(_JEQ_K, _SOCK_DGRAM, jt="deny")
            asm.op(_RET_K, _RET_ALLOW)
    asm.label("allow")
    asm.op(_RET_K, _RET_ALLOW)
    asm.label("deny")
    asm.op(_RET_K, _RET_EPERM)
    return asm.assemble()


@functools.cache
def program(machine: str | None = None) -> bytes | None:
    """The filter for `machine` (default: this one) as bwrap's `--seccomp` reads it, or None."""
    abis = _MACHINES.get(machine or os.uname().machine)
    return _build(abis) if abis is not None else None


__all__ = ["program"]
