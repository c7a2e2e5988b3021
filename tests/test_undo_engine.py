"""/undo through the engine and the app: snapshot before each turn, restore, tell the model."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.app_support import confirm_ready, idle, type_text, until
from tests.engine_support import collect, make_session, of_type, run_turn
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tests.git_support import one_file_repo
from tui import protocol as ev
from tui.app.app import CodeloopApp
from tui.app.screens.confirm import ConfirmScreen
from tui.app.widgets.composer import Composer

EDIT = "*** Begin Patch\n*** Update File: a.txt\n@@\n-one\n+two\n*** Add File: new.txt\n+new\n*** End Patch\n"


async def test_undo_restores_the_tree_and_appends_a_note(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    ws = one_file_repo(tmp_path)
    fake_openai.queue_response(fe.turn(fe.custom_tool_call_item("p1", "apply_patch", EDIT)))
    fake_openai.queue_response(fe.turn(fe.message_item("edited")))
    fake_openai.queue_response(fe.turn(fe.message_item("noted")))
    sess = make_session(fake_openai, ws)
    await run_turn(sess, "edit")
    assert (ws / "a.txt").read_text() == "two\n" and (ws / "new.txt").exists()
    await sess.submit(ev.Undo())
    events = await collect(sess)
    [done] = of_type(events, ev.UndoDone)
    assert sorted(done.paths) == ["a.txt", "new.txt"]
    assert (ws / "a.txt").read_text() == "one\n" and not (ws / "new.txt").exists()
    await run_turn(sess, "what happened?")
    body = fake_openai.responses_bodies()[-1]
    notes = [p["text"] for i in body["input"] if i.get("role") == "user" for p in i["content"] if "<undo>" in p["text"]]
    assert len(notes) == 1 and "a.txt" in notes[0]
    assert subprocess.run(["git", "status", "--porcelain"], cwd=ws, capture_output=True, text=True).stdout == ""


async def test_undo_outside_a_repository_says_it_is_unavailable(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(fe.message_item("hi")))
    sess = make_session(fake_openai, tmp_path)
    await run_turn(sess, "hello")
    await sess.submit(ev.Undo())
    events = await collect(sess)
    assert "not inside a git repository" in of_type(events, ev.WarningIssued)[0].message


async def test_slash_undo_asks_first_and_n_changes_nothing(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    ws = one_file_repo(tmp_path)
    fake_openai.queue_response(fe.turn(fe.custom_tool_call_item("p1", "apply_patch", EDIT)))
    fake_openai.queue_response(fe.turn(fe.message_item("edited")))
    app = CodeloopApp(make_session(fake_openai, ws))
    async with app.run_test(size=(140, 40)) as pilot:
        await type_text(pilot, "edit")
        await pilot.press("enter")
        await until(pilot, lambda: idle(app) and (ws / "new.txt").exists() and not app.session.turn_running)
        await type_text(pilot, "/undo")
        await pilot.press("enter")
        await until(pilot, lambda: confirm_ready(app))
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert (ws / "a.txt").read_text() == "two\n"
        await type_text(pilot, "/undo")
        await pilot.press("enter")
        await until(pilot, lambda: confirm_ready(app))
        await pilot.press("y")
        await until(pilot, lambda: (ws / "a.txt").read_text() == "one\n" and not app.session.turn_running)
        assert not (ws / "new.txt").exists()


async def test_type_ahead_never_answers_the_undo_confirmation(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """`/undo`, then Enter and a `y` in one burst: the `y` was typed before the question was on
    screen, so it goes to the composer and the files stay; only a `y` after the guard undoes."""
    ws = one_file_repo(tmp_path)
    fake_openai.queue_response(fe.turn(fe.custom_tool_call_item("p1", "apply_patch", EDIT)))
    fake_openai.queue_response(fe.turn(fe.message_item("edited")))
    app = CodeloopApp(make_session(fake_openai, ws))
    async with app.run_test(size=(140, 40)) as pilot:
        await type_text(pilot, "edit")
        await pilot.press("enter")
        await until(pilot, lambda: idle(app) and (ws / "a.txt").read_text() == "two\n")
        await type_text(pilot, "/undo")
        await until(pilot, lambda: app.query_one(Composer).text == "/undo")
        await pilot.press("enter", "y")  # the y arrives before the question is on screen
        await until(pilot, lambda: confirm_ready(app))
        assert (ws / "a.txt").read_text() == "two\n"
        assert app.query_one(Composer).text == "y"
        await pilot.press("y")
        await until(pilot, lambda: (ws / "a.txt").read_text() == "one\n")
