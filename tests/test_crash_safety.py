"""`kill -9` a real `codeloop exec` at points of a turn; `codeloop exec resume --last` goes on.

Each test checks, while the process still runs, that what it has recorded so far is already in
the rollout file (one flushed line per item), kills it with SIGKILL, then resumes it as a real
process against the fake server. The server refuses a call without an output, so a resume that
completes proves the rebuilt history is valid; and the resumed request must start with every
item the killed process had written, in order.
"""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.engine_support import outputs_by_call, shell_call
from tests.exec_support import run_exec, start_exec
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tests.process_support import ProcessTree, seconds_until_gone
from tui.engine.resume import INTERRUPTED_OUTPUT, load_rollout
from tui.engine.rollout import read_rollout


def rollout_file(home: Path, timeout_s: float = 30) -> Path:
    deadline = time.monotonic() + timeout_s
    while not (found := list((home / "sessions").rglob("rollout-*.jsonl"))):
        assert time.monotonic() < deadline, "no rollout file was created"
        time.sleep(0.02)
    [path] = found
    return path


def response_items(path: Path) -> list[dict[str, Any]]:
    return [ln["payload"] for ln in read_rollout(path) if ln["type"] == "response_item"]


def wait_for(predicate: Any, proc: subprocess.Popen[str], what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert proc.poll() is None, f"exec exited before {what}: {proc.communicate()}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def kill_9(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL


def resume_and_check(fake: FakeOpenAI, ws: Path, home: Path, written: list[dict[str, Any]]) -> dict[str, Any]:
    """Resume the killed session; the request it makes starts with `written`, whole and in
    order, then an "interrupted" output for each call left without one, then the new prompt."""
    fake.queue_response(fe.turn(fe.message_item("carrying on")))
    started = time.monotonic()
    resumed = run_exec(fake, ws, home, "--yolo", "resume", "--last", "continue")
    print(f"resume took {time.monotonic() - started:.2f}s")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout == "carrying on\n"
    body: dict[str, Any] = fake.responses_bodies()[-1]
    n = len(written)
    assert body["input"][:n] == written
    answered = {i["call_id"] for i in written if i["type"] == "function_call_output"}
    open_calls = [i["call_id"] for i in written if i["type"] == "function_call" and i["call_id"] not in answered]
    repaired = [{"type": "function_call_output", "call_id": c, "output": INTERRUPTED_OUTPUT} for c in open_calls]
    assert body["input"][n:] == [*repaired, {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "continue"}]}]
    return body


def test_killed_while_the_answer_streams(fake_openai: FakeOpenAI, workspace: tuple[Path, Path]) -> None:
    """Only a completed response is recorded: the call that had fully arrived before the kill
    was neither recorded nor run, and the half-streamed answer is not in the history."""
    ws, home = workspace
    fake_openai.queue_response(
        fe.turn(shell_call("c1", ["touch", "ran"]), fe.message_item("word " * 500)), delay=0.02
    )
    proc = start_exec(fake_openai, ws, home, "--engine-events", "--yolo", "stream something")
    try:
        rollout = rollout_file(home)
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:
            seen.append(json.loads(line)["type"])
            if seen[-1] == "agent_message_delta":
                break
        assert "tool_call_proposed" in seen  # the call had arrived whole
        written_live = response_items(rollout)  # read while the process still runs
        assert written_live[-1]["content"][0]["text"] == "stream something"
        kill_9(proc)
    finally:
        proc.kill()
    written = response_items(rollout)
    assert written == written_live
    assert not (ws / "ran").exists()
    resume_and_check(fake_openai, ws, home, written)


def test_killed_while_a_command_runs(fake_openai: FakeOpenAI, workspace: tuple[Path, Path], tree: ProcessTree) -> None:
    ws, home = workspace
    fake_openai.queue_response(fe.turn(fe.reasoning_item("Run it"), shell_call("c1", tree.argv)))
    proc = start_exec(fake_openai, ws, home, "--yolo", "run the long thing")
    try:
        tree.wait_until_running(proc)
        rollout = rollout_file(home)
        written_live = response_items(rollout)
        assert [i["type"] for i in written_live[-2:]] == ["reasoning", "function_call"]
        kill_9(proc)
    finally:
        proc.kill()
        tree.kill_leftovers()  # an unsandboxed command outlives a SIGKILLed codeloop (see below)
    written = response_items(rollout)
    assert written == written_live
    body = resume_and_check(fake_openai, ws, home, written)
    assert outputs_by_call(body) == {"c1": INTERRUPTED_OUTPUT}


def test_killed_right_after_a_tool_output_is_recorded(fake_openai: FakeOpenAI, workspace: tuple[Path, Path]) -> None:
    ws, home = workspace
    killed = threading.Event()

    def held(body: dict[str, Any]) -> list[dict[str, Any]]:
        killed.wait(30)  # the request that follows the output stays unanswered until the kill
        return fe.turn(fe.message_item("too late"))

    fake_openai.queue_response(fe.turn(shell_call("c1", ["echo", "hello"])))
    fake_openai.queue_handler(held)
    proc = start_exec(fake_openai, ws, home, "--yolo", "say hello")
    try:
        wait_for(lambda: len(fake_openai.responses_bodies()) == 2, proc, "the second request")
        rollout = rollout_file(home)
        written_live = response_items(rollout)
        assert written_live[-1]["type"] == "function_call_output"
        assert written_live[-1]["output"].startswith("Exit code: 0") and "hello" in written_live[-1]["output"]
        # The request being held carries exactly what the file holds.
        assert fake_openai.responses_bodies()[1]["input"] == written_live
        kill_9(proc)
    finally:
        killed.set()
        proc.kill()
    written = response_items(rollout)
    assert written == written_live
    body = resume_and_check(fake_openai, ws, home, written)
    assert list(outputs_by_call(body)) == ["c1"]


FILE_LIMIT = 1 << 20  # the lines before the big answer take ~20 kB; the answer's line is 4 MB


def start_exec_with_file_limit(fake: FakeOpenAI, ws: Path, home: Path) -> subprocess.Popen[str]:
    """exec whose files may not grow past FILE_LIMIT (RLIMIT_FSIZE), with a 4 MB answer to
    record: the write of that line stops part-way, as it would on a full disk."""
    fake.queue_response(fe.turn(shell_call("c1", ["echo", "hi"])))
    fake.queue_response(fe.turn(fe.message_item("big " * 1_000_000, chunk_size=1 << 16)))

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))

    return start_exec(fake, ws, home, "--yolo", "write a lot", preexec_fn=limit_file_size)


def test_killed_mid_write_of_a_big_rollout_line(fake_openai: FakeOpenAI, workspace: tuple[Path, Path]) -> None:
    """A real torn line, then SIGKILL. Resume skips the torn line, keeps every whole line before
    it, and ends the torn line so that its own lines stay readable."""
    ws, home = workspace
    proc = start_exec_with_file_limit(fake_openai, ws, home)
    try:
        rollout = rollout_file(home)
        wait_for(lambda: rollout.stat().st_size >= FILE_LIMIT, proc, "the write to reach the limit")
        if proc.poll() is None:
            kill_9(proc)
    finally:
        proc.kill()
        proc.communicate()
    raw = rollout.read_bytes()
    assert len(raw) == FILE_LIMIT and not raw.endswith(b"\n")
    torn = raw[raw.rindex(b"\n") + 1 :]
    assert torn.startswith(b'{"timestamp"') and b'"type":"response_item","payload":{"type":"message"' in torn[:120]
    written = response_items(rollout)
    assert written[-1]["type"] == "function_call_output" and written[-1]["call_id"] == "c1"
    resume_and_check(fake_openai, ws, home, written)
    # The resumed run appended after the torn line without gluing onto it: all of it reads back.
    history = load_rollout(rollout).history
    assert history[: len(written)] == written
    assert history[-1]["content"][0]["text"] == "carrying on"


def test_a_rollout_write_that_fails_does_not_hang_exec(fake_openai: FakeOpenAI, workspace: tuple[Path, Path]) -> None:
    ws, home = workspace
    proc = start_exec_with_file_limit(fake_openai, ws, home)
    try:
        _, err = proc.communicate(timeout=15)  # the whole run takes ~2 s
    finally:
        proc.kill()
        proc.communicate()
    assert "File too large" in err and "no longer being recorded" in err


@pytest.mark.parametrize(
    "mode",
    [
        "--full-auto",
        pytest.param("--yolo", marks=pytest.mark.xfail(
            strict=True,
            reason="an unsandboxed command runs in a session of its own and nothing ties it to "
            "codeloop: SIGKILL leaves it running (bwrap's --die-with-parent covers the sandbox)",
        )),
    ],
)
def test_the_running_command_dies_with_a_killed_exec(
    fake_openai: FakeOpenAI, workspace: tuple[Path, Path], tree: ProcessTree, mode: str
) -> None:
    ws, home = workspace
    fake_openai.queue_response(fe.turn(shell_call("c1", tree.argv)))
    proc = start_exec(fake_openai, ws, home, mode, "run the long thing")
    try:
        pids = tree.wait_until_running(proc)
        sent = time.monotonic()
        kill_9(proc)
        took = seconds_until_gone(pids, sent)
        print(f"{mode}: command tree gone {took:.3f}s after SIGKILL")
    finally:
        proc.kill()
