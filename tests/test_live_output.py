"""A running command's output, live: streamed as it comes (coalesced, bounded, redacted), and
kept, for the cell and for the model, when the user interrupts the command."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from tests.engine_support import (
    collect,
    make_session,
    of_type,
    outputs_by_call,
    run_turn,
    shell_call,
)
from tests.exec_support import run_exec
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui import protocol as ev
from tui.engine.session import Session
from tui.safety.redact import REDACTED
from tui.tools import live_output
from tui.tools.live_output import LiveOutput

SHAPED = "sk-live" + "abcdefghij0123456789XYZ"  # the shape of a provider key, split below
GATE = "go.flag"


async def _events_until(sess: Session, predicate: object, timeout: float = 30) -> list[ev.Event]:
    """Events from the session up to (and including) the first one `predicate` accepts."""
    seen: list[ev.Event] = []
    async with asyncio.timeout(timeout):
        while True:
            event = await sess.next_event()
            seen.append(event)
            if predicate(event):  # type: ignore[operator]
                return seen


def _live_text(events: list[ev.Event], call_id: str = "c1") -> str:
    return "".join(e.chunk for e in of_type(events, ev.ExecCommandOutputDelta) if e.call_id == call_id)


def _printed(event: ev.Event, text: str) -> bool:
    return isinstance(event, ev.ExecCommandOutputDelta) and text in event.chunk


async def test_running_command_streams_its_output_before_it_ends(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    script = f"echo first-line; while [ ! -e {GATE} ]; do sleep 0.02; done; echo second-line"
    fake_openai.queue_response(fe.turn(shell_call("c1", ["bash", "-c", script])))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    sess = make_session(fake_openai, tmp_path)
    await sess.submit(ev.UserInput("go"))
    before = await _events_until(sess, lambda e: _printed(e, "first-line"))
    assert not of_type(before, ev.ExecCommandEnded)  # still running: it waits for the gate
    (tmp_path / GATE).touch()
    after = await collect(sess)
    assert _live_text(before + after) == "first-line\nsecond-line\n"
    [ended] = of_type(after, ev.ExecCommandEnded)
    assert ended.exit_code == 0 and not ended.interrupted


async def test_fast_output_is_coalesced_into_a_few_updates_a_second(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    # ~10 MB as fast as the machine prints it, then half a second of quiet and a last line.
    script = "head -c 10000000 /dev/zero | tr '\\0' 'x' | fold -w 100; echo; sleep 0.5; echo last-line"
    fake_openai.queue_response(fe.turn(shell_call("c1", ["bash", "-c", script])))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    sess = make_session(fake_openai, tmp_path)
    started = time.monotonic()
    events = await run_turn(sess, "go")
    took = time.monotonic() - started
    deltas = of_type(events, ev.ExecCommandOutputDelta)
    assert len(deltas) <= took / live_output.INTERVAL_S + 3
    # Each update carries at most one flush's worth: the cost per update is bounded.
    assert max(len(d.chunk) for d in deltas) <= live_output.FLUSH_CAP_CHARS + 100
    assert "chars skipped]…" in _live_text(events)
    assert _live_text(events).endswith("x" * 100 + "\nlast-line\n")


async def test_secret_split_across_two_chunks_is_redacted_live(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    half = len(SHAPED) // 2
    # The two halves arrive as two chunks, more than one flush interval apart.
    script = f"printf 'key: {SHAPED[:half]}'; sleep 0.4; printf '{SHAPED[half:]} end\\n'; sleep 0.3; echo after"
    fake_openai.queue_response(fe.turn(shell_call("c1", ["bash", "-c", script])))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    sess = make_session(fake_openai, tmp_path)
    events = await run_turn(sess, "go")
    chunks = [d.chunk for d in of_type(events, ev.ExecCommandOutputDelta)]
    assert "".join(chunks) == f"key: {REDACTED} end\nafter\n"
    assert not any(SHAPED[:half] in c or SHAPED[half:] in c for c in chunks)


async def test_interrupted_command_keeps_its_output_for_the_model(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(shell_call("c1", ["bash", "-c", "echo partial-output; sleep 60"])))
    sess = make_session(fake_openai, tmp_path)
    await sess.submit(ev.UserInput("go"))
    await _events_until(sess, lambda e: _printed(e, "partial-output"))
    await sess.submit(ev.Interrupt())
    events = await collect(sess)
    [ended] = of_type(events, ev.ExecCommandEnded)
    assert ended.interrupted and ended.exit_code == 130 and ended.output == "partial-output\n"
    assert isinstance(events[-1], ev.TurnAborted)

    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    await run_turn(sess, "what happened?")
    output = outputs_by_call(fake_openai.responses_bodies()[-1])["c1"]
    lines = output.splitlines()
    assert lines[0] == "Exit code: 130"
    assert lines[1].startswith("Wall time: ") and lines[1].endswith(" seconds")
    assert lines[2].startswith("aborted by user")
    assert lines[3:] == ["Output:", "partial-output"]


async def test_call_interrupted_before_it_ran_says_only_aborted(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    # c2 waits behind c1 (both write, so they run one after the other): it never starts.
    fake_openai.queue_response(fe.turn(
        shell_call("c1", ["bash", "-c", "echo one; sleep 60"]), shell_call("c2", ["touch", "c2-ran"])
    ))
    sess = make_session(fake_openai, tmp_path)
    await sess.submit(ev.UserInput("go"))
    await _events_until(sess, lambda e: _printed(e, "one"))
    await sess.submit(ev.Interrupt())
    await collect(sess)
    outputs = {i["call_id"]: i["output"] for i in sess.history if i.get("type") == "function_call_output"}
    assert outputs["c2"] == "aborted by user"
    assert "aborted by user" in outputs["c1"] and outputs["c1"].endswith("Output:\none\n")


async def test_interrupted_user_shell_command_keeps_its_output(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    sess = make_session(fake_openai, tmp_path)
    await sess.submit(ev.RunUserShell("echo printed-before; sleep 60"))
    await _events_until(sess, lambda e: _printed(e, "printed-before"))
    await sess.submit(ev.Interrupt())
    events = await collect(sess)
    [ended] = of_type(events, ev.ExecCommandEnded)
    assert ended.interrupted and ended.output == "printed-before\n"
    text = sess.history[-1]["content"][0]["text"]
    assert "Exit code: 130" in text and "Wall time: " in text and "aborted by user" in text
    assert "Output:\nprinted-before\n" in text


# ---------------------------------------------------------------- the coalescer on its own


async def test_unfinished_line_is_held_until_it_ends() -> None:
    sent: list[ev.Event] = []
    live = LiveOutput("c1", sent.append)
    live.feed(b"done: 1\npart")
    await asyncio.sleep(live_output.INTERVAL_S * 3)
    assert [e.chunk for e in sent] == ["done: 1\n"]  # type: ignore[attr-defined]
    live.feed(b"ial\n")
    live.close()
    assert [e.chunk for e in sent] == ["done: 1\n", "partial\n"]  # type: ignore[attr-defined]


async def test_utf8_character_split_between_chunks_is_decoded_whole() -> None:
    sent: list[ev.Event] = []
    live = LiveOutput("c1", sent.append)
    data = "é✓\n".encode()
    live.feed(data[:1])
    live.feed(data[1:4])
    live.feed(data[4:])
    live.close()
    assert "".join(e.chunk for e in sent) == "é✓\n"  # type: ignore[attr-defined]


@pytest.mark.parametrize("size", [live_output.FLUSH_CAP_CHARS * 4])
async def test_a_burst_keeps_only_its_tail(size: int) -> None:
    sent: list[ev.Event] = []
    live = LiveOutput("c1", sent.append)
    live.feed(b"a" * 99 + b"\n" + (b"y" * 99 + b"\n") * (size // 100) + b"tail\n")
    live.close()
    [event] = sent
    assert isinstance(event, ev.ExecCommandOutputDelta)
    assert event.chunk.startswith("…[") and event.chunk.endswith("y\ntail\n")
    assert len(event.chunk) <= live_output.FLUSH_CAP_CHARS + 100


# ---------------------------------------------------------------- exec --engine-events


def test_exec_json_carries_the_live_output_redacted(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    ws, home = tmp_path / "ws", tmp_path / "home"
    ws.mkdir()
    half = len(SHAPED) // 2
    script = f"echo one; sleep 0.3; printf '{SHAPED[:half]}'; sleep 0.3; printf '{SHAPED[half:]}\\n'"
    fake_openai.queue_response(fe.turn(shell_call("c1", ["bash", "-c", script])))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    proc = run_exec(fake_openai, ws, home, "--engine-events", "--yolo", "go")
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    types = [e["type"] for e in events]
    deltas = [e for e in events if e["type"] == "exec_command_output_delta"]
    assert all(d["call_id"] == "c1" for d in deltas)
    assert "".join(d["chunk"] for d in deltas) == f"one\n{REDACTED}\n"
    assert types.index("exec_command_output_delta") < types.index("exec_command_ended")
    assert not any(SHAPED[:half] in d["chunk"] or SHAPED[half:] in d["chunk"] for d in deltas)
