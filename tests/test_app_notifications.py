"""Desktop notifications (OSC 9) when an approval waits or a turn ends while the terminal is not focused."""

from __future__ import annotations

import threading
from pathlib import Path

from textual import events

from tests.app_support import SIZE, idle, type_text, until, until_approval_ready
from tests.engine_support import make_session, shell_call
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui.app.app import CodeloopApp
from tui.app.notify import MAX_CHARS, osc9
from tui.config import TuiSettings


def _capture(app: CodeloopApp) -> list[str]:
    """What the app writes to the terminal through its driver (the headless one drops it)."""
    written: list[str] = []
    driver = app._driver
    assert driver is not None
    original = driver.write
    driver.write = lambda data: (written.append(data), original(data))[1]  # type: ignore[method-assign]
    return written


def _notifications(written: list[str]) -> list[str]:
    return [w for w in written if w.startswith("\x1b]9;")]


async def _blur(pilot, app: CodeloopApp) -> None:  # type: ignore[no-untyped-def]
    app.post_message(events.AppBlur())
    await until(pilot, lambda: not app.app_focus)


def _held(fake: FakeOpenAI, *items: list) -> threading.Event:
    """The next response waits until the returned event is set: time for the user to look away."""
    release = threading.Event()

    def answer(body: dict) -> list:
        release.wait(20)
        return fe.turn(*items)

    fake.queue_handler(answer)
    return release


async def _one_turn(pilot, app: CodeloopApp, release: threading.Event, *, blur: bool) -> None:  # type: ignore[no-untyped-def]
    # Typing tells Textual the window has focus, so the user looks away only after sending.
    await type_text(pilot, "go")
    await pilot.press("enter")
    await until(pilot, lambda: app.session.turn_running)
    if blur:
        await _blur(pilot, app)
    release.set()
    await until(pilot, lambda: idle(app))
    await pilot.pause(0.1)


async def test_turn_end_notifies_when_the_terminal_is_not_focused(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    release = _held(fake_openai, fe.message_item("All tests pass now.\nDetails follow."))
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        written = _capture(app)
        await _one_turn(pilot, app, release, blur=True)
    assert _notifications(written) == ["\x1b]9;codeloop: done: All tests pass now.\x07"]


async def test_waiting_approval_notifies_when_not_focused(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    release = _held(fake_openai, shell_call("c1", ["python3", "-c", "print(1)"]))
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    app = CodeloopApp(make_session(fake_openai, tmp_path, policy="untrusted", sandbox="workspace-write"))
    async with app.run_test(size=SIZE) as pilot:
        written = _capture(app)
        await type_text(pilot, "go")
        await pilot.press("enter")
        await until(pilot, lambda: app.session.turn_running)
        await _blur(pilot, app)
        release.set()
        await until_approval_ready(pilot, app)
        assert _notifications(written) == ["\x1b]9;codeloop: approval needed to run python3 -c 'print(1)'\x07"]
        await pilot.press("n")
        await until(pilot, lambda: idle(app))


async def test_no_notification_while_focused(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        written = _capture(app)
        await _one_turn(pilot, app, _held(fake_openai, fe.message_item("first")), blur=False)
        assert _notifications(written) == []
        release = _held(fake_openai, fe.message_item("second"))
        await type_text(pilot, "go")
        await pilot.press("enter")
        await until(pilot, lambda: app.session.turn_running)
        await _blur(pilot, app)
        app.post_message(events.AppFocus())  # the user came back before the turn ended
        await until(pilot, lambda: app.app_focus)
        release.set()
        await until(pilot, lambda: idle(app) and len(fake_openai.responses_bodies()) == 2)
        await pilot.pause(0.1)
    assert _notifications(written) == []


async def test_no_notification_when_disabled(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    release = _held(fake_openai, fe.message_item("done"))
    app = CodeloopApp(make_session(fake_openai, tmp_path), tui=TuiSettings(notifications=False))
    async with app.run_test(size=SIZE) as pilot:
        written = _capture(app)
        await _one_turn(pilot, app, release, blur=True)
    assert _notifications(written) == []


def test_message_cannot_break_out_of_the_sequence() -> None:
    seq = osc9("evil\x07\x1b]52;c;AAAA\x07 and\nmore" + "x" * 500)
    body = seq[len("\x1b]9;") : -1]
    assert seq.endswith("\x07") and not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in body)
    assert body.startswith("evil ]52;c;AAAA and more") and len(body) == MAX_CHARS and body.endswith("…")
