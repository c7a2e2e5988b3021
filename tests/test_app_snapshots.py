"""Whole-app SVG snapshots: idle, streaming, approvals, plan, budget, narrow layout, each theme.

States are reached by feeding the app the same typed events the engine emits (deterministic,
no timing), on a session whose cwd, model and branch are fixed so nothing varies between runs.
Regenerate after an intended change with `--snapshot-update` and review the SVGs in snapshots/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.app_support import calm, until
from tests.engine_support import make_session
from tests.fakeopenai import FakeOpenAI
from tui import protocol as ev
from tui.app.app import CodeloopApp
from tui.app.screens.approval import ApprovalScreen
from tui.app.widgets.budget import BudgetView
from tui.app.widgets.composer import Composer
from tui.config import TuiSettings

WORKSPACE = Path("/tmp/codeloop-snapshots/workspace")
WIDE = (150, 42)
NARROW = (90, 42)

PATCH_DIFF = """\
--- a/textstats/core.py
+++ b/textstats/core.py
@@ -5,4 +5,4 @@
 def word_count(text: str) -> int:
     \"\"\"Number of whitespace-separated words in `text`.\"\"\"
-    return text.count(" ") + 1
+    return len(text.split())
"""
CHANGES = [ev.FileChangeSummary("textstats/core.py", "update", 1, 1, PATCH_DIFF)]
PLAN = ev.PlanUpdated(
    [ev.PlanStep("Run the tests", "completed"), ev.PlanStep("Fix word_count", "in_progress"), ev.PlanStep("Run the tests again", "pending")],
    "Off-by-one in word_count.",
)


def _usage(inp: int, cached: int, out: int, total_so_far: int) -> ev.TokenUsage:
    return ev.TokenUsage(inp, cached, out, out // 4, inp + out, total_so_far, 272_000)


@pytest.fixture
def app(fake_openai: FakeOpenAI) -> CodeloopApp:
    WORKSPACE.mkdir(parents=True, exist_ok=True)
    session = make_session(fake_openai, WORKSPACE, policy="untrusted", sandbox="workspace-write", context_window=272_000)
    return CodeloopApp(session, auto_compact_limit=244_800, branch="main", tui=TuiSettings())


async def _conversation(app: CodeloopApp) -> None:
    await app.show_event(ev.ReasoningSummary("**Reading the failure**\n\nThe test counts words in an empty string."))
    await app.show_event(ev.ExecCommandBegan("c1", ["bash", "-lc", "python3 -m unittest"], str(WORKSPACE), True))
    await app.show_event(ev.ExecCommandEnded("c1", 1, 0.4, "F..\nFAIL: test_empty (tests.test_textstats)\nAssertionError: 1 != 0\n", False))
    await app.show_event(PLAN)
    for i, (inp, cached, out) in enumerate([(2_000, 0, 300), (3_100, 1_920, 250), (4_400, 3_000, 400)]):
        await app.show_event(_usage(inp, cached, out, 10_000 * (i + 1)))


def _snap(snap_compare: Any, app: CodeloopApp, size: tuple[int, int], before: Any = None) -> bool:
    async def run_before(pilot: Any) -> None:
        calm(app)
        if before is not None:
            await before(app)
        # An approval takes a moment to show its choices (screens/guarded.py GUARD_S): shot with them.
        await until(pilot, lambda: not isinstance(app.screen, ApprovalScreen) or app.screen.armed)
        await pilot.pause(0.2)  # streamed text is painted on a short timer (answer.py)

    return bool(snap_compare(app, terminal_size=size, run_before=run_before))


def test_idle(snap_compare: Any, app: CodeloopApp) -> None:
    assert _snap(snap_compare, app, WIDE)


def test_streaming_answer(snap_compare: Any, app: CodeloopApp) -> None:
    async def before(app: CodeloopApp) -> None:
        await app.query_one("#conversation").add_user("The tests fail. Fix the bug.")  # type: ignore[attr-defined]
        await _conversation(app)
        for piece in ["## Fixed", "\n\nThe bug was in `word_count`:", "\n\n- it counted spaces", "\n- it now splits on whitespace"]:
            await app.show_event(ev.AgentMessageDelta(piece))

    assert _snap(snap_compare, app, WIDE, before)


def test_shell_approval(snap_compare: Any, app: CodeloopApp) -> None:
    async def before(app: CodeloopApp) -> None:
        app.ask(ev.ApprovalRequested("c2", "exec", "approval policy `untrusted` asks for this command", ["bash", "-lc", "python3 -m unittest"], str(WORKSPACE), True))

    assert _snap(snap_compare, app, WIDE, before)


def test_patch_approval(snap_compare: Any, app: CodeloopApp) -> None:
    async def before(app: CodeloopApp) -> None:
        app.ask(ev.ApprovalRequested("p1", "patch", "approval policy `untrusted` asks for every patch", changes=CHANGES))

    assert _snap(snap_compare, app, WIDE, before)


def test_plan_and_budget_after_a_compaction(snap_compare: Any, app: CodeloopApp) -> None:
    async def before(app: CodeloopApp) -> None:
        await _conversation(app)
        app.query_one(BudgetView).record_compaction(250_000, 18_000)

    assert _snap(snap_compare, app, WIDE, before)


def test_narrow_layout(snap_compare: Any, app: CodeloopApp) -> None:
    async def before(app: CodeloopApp) -> None:
        await app.query_one("#conversation").add_user("The tests fail. Fix the bug.")  # type: ignore[attr-defined]
        await _conversation(app)

    assert _snap(snap_compare, app, NARROW, before)


@pytest.mark.parametrize("theme", ["codeloop-light", "codeloop-high-contrast"])
def test_each_theme(snap_compare: Any, app: CodeloopApp, theme: str) -> None:
    async def before(app: CodeloopApp) -> None:
        app.theme = theme
        await _conversation(app)
        await app.show_event(ev.PatchApplyBegan("p1", CHANGES))

    assert _snap(snap_compare, app, WIDE, before)
