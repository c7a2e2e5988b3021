"""`codeloop resume` with no argument: the app opens on the picker before any session exists;
Enter resumes the chosen session (shown as it was), Esc starts a new one instead."""

from __future__ import annotations

import argparse
from pathlib import Path

from tests.app_support import SIZE, until
from tests.engine_support import run_turn, shell_call
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui import protocol as ev
from tui.app.app import CodeloopApp, SessionFactory, SessionPreview
from tui.app.screens.resume import ResumeScreen
from tui.app.widgets.conversation import NoticeCell, ToolCell
from tui.config import ProviderSettings, ResolvedConfig, load_config, resolve_provider
from tui.engine.bootstrap import build_session, resume_session
from tui.engine.session import Session


def _configure(fake: FakeOpenAI, cwd: Path, home: Path) -> tuple[ResolvedConfig, ProviderSettings]:
    env = {"CODELOOP_HOME": str(home), "OPENAI_API_KEY": "k", "OPENAI_BASE_URL": fake.base_url, "HOME": str(home)}
    rc = load_config(argparse.Namespace(cd=str(cwd), yolo=True), env=env)
    return rc, resolve_provider(rc, env)


async def _picker_app(fake: FakeOpenAI, tmp_path: Path) -> tuple[CodeloopApp, Session, list[Session]]:
    home = tmp_path / "home"
    fake.queue_response(fe.turn(shell_call("c1", ["echo", "recorded output"])))
    fake.queue_response(fe.turn(fe.message_item("Recorded answer.")))
    rc, provider = _configure(fake, tmp_path, home)
    recorded = build_session(rc, provider, interactive=False)
    await run_turn(recorded, "an earlier task")
    await recorded.submit(ev.Shutdown())
    built: list[Session] = []

    def new() -> Session:
        built.append(build_session(rc, provider, interactive=True))
        return built[-1]

    preview = SessionPreview(rc.config.model, rc.cwd, rc.config.approval_policy, rc.config.sandbox_mode, 272_000, start=new)
    factory = SessionFactory(home=home, new=new, resume=lambda path: resume_session(rc, provider, path, interactive=True))
    return CodeloopApp(None, preview=preview, sessions=factory, pick_first=True), recorded, built


async def test_enter_in_the_first_picker_resumes_the_session_as_it_was(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app, recorded, built = await _picker_app(fake_openai, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ResumeScreen) and bool(app.screen.query("OptionList")))
        assert app.session is None, "no session is built before the choice"
        assert "Esc starts a new session" in str(app.screen.query_one("Label").render())
        await pilot.press("enter")
        await until(pilot, lambda: app.session is not None and any("Resumed session" in str(n.render()) for n in app.query(NoticeCell)))
        assert app.session.session_id == recorded.session_id and built == []
        assert "recorded output" in str(app.query_one(ToolCell).render())
    await app.session.submit(ev.Shutdown())


async def test_esc_in_the_first_picker_starts_a_new_session(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app, recorded, built = await _picker_app(fake_openai, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ResumeScreen))
        await pilot.press("escape")
        await until(pilot, lambda: app.session is not None)
        assert built and app.session is built[0] and app.session.session_id != recorded.session_id
        assert not isinstance(app.screen, ResumeScreen)
    await app.session.submit(ev.Shutdown())
