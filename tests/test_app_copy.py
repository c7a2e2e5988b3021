"""Copying out of the app: /copy, c on a command, Ctrl+C on a selection. What is copied is sent
to the terminal as OSC 52 (works over SSH); Pilot checks the text (`App.clipboard`), and the
tmux test checks the payload the terminal received, byte for byte."""

from __future__ import annotations

from pathlib import Path

from tests.app_support import SIZE, idle, type_text, until
from tests.app_tmux_support import live_app
from tests.tmux_driver import TmuxDriver, cell_slice, find_cell
from tests.engine_support import make_session, shell_call
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui.app.app import CodeloopApp
from tui.app.widgets.composer import Composer
from tui.app.widgets.conversation import ToolCell

ANSWER = "Run `pytest -q` in ./textstats — then «ünïcode» & $HOME stay as typed."


async def test_slash_copy_copies_the_last_answer(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(fe.message_item("an older answer")))
    fake_openai.queue_response(fe.turn(fe.message_item(ANSWER)))
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        for text in ("one", "two"):
            await type_text(pilot, text)
            await pilot.press("enter")
            await until(pilot, lambda: idle(app) and len(fake_openai.responses_bodies()) == (1 if text == "one" else 2))
        await type_text(pilot, "/copy")
        await pilot.press("enter")
        await until(pilot, lambda: app.clipboard == ANSWER)


async def test_c_on_a_focused_command_copies_its_command_line(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(shell_call("c1", ["echo", "two words", "x'y"])))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    app = CodeloopApp(make_session(fake_openai, tmp_path, policy="never"))
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "go")
        await pilot.press("enter")
        await until(pilot, lambda: idle(app) and bool(app.query(ToolCell)))
        app.screen.set_focus(app.query_one(ToolCell))
        await pilot.press("c")
        await until(pilot, lambda: app.clipboard == "echo 'two words' 'x'\"'\"'y'")
        assert app.query_one(Composer).text == ""  # c was the cell's key, not text


async def test_ctrl_c_with_a_selection_copies_and_does_not_arm_quit(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "copy me please")
        composer = app.query_one(Composer)
        composer.select_all()
        await pilot.press("ctrl+c")
        await until(pilot, lambda: app.clipboard == "copy me please")
        assert not app._ctrl_c_armed
        await pilot.press("ctrl+c")  # nothing selected now: the usual arming
        assert app._ctrl_c_armed and app.is_running


def test_osc52_payload_the_terminal_receives_is_exactly_the_answer(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    """tmux with set-clipboard on stores what an OSC 52 carries in its paste buffer."""
    fake_openai.queue_response(fe.turn(fe.message_item(ANSWER)))
    for app in live_app(tmp_path, fake_openai):
        app.tmux._run("set-option", "-s", "set-clipboard", "on")
        app.tmux.type_text("hi\r")
        app.tmux.wait_for_text("stay as typed", timeout_s=30)
        app.tmux.type_text("/copy\r")
        app.tmux.wait_for_text("Copied the last answer", timeout_s=30)
        buffer = app.tmux._run("show-buffer", check=False).stdout
        assert buffer == ANSWER


def _sgr_mouse(tmux: TmuxDriver, button: int, column: int, row: int, release: bool = False) -> None:
    """One SGR mouse report, as the terminal writes it (1-based), sent as raw bytes (`-H`)."""
    report = f"\x1b[<{button};{column + 1};{row + 1}{'m' if release else 'M'}"
    tmux._run("send-keys", "-t", tmux.session, "-H", *(f"{b:02x}" for b in report.encode()))


def _drag(tmux: TmuxDriver, row: int, start: int, end: int) -> None:
    """Press at `start`, move cell by cell to `end` with the button held, release there."""
    _sgr_mouse(tmux, 0, start, row)
    for column in range(start + 1, end + 1):
        _sgr_mouse(tmux, 32, column, row)  # 32: motion with the left button held
    _sgr_mouse(tmux, 0, end, row, release=True)


MOUSE_ANSWER = "alpha beta gamma delta, then `pytest -q` and ./src/main.py"


def test_ctrl_c_after_a_mouse_drag_copies_exactly_the_selected_words(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    """Real SGR mouse reports over an answer (a Markdown answer: Rich renders it, and Textual
    could not select in a Rich rendering before answers were drawn as Content), then Ctrl+C.
    What tmux's clipboard receives (OSC 52, set-clipboard on) is the selected text alone:
    no border, no side pane; and Ctrl+C did not arm quit. Five selections."""
    fake_openai.queue_response(fe.turn(fe.message_item(MOUSE_ANSWER)))
    for app in live_app(tmp_path, fake_openai):
        app.tmux._run("set-option", "-s", "set-clipboard", "on")
        app.tmux.type_text("hi\r")
        screen = app.tmux.wait_for_text("./src/main.py", timeout_s=30)
        found = find_cell(screen.splitlines(), "alpha beta")
        assert found is not None
        row, col = found
        shown = cell_slice(screen.splitlines()[row], col)
        for round_, word in enumerate(["alpha", "beta gamma", "pytest -q", "./src/main.py", "alpha beta gamma delta,"]):
            start = col + shown.index(word)
            _drag(app.tmux, row, start, start + len(word) - 1)
            app.tmux.press("C-c")
            app.tmux.wait_for(
                f"the copy of {word!r}",
                lambda s, n=len(word): f"Copied {n} characters." in s,
                timeout_s=30,
            )
            buffer = app.tmux._run("show-buffer", check=False).stdout
            assert buffer == word, (round_, buffer)
            assert "Press Ctrl+C again to quit" not in app.tmux.screen()
            app.tmux._run("delete-buffer", check=False)
            # The next round's notification must be its own: wait for this one to go.
            app.tmux.wait_for("the notification to close", lambda s: "Copied" not in s, timeout_s=30)
        assert app.tmux.screen().count("alpha beta gamma") == 1  # nothing typed into the composer
