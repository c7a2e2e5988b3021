"""Smaller view promises, one test each: /undo with nothing to undo, the diff pane after an undo,
plurals in the budget pane, the status line at 80 columns, the timer during an approval, reasoning
rendered as Markdown, code that follows the theme, the list of themes."""

from __future__ import annotations

from pathlib import Path

from textual.color import Color
from textual.widgets import Collapsible, Static

from tests.app_support import approval_ready, confirm_ready, idle, type_text, until
from tests.engine_support import make_session
from tests.exec_support import run_exec
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tests.git_support import one_file_repo
from tui import protocol as ev
from tui.app.app import CodeloopApp
from tui.app.screens.approval import ApprovalScreen
from tui.app.screens.confirm import ConfirmScreen
from tui.app.widgets.budget import BudgetView
from tui.app.widgets.conversation import AnswerCell, Conversation, NoticeCell
from tui.app.widgets.diff_view import DiffView
from tui.app.widgets.status import StatusLine

EDIT = "*** Begin Patch\n*** Update File: a.txt\n@@\n-one\n+two\n*** End Patch\n"


def _notices(app: CodeloopApp) -> list[str]:
    return [str(n.render()) for n in app.query(NoticeCell)]


async def test_undo_with_nothing_to_undo_says_so_before_asking(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, one_file_repo(tmp_path)))
    async with app.run_test(size=(120, 40)) as pilot:
        await type_text(pilot, "/undo")
        await pilot.press("enter")
        await until(pilot, lambda: any("Nothing to undo" in n for n in _notices(app)))
        assert not isinstance(app.screen, ConfirmScreen)


async def test_diff_pane_shows_the_tree_after_an_undo(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    ws = one_file_repo(tmp_path)
    fake_openai.queue_response(fe.turn(fe.custom_tool_call_item("p1", "apply_patch", EDIT)))
    fake_openai.queue_response(fe.turn(fe.message_item("edited")))
    app = CodeloopApp(make_session(fake_openai, ws))
    async with app.run_test(size=(140, 40)) as pilot:
        await type_text(pilot, "edit")
        await pilot.press("enter")
        await until(pilot, lambda: idle(app) and (ws / "a.txt").read_text() == "two\n")
        view = app.query_one(DiffView)
        await until(pilot, lambda: view.label == "applied" and len(view.files) == 1)
        await type_text(pilot, "/undo")
        await pilot.press("enter")
        await until(pilot, lambda: confirm_ready(app))
        await pilot.press("y")
        await until(pilot, lambda: (ws / "a.txt").read_text() == "one\n")
        await until(pilot, lambda: view.files == [] and view.label == "")  # the tree is clean again


async def test_budget_pane_says_1_request(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=(150, 42)) as pilot:
        await app.show_event(ev.TokenUsage(2_000, 0, 300, 0, 2_300, 2_300, 272_000))
        await until(pilot, lambda: "1 request ·" in _budget_text(app))
        assert "1 requests" not in _budget_text(app)
        await app.show_event(ev.TokenUsage(2_100, 1_900, 100, 0, 2_200, 4_500, 272_000))
        await until(pilot, lambda: "2 requests ·" in _budget_text(app))


def _budget_text(app: CodeloopApp) -> str:
    budget = app.query_one(BudgetView)
    return "\n".join(line.text for line in budget.render_lines(budget.region.reset_offset))


async def test_status_line_at_80_columns_keeps_the_modes(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    deep = tmp_path / "a-rather-long-folder-name" / "another-long-folder-name" / "the-project"
    deep.mkdir(parents=True)
    app = CodeloopApp(make_session(fake_openai, deep, policy="on-request", sandbox="workspace-write"), branch="feature/long-branch-name")
    async with app.run_test(size=(80, 24)) as pilot:
        status = app.query_one(StatusLine)
        await until(pilot, lambda: "sandbox workspace-write" in str(status.render()))
        shown = str(status.render())
        assert "on-request" in shown and "sandbox workspace-write" in shown and "the-project" in shown
        assert len(shown) <= 78
        await pilot.resize_terminal(200, 24)
        await until(pilot, lambda: "another-long-folder-name/the-project" in str(status.render()))


async def test_timer_stands_still_while_an_approval_waits(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    now = [1000.0]
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=(150, 42)) as pilot:
        status = app.query_one(StatusLine)
        await until(pilot, lambda: "sandbox" in status.fields)  # the app is up
        status.clock = lambda: now[0]
        await app.show_event(ev.TurnStarted("t1"))
        now[0] += 5
        request = ev.ApprovalRequested("c1", "exec", "policy", ["ls"], str(tmp_path), True)
        await app.show_event(request)
        await until(pilot, lambda: approval_ready(app))
        now[0] += 300  # the user reads for five minutes
        status.redraw()
        assert status.worked_s == 5 and "Waiting for your approval" in str(status.render())
        await pilot.press("y")
        await until(pilot, lambda: not isinstance(app.screen, ApprovalScreen))
        await app.show_event(ev.ApprovalDecided("c1", ev.ReviewDecision.APPROVED, "user"))
        now[0] += 2
        status.redraw()
        assert status.worked_s == 7 and "Working 7s" in str(status.render())


# ---------------------------------------------------------------- Markdown and themes

REASONING = "**Planning the fix**\n\nThe count is *off by one* in `word_count`."


async def test_reasoning_summary_renders_its_markdown(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(fe.reasoning_item(REASONING), fe.message_item("done")))
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=(140, 40)) as pilot:
        await type_text(pilot, "go")
        await pilot.press("enter")
        await until(pilot, lambda: idle(app) and bool(app.query(".reasoning")))
        [cell] = app.query(Collapsible)
        assert cell.title == "thinking: Planning the fix"
        cell.collapsed = False
        body = app.query_one(".reasoning-body")
        await until(pilot, lambda: body.region.height > 0)
        shown = "\n".join(line.text for line in body.render_lines(body.region.reset_offset))
        assert "Planning the fix" in shown and "off by one" in shown
        assert "**" not in shown and "*off" not in shown


def test_exec_prints_the_reasoning_headline_without_markdown_marks(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    ws, home = tmp_path / "ws", tmp_path / "home"
    ws.mkdir()
    fake_openai.queue_response(fe.turn(fe.reasoning_item(REASONING), fe.message_item("done")))
    proc = run_exec(fake_openai, ws, home, "go")
    assert proc.returncode == 0, proc.stderr
    assert "thinking: Planning the fix\n" in proc.stderr and "**" not in proc.stderr


async def test_light_theme_code_follows_the_theme(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        conv = app.query_one("#conversation", Conversation)
        for theme in ("codeloop-light", "codeloop-dark"):
            app.theme = theme
            await until(pilot, lambda: app.current_theme.name == theme)
            await conv.finish_answer("Use `fix()` now.\n\n```python\nx = 1\n```\n")
            cell = list(app.query(AnswerCell))[-1]
            await until(pilot, lambda: cell.region.height > 3)
            inline, block = _background_of(cell, "fix()"), _background_of(cell, "x")
            panel = Color.parse(app.current_theme.panel or "").hex.lower()
            assert inline == panel, (theme, inline)
            if theme == "codeloop-light":
                assert block is not None and Color.parse(block).brightness > 0.8, block  # a light block
            else:
                assert block is not None and Color.parse(block).brightness < 0.3, block


def _background_of(cell: AnswerCell, text: str) -> str | None:
    static = cell.query(Static).last()
    for line in static.render_lines(static.region.reset_offset):
        for segment in line:
            if segment.text.strip() == text and segment.style is not None and segment.style.bgcolor is not None:
                return segment.style.bgcolor.get_truecolor().hex.lower()
    return None


async def test_unknown_theme_lists_the_themes_theme_offers(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=(200, 40)) as pilot:
        await until(pilot, lambda: app.session is not None)
        await app.run_slash("/theme")
        await until(pilot, lambda: any(n.startswith("Themes: ") for n in _notices(app)))
        await app.run_slash("/theme nope")
        await until(pilot, lambda: any("No theme 'nope'" in n for n in _notices(app)))
        notices = _notices(app)
    offered = next(n for n in notices if n.startswith("Themes: ")).removeprefix("Themes: ").split(" (current")[0]
    unknown = next(n for n in notices if "No theme 'nope'" in n)
    assert f"Themes: {offered}." in unknown


def test_unknown_configured_theme_lists_the_same_themes(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    from tui.config import TuiSettings

    app = CodeloopApp(make_session(fake_openai, tmp_path), tui=TuiSettings(theme="nope"))
    [note] = [n for n in app.startup_notes if "'nope'" in n]
    assert note.endswith(f"Known: {app.known_themes()}")
