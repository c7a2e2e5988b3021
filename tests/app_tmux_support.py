"""The real `codeloop` binary in tmux against the local scripted server, for input tests.

`LiveApp.start` runs `codeloop` in a tmux pane pointed at a `FakeOpenAI`, with its own
CODELOOP_HOME; the helpers read what the model was sent (the request bodies) and what was
recorded (the rollout), so a test compares them with what it typed, byte for byte.

Typing: `type_text(text + "\\r")` writes the whole burst in one `send-keys`, as a paste or a fast
typist does (a carriage return is what the Enter key sends). Waiting: always for a state on the
screen, in the server or in /proc, never for a fixed time.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fakeopenai import FakeOpenAI
from tests.tmux_driver import TmuxDriver, bottom_box, require_tmux

PLACEHOLDER = "Ask codeloop"
START_S = 60  # cold start on a loaded 2-core machine
STEP_S = 30


# An ignored signal stays ignored across exec: the program below inherits it.
IGNORE_HUP_THEN_EXEC = "import os, signal, sys; signal.signal(signal.SIGHUP, signal.SIG_IGN); os.execv(sys.argv[1], sys.argv[1:])"


def codeloop_exe() -> Path:
    exe = Path(sys.executable).parent / "codeloop"
    assert exe.exists(), f"the console script {exe} is missing; install the project (`pip install -e .`)"
    return exe


def user_texts(body: dict[str, Any]) -> list[str]:
    """The user's own messages in a request body (not the environment context codeloop adds)."""
    texts: list[str] = []
    for item in body.get("input", []):
        if item.get("type", "message") == "message" and item.get("role") == "user":
            for part in item.get("content", []):
                text = part.get("text", "")
                if part.get("type") == "input_text" and not text.startswith("<"):
                    texts.append(text)
    return texts


@dataclass
class LiveApp:
    tmux: TmuxDriver
    fake: FakeOpenAI
    home: Path
    workspace: Path
    first_frame_at: float = 0.0
    extra_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def start(
        cls, tmp_path: Path, fake: FakeOpenAI, *flags: str, width: int = 120, height: int = 36,
        env: dict[str, str] | None = None, ignore_hangup: bool = False, ready: str = PLACEHOLDER,
    ) -> LiveApp:
        """`ignore_hangup`: codeloop starts with SIGHUP ignored (as under nohup, or a parent that
        set it so), so only the terminal's end of input can tell it the terminal is gone.
        `ready`: what the composer shows once the first frame is up (its placeholder, or what
        the flags put there)."""
        home = tmp_path / "codeloop-home"
        workspace = tmp_path / "workspace"
        home.mkdir(exist_ok=True)
        workspace.mkdir(exist_ok=True)
        tmux = TmuxDriver(require_tmux(), width=width, height=height)
        full_env = {
            "TERM": "xterm-256color",
            "CODELOOP_HOME": str(home),
            "OPENAI_BASE_URL": fake.base_url,
            "OPENAI_API_KEY": "test-key",
            "HOME": os.environ.get("HOME", str(tmp_path)),
            **(env or {}),
        }
        app = cls(tmux, fake, home, workspace, extra_env=full_env)
        argv = [str(codeloop_exe()), *flags]
        if ignore_hangup:
            argv = [sys.executable, "-c", IGNORE_HUP_THEN_EXEC, *argv]
        tmux.start(argv, env=full_env, cwd=str(workspace))
        screen = tmux.wait_for(
            "the first frame (the composer's placeholder)",
            lambda s: ready in bottom_box(s) or "EXITED rc=" in s,
            timeout_s=START_S,
            poll_s=0.01,
        )
        app.first_frame_at = time.monotonic()
        assert "EXITED rc=" not in screen, f"codeloop did not start:\n{tmux.scrollback()}"
        return app

    def close(self) -> None:
        self.tmux.close()

    # ------------------------------------------------------------------ reading

    def composer(self) -> str:
        return bottom_box(self.tmux.screen())

    @staticmethod
    def composer_of(screen: str) -> str:
        return bottom_box(screen)

    def sent_messages(self) -> list[str]:
        """Every user message the model was sent, in order (the last request holds them all)."""
        bodies = self.fake.responses_bodies()
        return user_texts(bodies[-1]) if bodies else []

    def wait_sent(self, count: int, timeout_s: float = STEP_S) -> list[str]:
        deadline = time.monotonic() + timeout_s
        while len(self.sent_messages()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the model was sent {self.sent_messages()!r}, not {count} message(s); screen:\n{self.tmux.screen()}"
                )
            time.sleep(0.05)
        return self.sent_messages()

    def recorded_messages(self) -> list[str]:
        """The user messages in the session's rollout file."""
        texts: list[str] = []
        for rollout in sorted(self.home.glob("sessions/**/rollout-*.jsonl")):
            for line in rollout.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                item = record.get("item") or record.get("payload") or record
                if isinstance(item, dict):
                    texts += user_texts({"input": [item]})
        return texts

    def pid(self) -> int:
        """The codeloop process: the pane runs `sh -c 'env … codeloop …'`; env execs codeloop."""
        shell = int(self.tmux._run("display-message", "-p", "-t", self.tmux.session, "#{pane_pid}").stdout.strip())
        deadline = time.monotonic() + STEP_S
        while True:
            kids = children(shell)
            if kids:
                return kids[0]
            assert time.monotonic() < deadline, "codeloop's process never showed under the pane's shell"
            time.sleep(0.05)


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as f:
            return [int(p) for p in f.read().split()]
    except FileNotFoundError:
        return []


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    stack = [pid]
    while stack:
        for kid in children(stack.pop()):
            found.append(kid)
            stack.append(kid)
    return found


def alive(pid: int) -> bool:
    """Running and not a zombie (a zombie has ended; only its parent has not reaped it yet)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except FileNotFoundError:
        return ""


def wait_gone(pids: list[int], timeout_s: float) -> float:
    """Seconds until every pid is gone; fails with the survivors after `timeout_s`."""
    start = time.monotonic()
    while True:
        left = [p for p in pids if alive(p)]
        if not left:
            return time.monotonic() - start
        if time.monotonic() - start > timeout_s:
            named = [f"{p} {_cmdline(p)!r}" for p in left]
            for p in left:  # leave nothing behind for the next test
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            raise AssertionError(f"still running after {timeout_s}s: {named}")
        time.sleep(0.02)


def poll(what: str, condition: Callable[[], Any], timeout_s: float = STEP_S) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(0.02)


def live_app(tmp_path: Path, fake: FakeOpenAI, *flags: str, **kwargs: Any) -> Iterator[LiveApp]:
    app = LiveApp.start(tmp_path, fake, *flags, **kwargs)
    try:
        yield app
    finally:
        app.close()


def touch_on_request(fake: FakeOpenAI, prefix: str = "go ", delay: Callable[[int], float] = lambda n: 0.0) -> None:
    """Script the fake for any number of turns: a user message `<prefix>N` gets a shell call
    that touches `ran-N` (paced by `delay(N)` seconds a frame); anything else gets a short answer.
    A file `ran-N` in the workspace is then proof that call N was approved."""
    import json as _json

    from tests.fakeopenai import events as fe
    from tui.fakeserver.server import Paced

    def answer(body: dict[str, Any]) -> Any:
        last = body["input"][-1]
        texts = user_texts({"input": [last]})
        if texts and texts[0].startswith(prefix):
            n = int(texts[0][len(prefix):].split()[0])
            call = fe.function_call_item(f"c{n}", "shell", _json.dumps({"command": ["touch", f"ran-{n}"]}))
            return Paced(fe.turn(call), delay=delay(n))
        return fe.turn(fe.message_item(f"noted {len(user_texts(body))}"))

    for _ in range(200):
        fake.queue_handler(answer)
