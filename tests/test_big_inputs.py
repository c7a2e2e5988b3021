"""Inputs far outside the everyday, through the real engine (or `codeloop exec`) and the fake
server: 100 MB of output, bytes that are not UTF-8, a command that never ends, a 50,000-line file,
arguments that are not valid Unicode.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from types import TracebackType

from tests.benchmarks.report import vm_kib
from tests.engine_support import (
    make_session,
    of_type,
    outputs_by_call,
    process_gone,
    run_turn,
    shell_call,
)
from tests.exec_support import run_exec
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui import protocol as ev

RSS_GROWTH_LIMIT_MB = 200
# The model sees at most tool_output_token_limit (10,000 by default) × 4 characters, plus the
# few header lines.
OUTPUT_LIMIT_CHARS = 10_000 * 4 + 500


class PeakRss:
    """Samples this process's resident set every few milliseconds while the block runs."""

    def __init__(self) -> None:
        self.baseline_kib = self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak_kib = max(self.peak_kib, vm_kib("VmRSS"))

    def __enter__(self) -> PeakRss:
        self.baseline_kib = self.peak_kib = vm_kib("VmRSS")
        self._thread.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_kib = max(self.peak_kib, vm_kib("VmRSS"))

    @property
    def growth_mb(self) -> float:
        return (self.peak_kib - self.baseline_kib) / 1024


async def test_a_hundred_megabytes_of_output_reach_the_model_capped_in_bounded_memory(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    command = ["sh", "-c", "yes 'a line from a very chatty command' | head -c 100000000; echo; echo THE END"]
    fake_openai.queue_response(fe.turn(fe.message_item("ready")))
    fake_openai.queue_response(fe.turn(shell_call("c1", command)))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    sess = make_session(fake_openai, tmp_path)
    await run_turn(sess, "warm up")  # loads the tokenizer (~50 MB), which is not what is measured
    with PeakRss() as rss:
        events = await run_turn(sess, "print a lot", timeout=120)
    assert isinstance(events[-1], ev.TurnCompleted)
    output = outputs_by_call(fake_openai.responses_bodies()[2])["c1"]
    assert output.startswith("Exit code: 0\n") and output.endswith("THE END\n")
    assert "a line from a very chatty command\n" in output and "truncated]" in output
    assert len(output) <= OUTPUT_LIMIT_CHARS
    [ended] = of_type(events, ev.ExecCommandEnded)
    assert len(ended.output) <= 4000
    assert rss.growth_mb < RSS_GROWTH_LIMIT_MB, f"RSS grew {rss.growth_mb:.0f} MB"


async def test_binary_and_non_utf8_output_reaches_the_model_as_valid_text(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    blob = bytes(range(256)) * 64 + b"\ncaf\xe9 \xff\xfe half a character: \xe2\x82 then NUL \x00 end\n"
    (tmp_path / "blob.bin").write_bytes(blob)
    fake_openai.queue_response(fe.turn(shell_call("c1", ["cat", "blob.bin"])))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    events = await run_turn(make_session(fake_openai, tmp_path), "show the blob")
    assert isinstance(events[-1], ev.TurnCompleted)
    request = [r for r in fake_openai.requests if r.path == "/v1/responses"][1]
    request.raw.decode("utf-8")  # the request itself is valid UTF-8
    output = outputs_by_call(request.body)["c1"]
    output.encode("utf-8")  # and so is the text the model reads: no lone surrogates
    assert "caf\ufffd \ufffd\ufffd half a character: \ufffd then NUL \x00 end\n" in output
    [ended] = of_type(events, ev.ExecCommandEnded)
    ended.output.encode("utf-8")


async def test_a_command_that_never_ends_is_killed_with_its_group_at_timeout_ms(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    script = "sleep 1000 & echo $! > child.pid; echo $$ > shell.pid; echo started; sleep 1000"
    fake_openai.queue_response(fe.turn(shell_call("c1", ["sh", "-c", script], timeout_ms=500)))
    fake_openai.queue_response(fe.turn(fe.message_item("it hung")))
    events = await run_turn(make_session(fake_openai, tmp_path), "run the server", timeout=30)
    assert isinstance(events[-1], ev.TurnCompleted)
    [ended] = of_type(events, ev.ExecCommandEnded)
    assert ended.timed_out
    output = outputs_by_call(fake_openai.responses_bodies()[1])["c1"]
    assert "timed out" in output and "started" in output
    for name in ("shell.pid", "child.pid"):
        assert process_gone(int((tmp_path / name).read_text())), f"{name} survived the timeout"


async def test_patch_for_a_fifty_thousand_line_crlf_file_through_the_tool(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    # Every thousandth line is a `def`; the lines between repeat, so only the anchors say where.
    lines = [f"def section_{i}():" if i % 1000 == 0 else f"    value = {i % 7}" for i in range(50_000)]
    (tmp_path / "big.py").write_bytes("\r\n".join(lines).encode() + b"\r\n")
    patch = "\n".join(
        [
            "*** Begin Patch",
            "*** Update File: big.py",
            "@@",
            "+# generated",
            " def section_0():",
            "@@ def section_25000():",
            f"-    value = {25_001 % 7}",
            "+    value = 'middle'",
            "@@ def section_49000():",
            f"     value = {49_998 % 7}",
            f"-    value = {49_999 % 7}",
            "+    value = 'last'",
            "*** End of File",
            "*** End Patch",
        ]
    )
    fake_openai.queue_response(fe.turn(fe.custom_tool_call_item("c1", "apply_patch", patch)))
    fake_openai.queue_response(fe.turn(fe.message_item("patched")))
    events = await run_turn(make_session(fake_openai, tmp_path), "patch it", timeout=60)
    assert isinstance(events[-1], ev.TurnCompleted)
    assert outputs_by_call(fake_openai.responses_bodies()[1])["c1"] == "Success. Updated the following files:\nM big.py"
    expected = ["# generated", *lines]
    expected[1 + 25_001] = "    value = 'middle'"
    expected[1 + 49_999] = "    value = 'last'"
    assert (tmp_path / "big.py").read_bytes() == "\r\n".join(expected).encode() + b"\r\n"


def test_exec_json_lines_stay_valid_utf8_when_a_patched_file_is_not(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    ws, home = tmp_path / "ws", tmp_path / "home"
    ws.mkdir()
    (ws / "menu.txt").write_bytes(b"caf\xe9\nsecond\n")  # Latin-1
    patch = "*** Begin Patch\n*** Update File: menu.txt\n@@\n-second\n+2nd\n*** End Patch\n"
    fake_openai.queue_response(fe.turn(fe.custom_tool_call_item("c1", "apply_patch", patch)))
    fake_openai.queue_response(fe.turn(fe.message_item("patched")))
    proc = run_exec(fake_openai, ws, home, "--json", "--yolo", "patch the menu")
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]  # text=True: strict UTF-8
    changes = [e["item"] for e in events if e["type"] == "item.completed" and e["item"]["type"] == "file_change"]
    assert changes[0]["status"] == "completed" and events[-1]["type"] == "turn.completed"
    assert (ws / "menu.txt").read_bytes() == b"caf\xe9\n2nd\n"  # the file keeps its own bytes


async def test_an_argument_that_is_not_valid_unicode_does_not_poison_the_history(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    # `\udcff` is valid JSON but decodes to a lone surrogate, which the error message echoes; in
    # the history it would make this request and every later one unsendable.
    arguments = '{"input": "*** Begin Patch\\n*** Update File: \\udcff.txt\\n@@\\n-a\\n+b\\n*** End Patch"}'
    fake_openai.queue_response(fe.turn(fe.function_call_item("c1", "apply_patch", arguments)))
    fake_openai.queue_response(fe.turn(fe.message_item("no such file, then")))
    fake_openai.queue_response(fe.turn(fe.message_item("still here")))
    sess = make_session(fake_openai, tmp_path, apply_patch_kind="function")
    assert isinstance((await run_turn(sess, "patch it"))[-1], ev.TurnCompleted)
    assert isinstance((await run_turn(sess, "and now?"))[-1], ev.TurnCompleted)
    output = outputs_by_call(fake_openai.responses_bodies()[2])["c1"]
    assert "Cannot update '\ufffd.txt': no such file" in output
