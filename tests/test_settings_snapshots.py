"""SVG snapshots of the settings pickers (/model and its effort step, /approvals with its
confirmation, /sandbox) and of the /status panel, on a session whose folder, id, provider URL
and rate limits are fixed so nothing varies between runs. Regenerate after an intended change
with `--snapshot-update` and look at the SVGs in snapshots/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from tests.app_support import calm, confirm_ready, type_text, until, until_screen_settles
from tests.engine_support import make_session
from tests.fakeopenai import FakeOpenAI
from tui.app.app import CodeloopApp
from tui.app.screens.picker import PickerScreen
from tui.app.widgets.conversation import PanelCell
from tui.config import TuiSettings
from tui.model.responses import ResponsesClient

WORKSPACE = Path("/tmp/codeloop-snapshots/settings")
SIZE = (120, 36)


class _AnsweredWithLimits(ResponsesClient):
    """A client as after an answer that carried rate-limit headers (their capture from real HTTP
    is tested in test_rate_limits.py); never asked anything here."""

    def rate_limits(self) -> dict[str, str]:
        return {"x-ratelimit-limit-requests": "5000", "x-ratelimit-remaining-requests": "4999", "x-ratelimit-reset-requests": "12ms"}


@pytest.fixture
def app(fake_openai: FakeOpenAI) -> CodeloopApp:
    WORKSPACE.mkdir(parents=True, exist_ok=True)
    client = _AnsweredWithLimits(base_url="https://api.openai.com/v1", api_key="k")
    session = make_session(
        fake_openai, WORKSPACE, client=client, policy="on-request", sandbox="read-only", context_window=272_000,
        auto_compact_limit=244_800, reasoning={"effort": "medium", "summary": "auto"}, session_id="5eb7a7e4-snapshot",
    )
    return CodeloopApp(session, auto_compact_limit=244_800, branch="main", tui=TuiSettings(), home=WORKSPACE / "home")


def _picker_up(app: CodeloopApp) -> bool:
    """A picker is up, its filter's cursor steady (a blinking one was shot on or off)."""
    if not isinstance(app.screen, PickerScreen):
        return False
    app.screen.query_one(Input).cursor_blink = False
    return True


def _snap(snap_compare: Any, app: CodeloopApp, keys: str, ready: Any) -> bool:
    async def run_before(pilot: Any) -> None:
        calm(app)
        await until(pilot, lambda: app.session.meter.tokenizer_loaded)  # the warm-up's: counts change
        await type_text(pilot, keys)
        await pilot.press("enter")
        await until(pilot, lambda: ready(app))
        await until_screen_settles(pilot, app)

    return bool(snap_compare(app, terminal_size=SIZE, run_before=run_before))


def test_model_picker(snap_compare: Any, app: CodeloopApp) -> None:
    assert _snap(snap_compare, app, "/model", _picker_up)


def test_model_picker_filtered_then_effort_step(snap_compare: Any, app: CodeloopApp) -> None:
    async def run_before(pilot: Any) -> None:
        calm(app)
        await until(pilot, lambda: app.session.meter.tokenizer_loaded)
        await type_text(pilot, "/model")
        await pilot.press("enter")
        await until(pilot, lambda: _picker_up(app))
        first = app.screen
        await type_text(pilot, "gpt-5")
        await pilot.press("enter")
        await until(pilot, lambda: _picker_up(app) and app.screen is not first)
        await until_screen_settles(pilot, app)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_approvals_picker(snap_compare: Any, app: CodeloopApp) -> None:
    assert _snap(snap_compare, app, "/approvals", _picker_up)


def test_approvals_never_confirmation(snap_compare: Any, app: CodeloopApp) -> None:
    assert _snap(snap_compare, app, "/approvals never", confirm_ready)


def test_sandbox_picker_filtered(snap_compare: Any, app: CodeloopApp) -> None:
    async def run_before(pilot: Any) -> None:
        calm(app)
        await until(pilot, lambda: app.session.meter.tokenizer_loaded)
        await type_text(pilot, "/sandbox")
        await pilot.press("enter")
        await until(pilot, lambda: _picker_up(app))
        await type_text(pilot, "write")
        await until(pilot, lambda: _picker_up(app))
        await until_screen_settles(pilot, app)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_status_panel(snap_compare: Any, app: CodeloopApp) -> None:
    assert _snap(snap_compare, app, "/status", lambda a: bool(a.query(PanelCell)))
