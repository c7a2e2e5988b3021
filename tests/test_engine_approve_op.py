"""An approval answered as data: the `Approve` op resolves the pending request inside the engine,
so a face that cannot hold the request's future (serve, a JSON client) can answer it."""

from __future__ import annotations

from pathlib import Path

from tests.engine_support import (
    collect,
    make_session,
    of_type,
    outputs_by_call,
    shell_call,
    until,
)
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui import protocol as ev
from tui.engine.session import Session

# Not known-safe, so `untrusted` asks; it leaves a file behind, so whether it ran is plain.
WRITE_MARK = ["python3", "-c", "open('ran.txt', 'w').write('ran')"]


def _asking_session(fake: FakeOpenAI, cwd: Path) -> Session:
    fake.queue_response(fe.turn(shell_call("c1", WRITE_MARK)))
    fake.queue_response(fe.turn(fe.message_item("done")))
    return make_session(fake, cwd, policy="untrusted", sandbox="workspace-write")


async def test_approve_op_answers_the_pending_request_and_the_command_runs(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    sess = _asking_session(fake_openai, tmp_path)
    await sess.submit(ev.UserInput("write the mark"))
    _, request = await until(sess, ev.ApprovalRequested)
    assert request.call_id == "c1" and request.kind == "exec"

    await sess.submit(ev.Approve("c1", ev.ReviewDecision.APPROVED))
    events = await collect(sess)  # a second request would fail the test

    assert of_type(events, ev.TurnCompleted)
    decided = of_type(events, ev.ApprovalDecided)
    assert [(d.call_id, d.decision, d.by) for d in decided] == [("c1", ev.ReviewDecision.APPROVED, "user")]
    assert (tmp_path / "ran.txt").read_text() == "ran"
    assert outputs_by_call(fake_openai.responses_bodies()[1])["c1"].startswith("Exit code: 0")
    await sess.submit(ev.Shutdown())


async def test_approve_op_for_an_unknown_call_is_ignored(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    sess = _asking_session(fake_openai, tmp_path)
    await sess.submit(ev.Approve("c1", ev.ReviewDecision.APPROVED))  # before anything asked: no crash
    await sess.submit(ev.UserInput("write the mark"))
    _, request = await until(sess, ev.ApprovalRequested)

    await sess.submit(ev.Approve("not-a-call", ev.ReviewDecision.APPROVED))
    assert request.future is not None and not request.future.done()  # still waiting for its own answer

    await sess.submit(ev.Approve("c1", ev.ReviewDecision.DENIED))
    events = await collect(sess)
    assert of_type(events, ev.TurnCompleted)
    assert [d.decision for d in of_type(events, ev.ApprovalDecided)] == [ev.ReviewDecision.DENIED]
    assert not (tmp_path / "ran.txt").exists()
    assert "declined" in outputs_by_call(fake_openai.responses_bodies()[1])["c1"]
    await sess.submit(ev.Shutdown())


async def test_a_second_approve_for_the_same_call_is_ignored(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    sess = _asking_session(fake_openai, tmp_path)
    await sess.submit(ev.UserInput("write the mark"))
    await until(sess, ev.ApprovalRequested)

    await sess.submit(ev.Approve("c1", ev.ReviewDecision.APPROVED))
    await sess.submit(ev.Approve("c1", ev.ReviewDecision.ABORT))  # too late: the first answer stands
    events = await collect(sess)

    assert of_type(events, ev.TurnCompleted) and not of_type(events, ev.TurnAborted)
    assert [d.decision for d in of_type(events, ev.ApprovalDecided)] == [ev.ReviewDecision.APPROVED]
    assert (tmp_path / "ran.txt").read_text() == "ran"

    # After the turn, an answer to its old request changes nothing and the session goes on.
    await sess.submit(ev.Approve("c1", ev.ReviewDecision.DENIED))
    fake_openai.queue_response(fe.turn(fe.message_item("still here")))
    await sess.submit(ev.UserInput("are you there?"))
    after = await collect(sess)
    assert [m.text for m in of_type(after, ev.AgentMessage)] == ["still here"]
    await sess.submit(ev.Shutdown())


async def test_approve_op_for_a_request_its_interrupted_turn_left_is_ignored(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    sess = _asking_session(fake_openai, tmp_path)
    await sess.submit(ev.UserInput("write the mark"))
    await until(sess, ev.ApprovalRequested)
    await sess.submit(ev.Interrupt())
    events = await collect(sess)
    assert of_type(events, ev.TurnAborted)

    await sess.submit(ev.Approve("c1", ev.ReviewDecision.APPROVED))
    assert not (tmp_path / "ran.txt").exists()
    assert not sess.turn_running
    await sess.submit(ev.Shutdown())
