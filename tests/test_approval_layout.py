"""The approval modal's layout: a patch of any size leaves the choices in view, its diff scrolls
inside the modal (highlighted like the diff pane), F4 shows the full diff pane, and resizing
under the modal gives the right layout at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Footer, OptionList

from tests.app_support import approval_ready, calm, until, until_screen_settles
from tests.engine_support import make_session
from tests.fakeopenai import FakeOpenAI
from tui import protocol as ev
from tui.app.app import CodeloopApp
from tui.app.screens.approval import ApprovalScreen
from tui.app.screens.full_diff import FullDiffScreen
from tui.app.widgets.composer import Composer
from tui.app.widgets.diff_view import DiffView
from tui.app.widgets.patch_preview import PatchPreview
from tui.config import TuiSettings

WORKSPACE = Path("/tmp/codeloop-snapshots/workspace")
BIG_LINES = 5_000


def _big_patch(lines: int = BIG_LINES) -> list[ev.FileChangeSummary]:
    body = "".join(f"+def function_{i}(value: int) -> int:  # line {i}\n" for i in range(lines))
    diff = f"--- /dev/null\n+++ b/generated.py\n@@ -0,0 +1,{lines} @@\n{body}"
    return [ev.FileChangeSummary("generated.py", "add", lines, 0, diff)]


def _ask(app: CodeloopApp, changes: list[ev.FileChangeSummary]) -> None:
    app.ask(ev.ApprovalRequested("p1", "patch", "approval policy `untrusted` asks for every patch", changes=changes))


def _fully_visible(app: CodeloopApp, widget: Any) -> bool:
    region = widget.region
    screen = app.screen.region
    return region.height > 0 and screen.contains_region(region)


@pytest.fixture
def app(fake_openai: FakeOpenAI) -> CodeloopApp:
    WORKSPACE.mkdir(parents=True, exist_ok=True)
    session = make_session(fake_openai, WORKSPACE, policy="untrusted", sandbox="workspace-write", context_window=272_000)
    return CodeloopApp(session, branch="main", tui=TuiSettings())


@pytest.mark.parametrize("size", [(80, 24), (200, 50)])
async def test_choices_stay_visible_for_a_5000_line_patch(app: CodeloopApp, size: tuple[int, int]) -> None:
    async with app.run_test(size=size) as pilot:
        _ask(app, _big_patch())
        await until(pilot, lambda: approval_ready(app))
        await pilot.pause(0.1)
        options = app.screen.query_one(OptionList)
        assert _fully_visible(app, options), (options.region, app.screen.region)
        preview = app.screen.query_one(PatchPreview)
        assert preview.virtual_size.height == BIG_LINES + 2  # the file's header, its hunk header, every line
        assert preview.size.height >= 3 and preview.max_scroll_y > 0
        preview.focus()
        await pilot.press("end")
        await until(pilot, lambda: preview.scroll_y == preview.max_scroll_y)
        assert _fully_visible(app, options)
        await pilot.press("y")
        await until(pilot, lambda: not isinstance(app.screen, ApprovalScreen))


async def test_resizing_under_the_modal_keeps_the_choices_visible(app: CodeloopApp) -> None:
    async with app.run_test(size=(200, 50)) as pilot:
        _ask(app, _big_patch())
        await until(pilot, lambda: approval_ready(app))
        options = app.screen.query_one(OptionList)
        for size in [(80, 24), (200, 50), (60, 20)]:
            await pilot.resize_terminal(*size)
            await until(pilot, lambda: app.screen.size == size and _fully_visible(app, options))
        main = app.screen_stack[0]
        assert main.has_class("-narrow")
        await pilot.resize_terminal(200, 50)
        await until(pilot, lambda: not main.has_class("-narrow"))


async def test_f4_shows_the_full_diff_pane_and_returns_to_the_approval(app: CodeloopApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        _ask(app, _big_patch(200))
        await until(pilot, lambda: approval_ready(app))
        await pilot.press("f4")
        await until(pilot, lambda: isinstance(app.screen, FullDiffScreen))
        view = app.screen.query_one(DiffView)
        assert view.region.height >= 38 and view.region.width == 120
        await pilot.press("escape")
        await until(pilot, lambda: approval_ready(app))
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, ApprovalScreen))


# ---------------------------------------------------------------- snapshots


def _snap(snap_compare: Any, app: CodeloopApp, size: tuple[int, int], before: Any) -> bool:
    async def run_before(pilot: Any) -> None:
        calm(app)
        await before(pilot)
        await until(pilot, lambda: approval_ready(app))  # its choices show after the type-ahead guard
        # Arming moves the focus to the choices; the footer then recomposes its key list.
        await until(pilot, lambda: isinstance(app.focused, OptionList))
        # The main screen's footer (below the modal) lays its keys out again after a resize, on
        # a later refresh; its key widths then came out one cell short or not, by timing
        # (Textual's Footer). Laid out once more here, so the shot is of the settled footer.
        app.screen_stack[0].query_one(Footer).refresh(recompose=True)
        await until_screen_settles(pilot, app)

    return bool(snap_compare(app, terminal_size=size, run_before=run_before))


@pytest.mark.parametrize("size", [(80, 24), (200, 50)])
def test_big_patch_approval_snapshot(snap_compare: Any, app: CodeloopApp, size: tuple[int, int]) -> None:
    async def before(pilot: Any) -> None:
        _ask(app, _big_patch())

    assert _snap(snap_compare, app, size, before)


@pytest.mark.parametrize("final", [(80, 24), (200, 50)])
def test_modal_after_a_resize_snapshot(snap_compare: Any, app: CodeloopApp, final: tuple[int, int]) -> None:
    start = (200, 50) if final == (80, 24) else (80, 24)

    async def before(pilot: Any) -> None:
        _ask(app, _big_patch(300))
        await pilot.pause(0.1)
        await pilot.resize_terminal(*final)
        await pilot.pause(0.1)

    assert _snap(snap_compare, app, start, before)
