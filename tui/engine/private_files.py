"""`$CODELOOP_HOME` is private to its user: folders 0700, files 0600, whatever the umask.

Rollouts hold whole conversations (code, command output, anything pasted), so no other user of
the machine may read them. The modes are given explicitly where each file and folder is made
(the umask could be 000), and `tighten_home` brings what earlier versions left readable (0644
files in 0755 folders) down to the same modes at each start. The process umask is not changed:
files codeloop writes into the user's workspace keep the modes the user expects.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import IO

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def make_private_dirs(folder: Path, home: Path | None = None) -> None:
    """`folder` and its missing parents (up to and including `home`, when given), each 0700."""
    missing: list[Path] = []
    current = folder
    while not current.exists():
        missing.append(current)
        if current == home or current.parent == current:
            break
        current = current.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            pass  # made meanwhile by another codeloop
        os.chmod(path, PRIVATE_DIR)  # mkdir's mode went through the umask


def open_private_append(path: Path) -> IO[str]:
    """`path` opened for appending text, created 0600 (an existing file is tightened to it)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
        return os.fdopen(fd, "a", encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise


def write_private_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step, 0600: readers see the old file or the new one,
    never half of it (a temporary file beside it, synced, then renamed over it). A symlink is
    followed, so a config file kept elsewhere (a dotfiles repository) stays linked."""
    target = path.resolve() if path.is_symlink() else path
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), PRIVATE_FILE)
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def tighten_home(home: Path) -> None:
    """Take group and other permissions off `home` and everything of ours under it (symlinks
    are not followed; what another user owns is left alone). Missing `home` is made 0700."""
    make_private_dirs(home, home)
    me = os.geteuid()
    _tighten(home, me)
    for root, dirs, files in os.walk(home):
        for name in [*dirs, *files]:
            _tighten(Path(root, name), me)


def _tighten(path: Path, me: int) -> None:
    try:
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode) or info.st_uid != me or not stat.S_IMODE(info.st_mode) & 0o077:
            return
        os.chmod(path, stat.S_IMODE(info.st_mode) & 0o700)
    except OSError:
        pass  # gone meanwhile, or a filesystem without modes: nothing to tighten


__all__ = ["make_private_dirs", "open_private_append", "tighten_home", "write_private_atomic"]
