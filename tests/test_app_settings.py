"""The settings pickers (/model, /approvals, /sandbox), saving a default to config.toml, /status,
and the empty session's welcome, driven with Pilot against the fake server."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.app_support import SIZE, confirm_ready, idle, type_text, until
from tests.engine_support import make_session
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui import protocol as ev
from tui.app.app import CodeloopApp
from tui.app.screens.picker import PickerScreen
from tui.app.widgets.conversation import NoticeCell, PanelCell, WelcomeCell
from tui.model.responses import ResponsesClient


def _notices(app: CodeloopApp) -> list[str]:
    return [str(n.render()) for n in app.query(NoticeCell)]


async def _command(pilot: object, app: CodeloopApp, line: str) -> None:
    await type_text(pilot, line)
    await pilot.press("enter")  # type: ignore[attr-defined]


def _picker(app: CodeloopApp) -> PickerScreen | None:
    return app.screen if isinstance(app.screen, PickerScreen) else None


async def test_model_picker_switches_model_then_effort_and_the_next_request_carries_both(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    fake_openai.queue_response(fe.turn(fe.message_item("one")))
    fake_openai.queue_response(fe.turn(fe.message_item("two")))
    session = make_session(fake_openai, tmp_path, reasoning={"summary": "auto"})
    app = CodeloopApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await _command(pilot, app, "first")
        await until(pilot, lambda: idle(app) and len(fake_openai.responses_bodies()) == 1)
        await _command(pilot, app, "/model")
        await until(pilot, lambda: _picker(app) is not None)
        picker = _picker(app)
        assert picker is not None
        assert picker.current == "gpt-5.4"  # the session's model, listed first though not a table family
        labels = [c.id for c in picker.choices]
        assert {"gpt-5", "gpt-4o", "o3"} <= set(labels) and "gpt-6" not in labels
        await type_text(pilot, "o3")
        assert [c.id for c in picker.shown] == ["o3"]
        await pilot.press("enter")
        await until(pilot, lambda: _picker(app) is not None and _picker(app) is not picker)
        effort = _picker(app)
        assert effort is not None and effort.current == "medium"
        await pilot.press("down", "enter")  # medium → high
        await until(pilot, lambda: app.session.settings.model == "o3")
        assert app.session.options.reasoning == {"summary": "auto", "effort": "high"}
        assert any("model set to o3 with high reasoning effort" in n for n in _notices(app))
        first_input = fake_openai.responses_bodies()[0]["input"]
        await _command(pilot, app, "second")
        await until(pilot, lambda: idle(app) and len(fake_openai.responses_bodies()) == 2)
    body = fake_openai.responses_bodies()[1]
    assert body["model"] == "o3" and body["reasoning"] == {"summary": "auto", "effort": "high"}
    # Appended, never rewritten: the first request's items are the second's prefix.
    assert body["input"][: len(first_input)] == first_input
    assert any("<model_switch>" in str(item) for item in body["input"][len(first_input) :])


async def test_a_model_without_reasoning_gets_no_reasoning_and_its_own_window(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    session = make_session(fake_openai, tmp_path, reasoning={"effort": "high", "summary": "auto"}, context_window=272_000, auto_compact_limit=244_800)
    session.settings = session.settings.overridden(ev.OverrideSettings(model="gpt-5"))
    app = CodeloopApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await _command(pilot, app, "/model gpt-4o")
        await until(pilot, lambda: app.session.settings.model == "gpt-4o")
        assert app.session.context_window == 128_000 and app.session.auto_compact_limit == 115_200
        await _command(pilot, app, "hi")
        await until(pilot, lambda: idle(app) and len(fake_openai.responses_bodies()) == 1)
    assert "reasoning" not in fake_openai.responses_bodies()[0]


async def test_argument_form_checks_name_and_effort(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        for line in ("/model gpt-5 hard", "/model gpt-4o high"):
            await _command(pilot, app, line)
        await until(pilot, lambda: len(_notices(app)) >= 2)
        notices = _notices(app)
        assert "unknown reasoning effort 'hard'" in notices[0] and "xhigh" in notices[0]
        assert "gpt-4o takes no reasoning effort" in notices[1]
        assert app.session.settings.model == "gpt-5.4"
        await _command(pilot, app, "/model gpt-5.1-codex low")
        await until(pilot, lambda: app.session.settings.model == "gpt-5.1-codex")
        assert app.session.options.reasoning is not None and app.session.options.reasoning["effort"] == "low"


async def test_unknown_model_is_refused_on_openai_with_the_known_ones(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    client = ResponsesClient(base_url="https://api.openai.com/v1", api_key="k")  # never called
    app = CodeloopApp(make_session(fake_openai, tmp_path, client=client))
    async with app.run_test(size=SIZE) as pilot:
        await _command(pilot, app, "/model gtp-5")
        await until(pilot, lambda: bool(_notices(app)))
        assert "unknown model 'gtp-5'; nothing changed. Known: gpt-5," in _notices(app)[0]
        assert "o3" in _notices(app)[0]
        assert app.session.settings.model == "gpt-5.4"


async def test_unknown_model_is_accepted_with_a_warning_elsewhere(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path, context_window=100_000))
    async with app.run_test(size=SIZE) as pilot:
        await _command(pilot, app, "/model llama-3.3-70b")
        await until(pilot, lambda: app.session.settings.model == "llama-3.3-70b")
        await until(pilot, lambda: any("not in codeloop's model table" in n for n in _notices(app)))
        # A window that was configured (not the table's) stays.
        assert app.session.context_window == 100_000
        assert any("the configured context window (100,000 tokens) stays" in n for n in _notices(app))
        await _command(pilot, app, "/model gpt-5")
        await until(pilot, lambda: app.session.settings.model == "gpt-5")
        assert app.session.context_window == 100_000


async def test_approvals_never_is_confirmed_first_from_the_picker(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path, policy="untrusted"))
    async with app.run_test(size=SIZE) as pilot:
        for answer, expected in (("n", "untrusted"), ("y", "never")):
            await _command(pilot, app, "/approvals")
            await until(pilot, lambda: _picker(app) is not None)
            picker = _picker(app)
            assert picker is not None and picker.current == app.session.settings.approval_policy
            await pilot.press("down", "down", "down", "enter")
            await until(pilot, lambda: confirm_ready(app))
            assert "will not ask" in str(app.screen.query_one("Label").render())
            await pilot.press(answer)
            await until(pilot, lambda: not confirm_ready(app))
            await pilot.pause(0.1)
            assert app.session.settings.approval_policy == expected
        assert any("approvals unchanged" in n for n in _notices(app))


async def test_the_argument_form_of_danger_full_access_is_confirmed_too(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path, sandbox="read-only"))
    async with app.run_test(size=SIZE) as pilot:
        await _command(pilot, app, "/sandbox danger-full-access")
        await until(pilot, lambda: confirm_ready(app))
        assert app.session.settings.sandbox.mode == "read-only"
        await pilot.press("escape")
        await until(pilot, lambda: not confirm_ready(app))
        await pilot.pause(0.1)
        assert app.session.settings.sandbox.mode == "read-only"


async def test_escape_in_a_picker_changes_nothing(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path, sandbox="read-only"))
    async with app.run_test(size=SIZE) as pilot:
        await _command(pilot, app, "/sandbox")
        await until(pilot, lambda: _picker(app) is not None)
        await type_text(pilot, "workspace")
        await pilot.press("escape")
        await until(pilot, lambda: _picker(app) is None)
        assert app.session.settings.sandbox.mode == "read-only"
        assert app.session.history == []


CONFIG = """\
# my settings
model = "gpt-4o"  # the usual one

[tui]
theme = "codeloop-dark"  # dark please
"""


async def test_ctrl_s_saves_the_choice_keeping_the_file_as_written(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(CONFIG)
    app = CodeloopApp(make_session(fake_openai, tmp_path, sandbox="read-only"), home=home)
    async with app.run_test(size=SIZE) as pilot:
        await _command(pilot, app, "/sandbox")
        await until(pilot, lambda: _picker(app) is not None)
        await type_text(pilot, "workspace")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: any("Saved as the default" in n for n in _notices(app)))
        assert app.session.settings.sandbox.mode == "workspace-write"
        await _command(pilot, app, "/model gpt-5")  # the argument form never saves
        await until(pilot, lambda: app.session.settings.model == "gpt-5")
    assert (home / "config.toml").read_text() == CONFIG.replace(
        '# the usual one\n', '# the usual one\nsandbox_mode = "workspace-write"\n', 1
    )
    assert stat.S_IMODE(os.stat(home / "config.toml").st_mode) == 0o600


async def test_a_broken_config_is_not_overwritten_and_the_session_change_stays(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    broken = 'model = "gpt-4o\n[tui\n'
    (home / "config.toml").write_text(broken)
    app = CodeloopApp(make_session(fake_openai, tmp_path, policy="untrusted"), home=home)
    async with app.run_test(size=SIZE) as pilot:
        await _command(pilot, app, "/approvals")
        await until(pilot, lambda: _picker(app) is not None)
        await type_text(pilot, "on-req")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: any("Not saved" in n for n in _notices(app)))
        assert any("invalid TOML" in n for n in _notices(app))
        assert app.session.settings.approval_policy == "on-request"
    assert (home / "config.toml").read_text() == broken


async def test_status_panel_shows_every_section_and_the_providers_rate_limits(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "AGENTS.md").write_text("Run the tests with pytest.\n")
    fake_openai.stream_headers = {
        "x-ratelimit-remaining-requests": "4999",
        "x-ratelimit-reset-tokens": "[link=https://evil.example]click[/link]" + "x" * 300,
        "x-other": "not shown",
    }
    fake_openai.queue_response(fe.turn(fe.message_item("done"), usage=fe.usage(1200, 30, cached_tokens=1000, reasoning_tokens=12)))
    session = make_session(fake_openai, tmp_path, context_window=272_000, agents_files=(tmp_path / "AGENTS.md",))
    app = CodeloopApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await _command(pilot, app, "go")
        await until(pilot, lambda: idle(app) and len(fake_openai.responses_bodies()) == 1)
        await _command(pilot, app, "/status")
        await until(pilot, lambda: bool(app.query(PanelCell)))
        text = str(app.query(PanelCell).last().render())
    for needle in (
        "model", "gpt-5.4", "openai (Responses API)", fake_openai.base_url, "approvals", "never",
        "danger-full-access", "everything (no sandbox)", str(tmp_path.resolve()), str(tmp_path / "AGENTS.md"),
        session.session_id, "not recorded", "1,200 (1,000 cached)", "30 (12 reasoning)", "of 272,000 tokens",
        "none configured", "remaining-requests", "4999", "[link=https://evil.example]click[/link]",
    ):
        assert needle in text, needle
    assert "x-other" not in text and "x" * 121 not in text


async def test_welcome_shows_in_an_empty_session_and_goes_once_it_starts(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(fe.message_item("hello")))
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: bool(app.query(WelcomeCell)))
        shown = str(app.query_one(WelcomeCell).render())
        assert "No AGENTS.md here: /init" in shown and shown.count("•") == 3
        await _command(pilot, app, "hi")
        await until(pilot, lambda: not app.query(WelcomeCell))
        await until(pilot, lambda: idle(app))
        assert not app.query(WelcomeCell)


async def test_welcome_names_the_agents_files_in_use(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path, agents_files=(tmp_path.resolve() / "AGENTS.md",)))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: bool(app.query(WelcomeCell)))
        assert "The model follows AGENTS.md." in str(app.query_one(WelcomeCell).render())


class _HostileLimits(ResponsesClient):
    """A provider whose rate-limit header values carry terminal sequences (the capture itself is
    tested over real HTTP in test_rate_limits.py, where h11 refuses control bytes in a head)."""

    def rate_limits(self) -> dict[str, str]:
        return {"x-ratelimit-remaining-requests": "\x1b[2J\x1b]0;pwned\x07\u202e99"}


def test_status_neutralizes_what_came_from_outside(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    from tui.app.status_report import status_report

    evil = tmp_path / "\x1b]52;c;ZXZpbA==\x07repo" / "AGENTS.md"
    client = _HostileLimits(base_url="http://me:s3cr3t-Passw0rd@127.0.0.1:9/v1", api_key="k")
    session = make_session(fake_openai, tmp_path, client=client, agents_files=(evil,))
    plain = status_report(session).plain
    for bad in ("\x1b", "\x07", "\u202e"):
        assert bad not in plain, repr(bad)
    assert "remaining-requests" in plain and "99" in plain
    assert "s3cr3t-Passw0rd" not in plain and "127.0.0.1:9/v1" in plain, "a password in the base URL is redacted"


async def test_new_session_gets_the_welcome_again(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    from tui.app.app import SessionFactory

    fake_openai.queue_response(fe.turn(fe.message_item("hello")))
    factory = SessionFactory(home=tmp_path / "home", new=lambda: make_session(fake_openai, tmp_path), resume=lambda p: make_session(fake_openai, tmp_path))
    app = CodeloopApp(make_session(fake_openai, tmp_path), sessions=factory)
    async with app.run_test(size=SIZE) as pilot:
        await _command(pilot, app, "hi")
        await until(pilot, lambda: idle(app) and not app.query(WelcomeCell))
        first = app.session.session_id
        await _command(pilot, app, "/new")
        await until(pilot, lambda: app.session.session_id != first)
        await until(pilot, lambda: len(app.query(WelcomeCell)) == 1)


async def test_a_model_name_with_markup_is_shown_as_typed(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """A provider that serves any name: `[/]` or `[link=…]` in it must neither break the status
    line (a markup error) nor style or link anything."""
    from tui.app.widgets.status import StatusLine

    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        for name in ("[/]oops", "[link=https://evil.example]x[/link]"):
            await _command(pilot, app, f"/model {name}")
            await until(pilot, lambda n=name: app.session.settings.model == n)
            await pilot.pause(0.1)
            assert name in str(app.query_one(StatusLine).render())
        assert app.is_running


async def test_a_sandboxed_mode_without_bwrap_is_refused_at_once(
    fake_openai: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui.safety import sandbox

    sandbox.clear_bwrap_cache()
    monkeypatch.setattr(sandbox, "find_bwrap", lambda: None)
    try:
        app = CodeloopApp(make_session(fake_openai, tmp_path, sandbox="danger-full-access"))
        async with app.run_test(size=SIZE) as pilot:
            await _command(pilot, app, "/sandbox workspace-write")
            await until(pilot, lambda: any("the sandbox cannot run here" in n for n in _notices(app)))
            assert "bubblewrap (bwrap) was not found" in _notices(app)[-1]
            assert app.session.settings.sandbox.mode == "danger-full-access"
    finally:
        sandbox.clear_bwrap_cache()
