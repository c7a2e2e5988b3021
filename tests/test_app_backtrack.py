"""Esc Esc in the app: the picker of earlier messages, the draft, the fork sent, files restored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.app_support import SIZE, calm, confirm_ready, type_text, until
from tests.engine_support import make_session
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tests.git_support import ScratchRepo, one_file_repo
from tui import protocol as ev
from tui.app.app import CodeloopApp
from tui.app.backtrack import ARMED_HINT
from tui.app.screens.confirm import ConfirmScreen
from tui.app.widgets.backtrack_popup import BacktrackPopup
from tui.app.widgets.composer import Composer
from tui.app.widgets.conversation import UserCell

EDIT = "*** Begin Patch\n*** Update File: a.txt\n@@\n-one\n+two\n*** Add File: new.txt\n+new\n*** End Patch\n"


def _text(item: dict[str, Any]) -> str:
    return "".join(p.get("text", "") for p in item.get("content", []))


def _users(app: CodeloopApp) -> list[str]:
    return [c.message for c in app.query(UserCell)]


async def _send(pilot: Any, app: CodeloopApp, text: str) -> None:
    turns = app.session.tasks.count
    await type_text(pilot, text)
    await pilot.press("enter")
    await until(pilot, lambda: app.session.tasks.count > turns and not app.session.turn_running)


async def _three_messages(pilot: Any, app: CodeloopApp, fake: FakeOpenAI) -> None:
    for word in ("one", "two", "three"):
        fake.queue_response(fe.turn(fe.message_item(f"answer {word}")))
        await _send(pilot, app, word)


async def test_esc_esc_lists_earlier_messages_newest_first_and_enter_edits_the_chosen(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await _three_messages(pilot, app, fake_openai)
        composer, popup = app.query_one(Composer), app.query_one(BacktrackPopup)
        await pilot.press("escape")
        assert composer.border_title == ARMED_HINT and not popup.is_open
        await pilot.press("escape")
        await until(pilot, lambda: popup.is_open)
        assert [m.text for m in popup.matches] == ["three", "two", "one"]
        await pilot.press("down", "enter")
        await until(pilot, lambda: composer.text == "two")
        assert not popup.is_open and "editing a fork from message 2" in str(composer.border_title)
        fake_openai.queue_response(fe.turn(fe.message_item("answer to the edit")))
        await type_text(pilot, " again")
        await pilot.press("enter")
        await until(pilot, lambda: _users(app) == ["one", "two again"] and not app.session.turn_running)
        assert not composer.border_title
        body = fake_openai.responses_bodies()[-1]
        assert [_text(i) for i in body["input"] if i.get("role") == "user"][-2:] == ["one", "two again"]
        answers = [_text(i) for i in body["input"] if i.get("role") == "assistant"]
        assert answers == ["answer one"], "the old branch is not sent"


async def test_esc_cancels_the_picker_then_the_draft_and_nothing_is_forked(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await _three_messages(pilot, app, fake_openai)
        composer, popup = app.query_one(Composer), app.query_one(BacktrackPopup)
        await pilot.press("escape", "escape")
        await until(pilot, lambda: popup.is_open)
        await pilot.press("escape")
        await until(pilot, lambda: not popup.is_open)
        assert composer.text == ""
        await pilot.press("escape", "escape", "enter")  # the newest: "three"
        await until(pilot, lambda: composer.text == "three")
        await pilot.press("escape")  # unedited: the composer empties
        await until(pilot, lambda: composer.text == "" and not composer.border_title)
        await pilot.press("escape", "escape", "enter")
        await until(pilot, lambda: composer.text == "three")
        await type_text(pilot, "!")
        await pilot.press("escape")  # edited: the text stays, as a plain message now
        await until(pilot, lambda: not composer.border_title)
        assert composer.text == "three!"
        assert _users(app) == ["one", "two", "three"] and len(fake_openai.responses_bodies()) == 3


async def test_keys_typed_after_esc_esc_close_the_picker_and_are_typed_in_order(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await _three_messages(pilot, app, fake_openai)
        await pilot.press("escape", "escape", "h", "i", "escape", "escape")
        composer = app.query_one(Composer)
        await until(pilot, lambda: composer.text == "hi")
        assert not app.query_one(BacktrackPopup).is_open, "Esc Esc with text in the composer opens nothing"


async def test_esc_while_a_turn_runs_interrupts_and_opens_no_picker(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        fake_openai.queue_response(fe.turn(fe.message_item("answer one")))
        await _send(pilot, app, "one")
        fake_openai.queue_response(fe.turn(fe.function_call_item("s1", "shell", '{"command": ["sleep", "30"]}')))
        await type_text(pilot, "slow")
        await pilot.press("enter")
        await until(pilot, lambda: app.session.turn_running)
        await pilot.press("escape", "escape")
        await until(pilot, lambda: not app.session.turn_running)
        await pilot.pause(0.2)
        assert not app.query_one(BacktrackPopup).is_open
        assert not app.query_one(Composer).border_title, "the Esc after the interrupting one arms nothing"
        await pilot.press("escape")
        assert app.query_one(Composer).border_title == ARMED_HINT
        assert any("<turn_aborted>" in _text(i) for i in app.session.history)


async def test_sending_the_draft_asks_to_restore_files_and_y_restores_them(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    ws = one_file_repo(tmp_path / "ws")
    app = CodeloopApp(make_session(fake_openai, ws))
    async with app.run_test(size=SIZE) as pilot:
        fake_openai.queue_response(fe.turn(fe.custom_tool_call_item("p1", "apply_patch", EDIT)))
        fake_openai.queue_response(fe.turn(fe.message_item("edited")))
        await _send(pilot, app, "edit")
        assert (ws / "a.txt").read_text() == "two\n"
        await pilot.press("escape", "escape")
        await until(pilot, lambda: app.query_one(BacktrackPopup).is_open)
        await pilot.press("enter")
        await until(pilot, lambda: app.query_one(Composer).text == "edit")
        await type_text(pilot, " gently")
        fake_openai.queue_response(fe.turn(fe.message_item("done gently")))
        await pilot.press("enter")
        await until(pilot, lambda: confirm_ready(app))
        question = str(app.screen.query_one("Label").render())
        assert "a.txt" in question and "new.txt" in question and "2 file(s)" in question
        await pilot.press("y")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen) and _users(app) == ["edit gently"])
        await until(pilot, lambda: not app.session.turn_running)
        assert (ws / "a.txt").read_text() == "one\n" and not (ws / "new.txt").exists()


async def test_a_file_name_with_markup_and_escapes_is_shown_as_text_in_the_question(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """The repository names the files: `[bold]` must not be read as markup, nor ESC reach the terminal."""
    ws = tmp_path / "ws"
    ScratchRepo(ws).commit(**{"a.txt": "one\n"})
    app = CodeloopApp(make_session(fake_openai, ws))
    evil = "[bold]x[red]\x1b]52;c;AAAA\x07.txt"
    async with app.run_test(size=SIZE) as pilot:
        fake_openai.queue_response(fe.turn(fe.message_item("ok")))
        await _send(pilot, app, "hello")
        (ws / evil).write_text("planted\n")
        await pilot.press("escape", "escape")
        await until(pilot, lambda: app.query_one(BacktrackPopup).is_open)
        await pilot.press("enter")
        await until(pilot, lambda: app.query_one(Composer).text == "hello")
        fake_openai.queue_response(fe.turn(fe.message_item("again")))
        await pilot.press("enter")
        await until(pilot, lambda: confirm_ready(app))
        shown = str(app.screen.query_one("Label").render())
        assert "[bold]x[red]" in shown and "\x1b" not in shown and "\x07" not in shown
        await pilot.press("n")
        await until(pilot, lambda: _users(app) == ["hello"] and not app.session.turn_running and len(fake_openai.responses_bodies()) == 2)
        assert (ws / evil).exists(), "n keeps the files"


SNAPSHOT_MESSAGES = ("Fix the failing test in textstats", "Now add a [b]docstring[/b] to word_count", "Run the tests again")


def _snapshot_app(fake: FakeOpenAI) -> CodeloopApp:
    workspace = Path("/tmp/codeloop-snapshots/workspace")
    workspace.mkdir(parents=True, exist_ok=True)
    for word in SNAPSHOT_MESSAGES:
        fake.queue_response(fe.turn(fe.message_item(f"Done: {word.lower()}.")))
    return CodeloopApp(make_session(fake, workspace, policy="untrusted", sandbox="workspace-write"), branch="main")


async def _picker_on_the_second(pilot: Any, app: CodeloopApp) -> None:
    calm(app)
    for word in SNAPSHOT_MESSAGES:
        await _send(pilot, app, word)
    await pilot.press("escape", "escape")
    await until(pilot, lambda: app.query_one(BacktrackPopup).is_open)
    await pilot.press("down")


def test_snapshot_of_the_backtrack_picker(snap_compare: Any, fake_openai: FakeOpenAI) -> None:
    app = _snapshot_app(fake_openai)

    async def run_before(pilot: Any) -> None:
        await _picker_on_the_second(pilot, app)
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(120, 36), run_before=run_before)


def test_snapshot_of_the_draft_with_its_indicator(snap_compare: Any, fake_openai: FakeOpenAI) -> None:
    app = _snapshot_app(fake_openai)

    async def run_before(pilot: Any) -> None:
        await _picker_on_the_second(pilot, app)
        await pilot.press("enter")
        await until(pilot, lambda: app.query_one(Composer).text == SNAPSHOT_MESSAGES[1])
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(120, 36), run_before=run_before)


async def test_the_forked_event_from_another_face_only_adds_a_notice(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await app.show_event(ev.HistoryForked(0, 2, 5, ["x.py"]))
        await pilot.pause()
        notices = [str(c.render()) for c in app.query("NoticeCell")]
        assert any("Forked at your message 1" in n and "x.py" in n for n in notices)


@pytest.mark.parametrize(("data", "keys"), [
    ("\x1b\x1b\r", ["escape", "escape", "enter"]),  # Esc Esc Enter at once: the second Esc stays
    ("\x1b\x1b\x7f", ["escape", "escape", "backspace"]),
    ("\x1b\x1b\x1b[B\r", ["escape", "escape", "down", "enter"]),
    ("\x1b\r", ["enter"]),  # Alt+Enter alone is as Textual reads it
    ("\x1b\x7f", ["ctrl+w"]),  # Alt+Backspace: delete a word, as before
    ("x\x1b\r", ["x", "enter"]),
])
def test_a_control_key_right_after_esc_is_esc_then_that_key(data: str, keys: list[str]) -> None:
    from tui.app.escape_keys import EscapeAwareParser

    parser = EscapeAwareParser()
    tokens = [*parser.feed(data), *parser.feed("")]
    assert [getattr(t, "key", None) for t in tokens] == keys


async def test_the_picker_shows_control_sequences_in_a_message_as_text(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """A message pasted with terminal escapes (a clipboard, a log) is listed, never replayed."""
    from tui.engine.context import message

    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        fake_openai.queue_response(fe.turn(fe.message_item("ok")))
        await _send(pilot, app, "plain")
        app.session.history.append(message("user", "pasted \x1b]52;c;ZXZpbA==\x07 and \x1b[2J[b]bold?"))
        await pilot.press("escape", "escape")
        popup = app.query_one(BacktrackPopup)
        await until(pilot, lambda: popup.is_open)
        shown = str(popup.get_option_at_index(0).prompt)
        assert "\x1b" not in shown and "\x07" not in shown and "[b]bold?" in shown
        assert [m.nth for m in popup.matches] == [1, 0]


def test_exec_prints_the_fork_as_one_neutralized_line() -> None:
    import io

    from tui.exec_progress import Progress as _Progress
    from tui.safety.redact import default_redactor

    out = io.StringIO()
    _Progress(out, default_redactor(), answer=io.StringIO()).show(ev.HistoryForked(2, 14, 9, ["a.py", "evil\x1b[2J.py"]))
    line = out.getvalue()
    assert line.startswith("Forked at your message 3") and "9 item(s)" in line and "a.py" in line
    assert "\x1b" not in line


async def test_esc_esc_with_no_earlier_message_says_so_and_opens_nothing(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await until(pilot, lambda: app.session is not None)
        await pilot.press("escape", "escape")
        await until(pilot, lambda: any("No earlier message" in n.message for n in app._notifications))
        assert not app.query_one(BacktrackPopup).is_open


async def test_a_draft_whose_message_is_gone_goes_back_to_the_composer_unsent(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """Another face forked meanwhile: sending the draft forks nothing and loses nothing."""
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await _three_messages(pilot, app, fake_openai)
        await pilot.press("escape", "escape", "down", "enter")
        composer = app.query_one(Composer)
        await until(pilot, lambda: composer.text == "two")
        fake_openai.queue_response(fe.turn(fe.message_item("forked elsewhere")))
        await app.session.submit(ev.Backtrack(0, "from another face"))
        await until(pilot, lambda: not app.session.turn_running and len(fake_openai.responses_bodies()) == 4)
        await type_text(pilot, "!")
        await pilot.press("enter")
        await until(pilot, lambda: composer.text == "two!")
        notices = [str(c.render()) for c in app.query("NoticeCell")]
        assert any("nothing was forked" in n for n in notices)
        assert len(fake_openai.responses_bodies()) == 4 and not composer.border_title


async def test_in_a_resumed_session_the_fork_reaches_messages_from_before_the_resume(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    import argparse

    from tui.config import load_config, resolve_provider
    from tui.engine.bootstrap import build_session, resume_session

    ws, home = tmp_path / "ws", tmp_path / "home"
    ws.mkdir()
    env = {"CODELOOP_HOME": str(home), "OPENAI_API_KEY": "k", "OPENAI_BASE_URL": fake_openai.base_url, "HOME": str(home)}
    rc = load_config(argparse.Namespace(cd=str(ws), yolo=True), env=env)
    provider = resolve_provider(rc, env)
    live = build_session(rc, provider, interactive=False)
    for word in ("one", "two"):
        fake_openai.queue_response(fe.turn(fe.message_item(f"answer {word}")))
        await live.submit(ev.UserInput(word))
        while not isinstance(await live.next_event(), ev.TurnCompleted):
            pass
    await live.submit(ev.Shutdown())
    assert live.rollout is not None
    sess = resume_session(rc, provider, live.rollout.path, interactive=True)
    app = CodeloopApp(sess, resumed=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: _users(app) == ["one", "two"])
        await pilot.press("escape", "escape", "down", "enter")
        await until(pilot, lambda: app.query_one(Composer).text == "one")
        fake_openai.queue_response(fe.turn(fe.message_item("answer one, resumed")))
        await type_text(pilot, " more")
        await pilot.press("enter")
        await until(pilot, lambda: _users(app) == ["one more"] and not app.session.turn_running)
        body = fake_openai.responses_bodies()[-1]
        assert [_text(i) for i in body["input"] if i.get("role") == "assistant"] == []
        assert _text(body["input"][-1]) == "one more"
    await sess.submit(ev.Shutdown())
