"""`!cmd` typed in the composer: run by the engine, shown as a tool cell, told to the model."""

from __future__ import annotations

import threading
from pathlib import Path

from tests.app_support import SIZE, type_text, until
from tests.engine_support import make_session
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui.app.app import CodeloopApp
from tui.app.widgets.conversation import ToolCell, UserCell


def _done(app: CodeloopApp) -> bool:
    cells = list(app.query(ToolCell))
    return bool(cells) and cells[-1].status is not None and not app.session.turn_running


async def test_bang_runs_the_command_in_a_tool_cell_and_the_model_sees_it(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(fe.message_item("Noted.")))
    app = CodeloopApp(make_session(fake_openai, tmp_path, policy="untrusted", sandbox="workspace-write"))
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "!echo hi there")
        await pilot.press("enter")
        await until(pilot, lambda: _done(app))
        cell = app.query_one(ToolCell)
        rendered = str(cell.render())
        assert rendered.startswith("$ echo hi there\n") and "run by you" in rendered
        assert cell.result is not None and "exit 0" in cell.result and "hi there" in cell.result
        assert not app.query(UserCell) and fake_openai.responses_bodies() == []
        await type_text(pilot, "and?")
        await pilot.press("enter")
        await until(pilot, lambda: len(fake_openai.responses_bodies()) == 1 and not app.session.turn_running)
    body = fake_openai.responses_bodies()[0]["input"]
    assert "<command>\necho hi there\n</command>" in body[-2]["content"][0]["text"]


async def test_escape_stops_a_running_bang_command(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "!sleep 60")
        await pilot.press("enter")
        await until(pilot, lambda: bool(app.query(ToolCell)) and app.session.turn_running)
        await pilot.press("escape")
        await until(pilot, lambda: _done(app), timeout=15)
        result = app.query_one(ToolCell).result
        assert result is not None and "interrupted" in result
    assert "interrupted the command" in app.session.history[-1]["content"][0]["text"]


async def test_bang_typed_during_a_turn_waits_for_it(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    release = threading.Event()

    def held(body: dict) -> list:
        release.wait(20)
        return fe.turn(fe.message_item("first"))

    fake_openai.queue_handler(held)
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "work")
        await pilot.press("enter")
        await until(pilot, lambda: app.session.turn_running)
        await type_text(pilot, "!touch later.txt")
        await pilot.press("enter")
        assert app.queued == ["!touch later.txt"] and not (tmp_path / "later.txt").exists()
        release.set()
        await until(pilot, lambda: _done(app))
    assert (tmp_path / "later.txt").exists()
