"""Ctrl+T: the whole session in a pager, built from the session's log (not the widgets): search
with highlights, n/N, moving, copying the focused item or the selection, and closing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.app_support import SIZE, idle, type_text, until
from tests.engine_support import make_session, shell_call
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui import protocol as ev
from tui.app.app import CodeloopApp
from tui.app.screens.session import SessionScreen
from tui.app.screens.transcript import TranscriptScreen
from tui.app.transcript_text import transcript_items
from tui.app.widgets.transcript_view import TranscriptView

LONG = "".join(f"row {n:04d}\n" for n in range(400))  # past the cell's lines and exec's 4,000-char tail


def _screen(app: CodeloopApp) -> TranscriptScreen:
    assert isinstance(app.screen, TranscriptScreen)
    return app.screen


async def _session_with_a_long_command(fake: FakeOpenAI, pilot: object, app: CodeloopApp) -> None:
    await type_text(pilot, "show it")
    await pilot.press("enter")  # type: ignore[attr-defined]
    await until(pilot, lambda: idle(app) and len(fake.responses_bodies()) == 2)


async def test_ctrl_t_shows_every_command_with_its_whole_output(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "long.txt").write_text(LONG)
    fake_openai.queue_response(fe.turn(shell_call("c1", ["cat", "long.txt"])))
    fake_openai.queue_response(fe.turn(fe.message_item("Four hundred rows.")))
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await _session_with_a_long_command(fake_openai, pilot, app)
        await pilot.press("ctrl+t")
        await until(pilot, lambda: isinstance(app.screen, TranscriptScreen))
        view = _screen(app).view
        assert "  row 0000" in view.lines and "  row 0399" in view.lines
        assert any(line.startswith("› You") for line in view.lines)
        assert "  Four hundred rows." in view.lines
        assert view.cursor == len(view.lines) - 1, "opens at the end, as the conversation shows it"
        # Search: every match highlighted, n/N step through them, the status counts.
        await pilot.press("slash")
        await type_text(pilot, "row 01")
        await pilot.press("enter")
        await until(pilot, lambda: len(view.matches) == 100)
        assert app.focused is view, "the keys are back in the pager after Enter"
        first = view.current
        assert view.lines[view.cursor].startswith("  row 01")
        await pilot.press("n")
        assert view.current == (first + 1) % 100 and view.lines[view.cursor] == view.lines[view.matches[view.current][0]]
        await pilot.press("N", "N")
        assert view.current == (first - 1) % 100
        assert "/100 for 'row 01'" in str(app.screen.query_one("#transcript-status").render())
        # Home/End, j/k, PageDown move the cursor; c copies the item under it (the command).
        await pilot.press("home")
        assert view.cursor == 0 and view.scroll_offset.y == 0
        await pilot.press("j", "j", "k")
        assert view.cursor == 1
        await pilot.press("pagedown")
        assert view.cursor > 1 and view.scroll_offset.y > 0
        command_line = next(n for n, line in enumerate(view.lines) if line.startswith("$ cat long.txt"))
        view.cursor = command_line + 5
        await pilot.press("c")
        await until(pilot, lambda: (app.clipboard or "").startswith("$ cat long.txt"))
        assert "\nrow 0000\n" in app.clipboard and app.clipboard.endswith("\nrow 0399"), "the item as text, unindented"
        # Esc closes the search input first, then the pager; the composer has the keys again.
        await pilot.press("slash")
        assert _screen(app).search_input.has_focus
        await pilot.press("escape")
        assert isinstance(app.screen, TranscriptScreen) and app.focused is view
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, SessionScreen))
        await pilot.press("ctrl+t")
        await until(pilot, lambda: isinstance(app.screen, TranscriptScreen))
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, SessionScreen))
        await pilot.press("ctrl+t")
        await until(pilot, lambda: isinstance(app.screen, TranscriptScreen))
        await pilot.press("ctrl+t")
        await until(pilot, lambda: isinstance(app.screen, SessionScreen))
        await type_text(pilot, "q")
        assert app.main.composer.text == "q", "q closed nothing more: it is typed"


async def test_an_open_transcript_follows_the_running_session(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(shell_call("c1", ["printf", "first\\nsecond\\n"])))
    fake_openai.queue_response(fe.turn(fe.message_item("Both lines printed.")))
    sess = make_session(fake_openai, tmp_path)
    sess.log.append(ev.AgentMessage("an earlier answer"))
    app = CodeloopApp(sess)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+t")
        await until(pilot, lambda: isinstance(app.screen, TranscriptScreen) and bool(_screen(app).view.lines))
        view = _screen(app).view
        await app.main.send("print two lines")  # a turn runs under the open transcript
        await until(pilot, lambda: "  Both lines printed." in view.lines)
        command = next(line for line in view.lines if line.startswith("$ printf"))
        assert "[exit 0" in command, "the command's item was laid out again when it ended"
        assert "  first" in view.lines and "  second" in view.lines
        assert view.cursor == len(view.lines) - 1, "at the end, it follows the end"
        assert "4 items" in str(app.screen.query_one("#transcript-title").render())


async def test_typed_search_text_is_not_a_pager_key(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """Letters typed in the search box (q, n, c, j) are text, not the pager's keys."""
    sess = make_session(fake_openai, tmp_path)
    sess.log.extend([ev.UserMessageRecorded("quick check"), ev.AgentMessage("nothing to see")])
    app = CodeloopApp(sess)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+t")
        await until(pilot, lambda: isinstance(app.screen, TranscriptScreen))
        await pilot.press("slash")
        await type_text(pilot, "qnc jk")
        screen = _screen(app)
        assert screen.search_input.value == "qnc jk" and isinstance(app.screen, TranscriptScreen)
        await pilot.press("enter")
        assert screen.view.matches == [] and "no match for 'qnc jk'" in str(screen.query_one("#transcript-status").render())


async def test_c_and_ctrl_c_copy_the_mouse_selection_when_there_is_one(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    from textual.geometry import Offset
    from textual.selection import Selection

    sess = make_session(fake_openai, tmp_path)
    sess.log.extend([ev.UserMessageRecorded("first line here"), ev.AgentMessage("alpha beta gamma\nsecond")])
    app = CodeloopApp(sess)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+t")
        await until(pilot, lambda: isinstance(app.screen, TranscriptScreen) and bool(_screen(app).view.lines))
        view = _screen(app).view
        row = view.lines.index("  alpha beta gamma")
        app.screen.selections = {view: Selection(Offset(8, row), Offset(18, row + 1))}
        await pilot.press("c")
        await until(pilot, lambda: app.clipboard == "beta gamma\n  second")
        assert not app.screen.selections, "copied once: the next c copies the item"
        await pilot.press("c")
        await until(pilot, lambda: app.clipboard == "• codeloop\nalpha beta gamma\nsecond")
        app.screen.selections = {view: Selection(Offset(2, row), Offset(7, row))}
        await pilot.press("ctrl+c")  # the app's copy path (OSC 52) works here too
        await until(pilot, lambda: app.clipboard == "alpha")
        assert isinstance(app.screen, TranscriptScreen)


def test_the_transcript_neutralizes_and_redacts_what_it_shows() -> None:
    secret = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0" * 3
    log: list[ev.Event] = [
        ev.AgentMessage(f"here \x1b]52;c;ZXZpbA==\x07 and \x1b[31mred\x1b[0m {secret}"),
        ev.ExecCommandBegan("c", ["echo", "\x1b[2J"], "/w", True),
        ev.ExecCommandEnded("c", 0, 0.1, f"out \x9b2J {secret}"),
    ]
    text = "\n".join(i.text() for i in transcript_items(log))
    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text
    assert secret not in text


async def test_a_2000_item_session_opens_fast(fake_openai: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[int] = []
    render_line = TranscriptView.render_line

    def counted(self: TranscriptView, y: int) -> object:
        drawn.append(y)
        return render_line(self, y)

    monkeypatch.setattr(TranscriptView, "render_line", counted)
    sess = make_session(fake_openai, tmp_path)
    for n in range(500):  # 2,000 items: a message, a command with 40 lines of output, an answer, a plan
        sess.log.append(ev.UserMessageRecorded(f"question {n}"))
        sess.log.append(ev.ExecCommandBegan(f"c{n}", ["ls", "-la"], "/w", True))
        sess.log.append(ev.ExecCommandEnded(f"c{n}", 0, 0.2, "".join(f"file {n}-{k}\n" for k in range(40))))
        sess.log.append(ev.AgentMessage(f"answer {n} " + "words " * 60))
        sess.log.append(ev.PlanUpdated([ev.PlanStep(f"step {n}", "completed")]))
    app = CodeloopApp(sess)
    async with app.run_test(size=SIZE) as pilot:
        # After the start-up's warm-up thread (SDK, renderers, tokenizer), which holds the GIL.
        await pilot.pause(0.2)
        await until(pilot, lambda: not any(w.group == "warm-up" and not w.is_finished for w in app.workers), timeout=60)
        started = time.perf_counter()
        await pilot.press("ctrl+t")
        await until(pilot, lambda: isinstance(app.screen, TranscriptScreen) and bool(_screen(app).view.lines))
        await pilot.pause()
        opened = time.perf_counter() - started
        view = _screen(app).view
        assert len(view.items) == 2000
        assert "question 499" in "\n".join(view.lines[-60:])
        print(f"\ntranscript of 2,000 items ({len(view.lines):,} lines) opened in {opened * 1000:.0f} ms")
        # Virtualized: only the lines on screen are drawn, not the 26,500 of the session. (Timing
        # here varies with the shared machine's load: 0.6-0.8 s under a load of 8 on 2 cores.)
        assert len(drawn) < 40 * 12, f"{len(drawn)} lines drawn to open"
        assert opened < 5.0, f"opening took {opened:.2f}s"
        started = time.perf_counter()
        assert view.search("file 250-") == 40
        searched = time.perf_counter() - started
        print(f"searching its {len(view.lines):,} lines: {searched * 1000:.0f} ms")
        assert searched < 0.5
