"""A cache miss as each face shows it: `codeloop exec` (its progress line and its --json event,
a real process against the local fake server), the app's budget pane and `/status` (Pilot), and
hostile text in a miss's detail neutralized on the way to a terminal."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tests.app_support import idle, type_text, until
from tests.engine_support import make_session, shell_call
from tests.exec_support import run_exec
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui import protocol as ev
from tui.app.app import CodeloopApp
from tui.app.widgets.budget import BudgetView
from tui.app.widgets.conversation import NoticeCell, PanelCell
from tui.exec_progress import Progress as _Progress
from tui.safety.redact import Redactor

HOSTILE = "gpt-5.4 → \x1b]52;c;cHduZWQ=\x07\x1b[2Jgpt\x9b31m"


def _evicted_within_one_turn(fake: FakeOpenAI) -> None:
    """Three requests in one turn; the third reads nothing although its prefix was intact."""
    fake.queue_response(fe.turn(shell_call("c1", ["true"]), usage=fe.usage(5_000, 20)))
    fake.queue_response(fe.turn(shell_call("c2", ["true"]), usage=fe.usage(5_200, 20, cached_tokens=4_992)))
    fake.queue_response(fe.turn(fe.message_item("done"), usage=fe.usage(5_400, 20)))


@pytest.mark.parametrize(("flag", "prefix"), [("--json", "codeloop."), ("--engine-events", "")])
def test_exec_json_prints_the_miss_as_an_event(fake_openai: FakeOpenAI, tmp_path: Path, flag: str, prefix: str) -> None:
    """Codex's `--json` carries it as a `codeloop.` extra (Codex readers skip it), right after the
    response's usage; `--engine-events` as the engine's own event."""
    _evicted_within_one_turn(fake_openai)
    proc = run_exec(fake_openai, tmp_path, tmp_path / "home", "--full-auto", flag, "go")
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    [miss] = [e for e in events if e["type"] == prefix + "cache_missed"]
    assert miss == {
        "type": prefix + "cache_missed", "reason": "provider_evicted", "detail": "the prefix was sent unchanged",
        "expected_cached_tokens": 5_120, "cached_input_tokens": 0, "request": 3,
    }  # fmt: skip
    usages = [i for i, e in enumerate(events) if e["type"] == prefix + "token_usage"]
    assert events.index(miss) == usages[-1] + 1


def test_exec_says_why_the_cache_missed(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    _evicted_within_one_turn(fake_openai)
    proc = run_exec(fake_openai, tmp_path, tmp_path / "home", "--full-auto", "go")
    assert proc.returncode == 0, proc.stderr
    assert (
        "cache miss on request 3: provider evicted: the prefix was sent unchanged "
        "(read 0 of ≈5,120 cached tokens)\n"
    ) in proc.stderr
    assert proc.stderr.count("cache miss") == 1


def test_exec_neutralizes_a_hostile_detail() -> None:
    out = io.StringIO()
    _Progress(out, Redactor()).show(ev.CacheMissed("model", HOSTILE, 4_992, 0, 2))
    text = out.getvalue()
    assert text.startswith("cache miss on request 2: model changed: gpt-5.4 → ")
    assert not any(c in text for c in "\x1b\x07\x9b")


async def _send(pilot, app: CodeloopApp, text: str) -> None:  # type: ignore[no-untyped-def]
    app.query_one("Composer").focus()
    await type_text(pilot, text)
    await pilot.press("enter")


def _panels(app: CodeloopApp) -> list[str]:
    return [str(p.render()) for p in app.query(PanelCell)]


def _notices(app: CodeloopApp) -> list[str]:
    return [str(n.render()) for n in app.query(NoticeCell)]


async def test_a_model_switch_shows_in_the_budget_pane_and_in_status(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(fe.message_item("one"), usage=fe.usage(5_000, 20)))
    fake_openai.queue_response(fe.turn(fe.message_item("two"), usage=fe.usage(5_300, 20)))
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        budget = app.query_one(BudgetView)
        await _send(pilot, app, "first")
        await until(pilot, lambda: idle(app) and len(budget.model.requests) == 1)
        await _send(pilot, app, "/model gpt-5-mini")
        await _send(pilot, app, "second")
        await until(pilot, lambda: idle(app) and budget.model.misses)
        pane = " ".join(str(budget.render()).split())  # the pane wraps at its width
        assert "Missed #2 model changed: gpt-5.4 → gpt-5-mini · read 0 of 4,992" in pane
        await _send(pilot, app, "/status")
        want = "request 2 model changed: gpt-5.4 → gpt-5-mini (read 0 of ≈4,992 cached tokens)"
        await until(pilot, lambda: any(want in " ".join(p.split()) for p in _panels(app)))


async def test_status_says_nothing_of_the_cache_without_a_miss(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await _send(pilot, app, "/status")
        await until(pilot, lambda: _panels(app))
        [panel] = _panels(app)
        assert "no miss so far" in panel and "missed" not in panel.lower()


async def test_the_budget_pane_neutralizes_a_hostile_detail(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.query(BudgetView))
        screen = app.screen
        await screen.show_event(ev.TokenUsage(5_000, 0, 20, 0, 5_020, 5_020))  # type: ignore[attr-defined]
        await screen.show_event(ev.CacheMissed("model", HOSTILE, 4_992, 0, 2))  # type: ignore[attr-defined]
        pane = " ".join(str(app.query_one(BudgetView).render()).split())
        assert "model changed: gpt-5.4 → " in pane and not any(c in pane for c in "\x1b\x07\x9b")
