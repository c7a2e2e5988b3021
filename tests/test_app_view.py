"""The conversation as the user watches it (Textual Pilot): following the newest output, the
"new output below" marker, running commands' live output, interrupted commands' cells."""

from __future__ import annotations

from pathlib import Path

from tests.app_support import idle, type_text, until
from tests.engine_support import make_session, shell_call
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tests.view_support import at_bottom
from tui.app.app import CodeloopApp
from tui.app.widgets.conversation import AnswerCell, Conversation, NoticeCell, PanelCell, ToolCell

SMALL = (80, 24)
LONG_ANSWER = "".join(f"line {i}\n\n" for i in range(40))


def _answers(app: CodeloopApp) -> int:
    return len([a for a in app.query(AnswerCell) if a.done])


async def _send(pilot, app: CodeloopApp, text: str) -> None:  # type: ignore[no-untyped-def]
    app.query_one("Composer").focus()
    await type_text(pilot, text)
    await pilot.press("enter")


async def test_new_output_follows_while_at_the_bottom(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(fe.message_item(LONG_ANSWER)))
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SMALL) as pilot:
        conv = app.query_one(Conversation)
        await _send(pilot, app, "go")
        await until(pilot, lambda: idle(app) and _answers(app) == 1 and at_bottom(conv))
        assert not conv.marker.has_class("-shown")


async def test_expanding_a_tool_cell_does_not_stop_following(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(fe.message_item(LONG_ANSWER), shell_call("c1", ["seq", "1", "60"])))
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    fake_openai.queue_response(fe.turn(fe.message_item(LONG_ANSWER)))
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SMALL) as pilot:
        conv = app.query_one(Conversation)
        await _send(pilot, app, "go")
        await until(pilot, lambda: idle(app) and _answers(app) == 2 and at_bottom(conv))
        cell = app.query_one(ToolCell)
        cell.focus()  # the last cell, in view at the bottom
        await pilot.press("enter")  # expands it: 60 lines, taller than the screen
        await until(pilot, lambda: cell.expanded)
        await pilot.pause(0.2)
        assert conv.following and at_bottom(conv)
        await pilot.press("enter")  # and collapses it
        await until(pilot, lambda: not cell.expanded)
        await pilot.pause(0.2)
        assert conv.following and at_bottom(conv)
        await pilot.press("enter")
        await until(pilot, lambda: cell.expanded)
        # The next output still follows, typed from the composer.
        await _send(pilot, app, "more")
        await until(pilot, lambda: idle(app) and _answers(app) == 3 and at_bottom(conv))


async def test_status_line_does_not_stop_following(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(fe.message_item(LONG_ANSWER)))
    fake_openai.queue_response(fe.turn(fe.message_item(LONG_ANSWER)))
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SMALL) as pilot:
        conv = app.query_one(Conversation)
        await _send(pilot, app, "go")
        await until(pilot, lambda: idle(app) and _answers(app) == 1)
        await _send(pilot, app, "/status")
        await until(pilot, lambda: any("approvals" in str(n.render()) for n in app.query(PanelCell)))
        await until(pilot, lambda: at_bottom(conv))
        await _send(pilot, app, "next")
        await until(pilot, lambda: idle(app) and _answers(app) == 2 and at_bottom(conv))


async def test_scrolled_up_a_marker_says_new_output_and_the_key_jumps_back(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    script = f"echo started; while [ ! -e {gate} ]; do sleep 0.05; done; seq 1 30"
    fake_openai.queue_response(fe.turn(fe.message_item(LONG_ANSWER)))
    fake_openai.queue_response(fe.turn(shell_call("c1", ["bash", "-c", script])))
    fake_openai.queue_response(fe.turn(fe.message_item(LONG_ANSWER)))
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SMALL) as pilot:
        conv = app.query_one(Conversation)
        await _send(pilot, app, "first")
        await until(pilot, lambda: idle(app) and _answers(app) == 1 and at_bottom(conv))
        await _send(pilot, app, "second")
        await until(pilot, lambda: "started" in str(app.query_one(ToolCell).render()))
        await pilot.pause(0.2)
        conv.scroll_home(animate=False)  # the user reads above
        await until(pilot, lambda: conv.scroll_y == 0)
        assert not conv.marker.has_class("-shown")  # nothing new yet
        gate.touch()
        await until(pilot, lambda: idle(app) and _answers(app) == 2)
        await until(pilot, lambda: conv.marker.has_class("-shown"))
        assert conv.scroll_y == 0, "new output moved the view while the user read above"
        await pilot.press("ctrl+end")
        await until(pilot, lambda: at_bottom(conv) and not conv.marker.has_class("-shown"))
        assert conv.following


async def test_sending_a_message_brings_the_conversation_to_the_bottom(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(fe.message_item(LONG_ANSWER)))
    fake_openai.queue_response(fe.turn(fe.message_item(LONG_ANSWER)))
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SMALL) as pilot:
        conv = app.query_one(Conversation)
        await _send(pilot, app, "first")
        await until(pilot, lambda: idle(app) and _answers(app) == 1)
        conv.scroll_home(animate=False)
        await until(pilot, lambda: conv.scroll_y == 0)
        await _send(pilot, app, "second")
        await until(pilot, lambda: idle(app) and _answers(app) == 2 and at_bottom(conv))
        assert conv.following


# ---------------------------------------------------------------- live output


async def test_running_command_shows_its_output_as_it_comes(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    script = f"for i in $(seq 1 20); do echo row-$i; done; while [ ! -e {gate} ]; do sleep 0.05; done; echo final-row"
    fake_openai.queue_response(fe.turn(shell_call("c1", ["bash", "-c", script])))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=(140, 40)) as pilot:
        await _send(pilot, app, "go")
        await until(pilot, lambda: app.query(ToolCell) and "row-20" in str(app.query_one(ToolCell).render()))
        cell = app.query_one(ToolCell)
        shown = str(cell.render())
        assert "running…" in shown and "row-15" in shown and "row-14\n" not in shown  # the last 6 lines
        assert cell.status is None
        gate.touch()
        await until(pilot, lambda: idle(app) and cell.status is not None)
        assert "final-row" in str(cell.render()) and "running…" not in str(cell.render())


async def test_interrupted_command_keeps_its_output_in_its_cell(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(shell_call("c1", ["bash", "-c", "echo printed-first; sleep 60"])))
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=(140, 40)) as pilot:
        await _send(pilot, app, "go")
        await until(pilot, lambda: app.query(ToolCell) and "printed-first" in str(app.query_one(ToolCell).render()))
        await pilot.press("escape")
        cell = app.query_one(ToolCell)
        await until(pilot, lambda: not app.session.turn_running and cell.status is not None)
        shown = str(cell.render())
        assert "interrupted" in shown and "printed-first" in shown and "running…" not in shown
        assert cell.has_class("-failed")
