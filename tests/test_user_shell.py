"""`!cmd` in the engine: the user's own command, sandboxed, unapproved, told to the model."""

from __future__ import annotations

import argparse
import asyncio
import threading
from pathlib import Path

from tests.engine_support import collect, make_session, of_type, process_gone, run_turn
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui import protocol as ev
from tui.config import load_config, resolve_provider
from tui.engine.bootstrap import build_session, resume_session
from tui.engine.resume import load_rollout
from tui.engine.session import Session


async def run_shell(sess: Session, command: str) -> list[ev.Event]:
    await sess.submit(ev.RunUserShell(command))
    return await collect(sess)  # no approver: an approval request would fail the test


def shell_messages(items: list[dict]) -> list[str]:
    return [
        i["content"][0]["text"] for i in items
        if i.get("role") == "user" and i["content"][0]["text"].startswith("<user_shell_command>")
    ]


async def test_user_command_runs_without_approval_and_the_model_reads_it_next(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    sess = make_session(fake_openai, tmp_path, policy="untrusted", sandbox="workspace-write")
    events = await run_shell(sess, "echo hello from $0 | tr a-z A-Z")
    [began] = of_type(events, ev.ExecCommandBegan)
    [ended] = of_type(events, ev.ExecCommandEnded)
    assert began.display == "echo hello from $0 | tr a-z A-Z" and began.sandboxed
    assert ended.exit_code == 0 and ended.output == "HELLO FROM BASH\n"
    assert fake_openai.responses_bodies() == []  # no model involved

    fake_openai.queue_response(fe.turn(fe.message_item("I see it.")))
    await run_turn(sess, "what did it print?")
    body = fake_openai.responses_bodies()[0]["input"]
    [text] = shell_messages(body)
    assert text.startswith("<user_shell_command>\n<command>\necho hello from $0 | tr a-z A-Z\n</command>\n<result>\nExit code: 0\n")
    assert "Output:\nHELLO FROM BASH\n" in text and text.endswith("</result>\n</user_shell_command>")
    kinds = [(i.get("type"), i.get("role")) for i in body]
    # Initial context first, then the command, then the question; no call/output pair invented.
    assert kinds[-2:] == [("message", "user"), ("message", "user")] and body[-1]["content"][0]["text"] == "what did it print?"
    assert body[0]["role"] == "developer"
    assert not [i for i in body if i.get("type", "").endswith("call")]


async def test_user_command_is_confined_by_the_sessions_sandbox(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    sess = make_session(fake_openai, tmp_path, policy="never", sandbox="read-only")
    events = await run_shell(sess, "touch made.txt")
    [ended] = of_type(events, ev.ExecCommandEnded)
    assert ended.exit_code != 0 and not (tmp_path / "made.txt").exists()
    assert any("sandbox" in w.message for w in of_type(events, ev.WarningIssued))
    [text] = shell_messages(sess.history)
    assert "Exit code: 1" in text and "Read-only file system" in text


async def test_long_output_is_truncated_for_the_model(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    sess = make_session(fake_openai, tmp_path, tool_output_token_limit=50)
    await run_shell(sess, "seq 1 5000")
    [text] = shell_messages(sess.history)
    assert "Total output lines: 5000" in text and "chars truncated" in text and len(text) < 600


async def test_interrupt_kills_the_command_and_the_session_goes_on(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    sess = make_session(fake_openai, tmp_path)
    await sess.submit(ev.RunUserShell("echo $$ > pid; sleep 60; echo never"))
    async with asyncio.timeout(20):
        while not (tmp_path / "pid").exists() or not (tmp_path / "pid").read_text().strip():
            await asyncio.sleep(0.05)
    await sess.submit(ev.Interrupt())
    events = await collect(sess)
    assert isinstance(events[-1], ev.TurnCompleted)  # stopped on request: not an aborted turn
    [ended] = of_type(events, ev.ExecCommandEnded)
    assert ended.exit_code == 130
    assert await asyncio.to_thread(process_gone, int((tmp_path / "pid").read_text()))
    [text] = shell_messages(sess.history)
    assert "interrupted the command" in text
    assert not any("turn_aborted" in str(i) for i in sess.history)
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    await run_turn(sess, "next")  # the history is still one the API accepts
    assert len(fake_openai.responses_bodies()) == 1


async def test_user_command_is_refused_while_a_turn_runs(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    release = threading.Event()

    def held(body: dict) -> list:
        release.wait(20)
        return fe.turn(fe.message_item("done"))

    fake_openai.queue_handler(held)
    sess = make_session(fake_openai, tmp_path)
    await sess.submit(ev.UserInput("work"))
    await sess.submit(ev.RunUserShell("touch nope"))
    release.set()
    events = await collect(sess)
    assert any("A turn is running" in w.message for w in of_type(events, ev.WarningIssued))
    assert not of_type(events, ev.ExecCommandBegan) and not (tmp_path / "nope").exists()


async def test_empty_command_is_explained(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    sess = make_session(fake_openai, tmp_path)
    await sess.submit(ev.RunUserShell("  "))
    event = await asyncio.wait_for(sess.next_event(), 5)
    while not isinstance(event, ev.WarningIssued):
        event = await asyncio.wait_for(sess.next_event(), 5)
    assert "type a command" in event.message and not sess.turn_running and sess.history == []


async def test_user_command_is_recorded_and_resume_keeps_it(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"CODELOOP_HOME": str(home), "OPENAI_API_KEY": "k", "OPENAI_BASE_URL": fake_openai.base_url, "HOME": str(home)}
    rc = load_config(argparse.Namespace(cd=str(tmp_path), yolo=True), env=env)
    provider = resolve_provider(rc, env)
    sess = build_session(rc, provider, interactive=True)
    await run_shell(sess, "echo kept")
    await sess.submit(ev.Shutdown())
    [path] = list((home / "sessions").rglob("rollout-*.jsonl"))
    assert shell_messages(load_rollout(path).history) == shell_messages(sess.history) != []

    fake_openai.queue_response(fe.turn(fe.message_item("I remember.")))
    resumed = resume_session(rc, provider, path, interactive=True)
    await run_turn(resumed, "what did I run?")
    [text] = shell_messages(fake_openai.responses_bodies()[0]["input"])
    assert "echo kept" in text and "Output:\nkept\n" in text
