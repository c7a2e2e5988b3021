"""The app ends with its terminal.

A terminal can go away without the app being told in a way Textual notices: SIGHUP is ignored
(nohup, a parent that set it so) or never sent, and Textual's input thread then reads end-of-file
forever at 100% CPU. So: SIGHUP ends the app, and a watcher thread asks the terminal every
WATCH_S whether it is still there (after a hang-up, ioctls on it fail with EIO). Either way the
running commands' process groups are killed at once (they are sessions of their own, so nothing
else kills them), the app is asked to exit, and if it has not within EXIT_GRACE_S (a loop stuck
writing to a dead terminal) the process ends itself: an orphan spinning for an hour is worse.
"""

from __future__ import annotations

import os
import signal
import sys
import termios
import threading
from collections.abc import Callable

from tui.tools.process import kill_live_groups

WATCH_S = 0.1
EXIT_GRACE_S = 0.5
HANGUP_EXIT_CODE = 128 + signal.SIGHUP


def _is_terminal(fd: int) -> bool:
    try:
        termios.tcgetattr(fd)
    except (termios.error, OSError, ValueError):
        return False
    return True


class TerminalWatch:
    """Ends the process when its terminal goes away; `exit_app` is called from any thread."""

    def __init__(self, exit_app: Callable[[], None], fd: int | None = None) -> None:
        """`fd`: the terminal to watch; stdin when None."""
        self.exit_app = exit_app
        self.fd = fd
        self._gone = threading.Event()
        self._stopped = threading.Event()

    def start(self) -> bool:
        """Watch, if stdin is a terminal (not under `codeloop serve` or a test); True if so."""
        if self.fd is None:
            try:
                self.fd = sys.stdin.fileno()
            except (AttributeError, OSError, ValueError):  # e.g. pytest's captured stdin
                return False
        if not _is_terminal(self.fd):
            return False
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGHUP, lambda signum, frame: self.terminal_gone())
        threading.Thread(target=self._watch, name="terminal-watch", daemon=True).start()
        return True

    def stop(self) -> None:
        self._stopped.set()

    def _watch(self) -> None:
        assert self.fd is not None
        while not self._stopped.wait(WATCH_S):
            if not _is_terminal(self.fd):
                self.terminal_gone()
                return

    @staticmethod
    def _end_now() -> None:
        kill_live_groups()  # again: a command whose spawn was under way is registered by now
        os._exit(HANGUP_EXIT_CODE)

    def terminal_gone(self) -> None:
        if self._gone.is_set():
            return
        self._gone.set()
        kill_live_groups()
        last_resort = threading.Timer(EXIT_GRACE_S, self._end_now)
        last_resort.daemon = True  # a clean exit before it fires is not held up
        last_resort.start()
        try:
            self.exit_app()
        except Exception:  # the loop may be gone already; the timer above ends the process
            pass
