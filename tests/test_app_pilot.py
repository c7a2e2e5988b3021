"""The app driven by keyboard (Textual Pilot) against the local scripted server."""

from __future__ import annotations

from pathlib import Path

from tests.app_support import RUN_PY, SIZE, idle, type_text, until, until_approval_ready
from tests.engine_support import make_session, outputs_by_call, shell_call
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui.app.app import CodeloopApp
from tui.app.widgets.conversation import AnswerCell, NoticeCell, ToolCell, UserCell


async def test_enter_sends_and_the_answer_streams_in(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(fe.message_item("**Hello** from the model")))
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "hi there")
        await pilot.press("enter")
        await until(pilot, lambda: idle(app) and [a for a in app.query(AnswerCell) if a.done])
        assert [str(c.render()) for c in app.query(UserCell)] == ["hi there"]
        [answer] = app.query(AnswerCell)
        assert answer.done and answer.text == "**Hello** from the model"
    body = fake_openai.responses_bodies()[0]
    assert body["input"][-1]["content"][0]["text"] == "hi there"


async def test_shell_approval_modal_y_runs_the_command(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(shell_call("c1", RUN_PY)))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    app = CodeloopApp(make_session(fake_openai, tmp_path, policy="untrusted", sandbox="workspace-write"))
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "go")
        await pilot.press("enter")
        await until_approval_ready(pilot, app)
        await pilot.press("y")
        # The cell shows the result when its event arrives, which may be after the turn is idle.
        await until(pilot, lambda: idle(app) and app.query(ToolCell) and app.query(ToolCell).first().result is not None)
        cell = app.query(ToolCell).first()
        assert cell.result is not None and "exit 0" in cell.result
    assert outputs_by_call(fake_openai.responses_bodies()[1])["c1"].startswith("Exit code: 0")


async def test_n_denies_and_the_model_is_told(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(shell_call("c1", RUN_PY)))
    fake_openai.queue_response(fe.turn(fe.message_item("ok, not running it")))
    app = CodeloopApp(make_session(fake_openai, tmp_path, policy="untrusted", sandbox="workspace-write"))
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "go")
        await pilot.press("enter")
        await until_approval_ready(pilot, app)
        await pilot.press("n")
        await until(pilot, lambda: idle(app))
        assert not app.query(ToolCell)
    assert "declined" in outputs_by_call(fake_openai.responses_bodies()[1])["c1"]


async def test_escape_in_the_modal_aborts_the_turn(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(shell_call("c1", RUN_PY)))
    app = CodeloopApp(make_session(fake_openai, tmp_path, policy="untrusted", sandbox="workspace-write"))
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "go")
        await pilot.press("enter")
        await until_approval_ready(pilot, app)
        await pilot.press("escape")
        await until(pilot, lambda: idle(app) and any("aborted" in str(n.render()) for n in app.query(NoticeCell)))
    assert app.session.history[-1]["content"][0]["text"].startswith("<turn_aborted>")


async def test_escape_interrupts_a_running_command(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(shell_call("c1", ["sleep", "60"])))
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "go")
        await pilot.press("enter")
        await until(pilot, lambda: bool(app.query(ToolCell)))
        await pilot.press("escape")
        await until(pilot, lambda: idle(app), timeout=5)
    [output] = [i for i in app.session.history if i.get("type") == "function_call_output"]
    assert output["call_id"] == "c1" and output["output"].startswith("Exit code: 130\nWall time: ")
    assert "\naborted by user" in output["output"]


async def test_message_typed_during_a_turn_is_queued_and_sent_after(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    import threading

    release = threading.Event()

    def held_answer(body: dict) -> list:
        release.wait(20)  # the turn stays running until the test has typed its second message
        return fe.turn(fe.message_item("first answer"))

    fake_openai.queue_handler(held_answer)
    fake_openai.queue_response(fe.turn(fe.message_item("second answer")))
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "one")
        await pilot.press("enter")
        await until(pilot, lambda: app.session.turn_running)
        await type_text(pilot, "two")
        await pilot.press("enter")
        assert app.queued == ["two"]
        release.set()
        await until(pilot, lambda: len(fake_openai.responses_bodies()) == 2 and idle(app))
    second = fake_openai.responses_bodies()[1]["input"]
    assert second[-1]["content"][0]["text"] == "two"


async def test_slash_commands_change_settings_or_say_what_is_missing(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        for line in ("/approvals on-request", "/bogus"):
            await type_text(pilot, line)
            await pilot.press("enter")
        await until(pilot, lambda: any("Unknown command '/bogus'" in str(n.render()) for n in app.query(NoticeCell)))
        notices = [str(n.render()) for n in app.query(NoticeCell)]
        assert app.session.settings.approval_policy == "on-request"
        assert any("Unknown command '/bogus'" in n for n in notices)
