"""/init: an ordinary turn whose user message is our AGENTS.md prompt; the write is approved."""

from __future__ import annotations

from pathlib import Path

from tests.app_support import SIZE, idle, type_text, until, until_approval_ready
from tests.engine_support import make_session
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui.app.app import CodeloopApp
from tui.app.widgets.conversation import NoticeCell, UserCell
from tui.app.widgets.diff_view import DiffView
from tui.tools.specs import prompt_text

ADD_AGENTS = "*** Begin Patch\n*** Add File: AGENTS.md\n+# AGENTS.md\n+- Run tests: `pytest -q`\n*** End Patch\n"


async def test_init_sends_our_prompt_and_the_write_waits_for_approval(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(fe.custom_tool_call_item("c1", "apply_patch", ADD_AGENTS)))
    fake_openai.queue_response(fe.turn(fe.message_item("Wrote AGENTS.md.")))
    app = CodeloopApp(make_session(fake_openai, tmp_path, policy="untrusted", sandbox="workspace-write"))
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "/init")
        await pilot.press("enter")
        await until_approval_ready(pilot, app)
        assert not (tmp_path / "AGENTS.md").exists()  # nothing written before the user says yes
        view = app.query_one(DiffView)
        assert view.label == "pending approval" and [f.title for f in view.files] == ["AGENTS.md"]
        assert [ln.text for ln in view.files[0].lines if ln.kind == "added"] == ["# AGENTS.md", "- Run tests: `pytest -q`"]
        await pilot.press("y")
        await until(pilot, lambda: idle(app) and len(fake_openai.responses_bodies()) == 2)
        assert [str(c.render()) for c in app.query(UserCell)] == ["/init: asking the model to write AGENTS.md"]
    first = fake_openai.responses_bodies()[0]["input"][-1]
    assert first["role"] == "user" and first["content"][0]["text"] == prompt_text("init.md")
    assert "AGENTS.md" in prompt_text("init.md")
    assert (tmp_path / "AGENTS.md").read_text() == "# AGENTS.md\n- Run tests: `pytest -q`\n"


async def test_init_leaves_an_existing_agents_md_alone(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "AGENTS.md").write_text("ours\n")
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "/init")
        await pilot.press("enter")
        await until(pilot, lambda: bool(app.query(NoticeCell)))
        assert "already exists" in str(app.query(NoticeCell).last().render())
        assert not app.session.turn_running
    assert fake_openai.responses_bodies() == []
    assert (tmp_path / "AGENTS.md").read_text() == "ours\n"
