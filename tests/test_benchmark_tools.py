"""The Codex side-by-side benchmark's own measuring tools: what they count must be right, or the
table lies. (The benchmarks themselves run from `python -m tests.benchmarks`, not here.)"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.benchmarks import codex_compare as cc


def _body(items: list[dict], tools: list[dict] | None = None, instructions: str = "base") -> dict:
    return {"instructions": instructions, "tools": tools or [{"type": "function", "name": "shell"}], "input": items}


def _msg(text: str) -> dict:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def test_a_request_that_extends_the_previous_one_is_no_break() -> None:
    a, b, c = _msg("a"), _msg("b"), _msg("c")
    assert cc.cache_breaks([_body([a]), _body([a, b]), _body([a, b, c])]) == 0


def test_rewritten_history_changed_tools_or_instructions_each_break_the_cache() -> None:
    a, b = _msg("a"), _msg("b")
    assert cc.cache_breaks([_body([a, b]), _body([b, a])]) == 1  # reordered
    assert cc.cache_breaks([_body([a]), _body([a], tools=[{"type": "function", "name": "other"}])]) == 1
    assert cc.cache_breaks([_body([a]), _body([a, b], instructions="changed")]) == 1
    assert cc.cache_breaks([_body([a, b]), _body([a])]) == 1  # dropped items


def test_prompt_tokens_count_instructions_tools_and_every_input_text() -> None:
    count = len  # one "token" per character keeps the arithmetic visible
    body = _body([_msg("hello"), {"type": "message", "role": "developer", "content": "sys"}], instructions="inst")
    tools = json.dumps(body["tools"], separators=(",", ":"))
    assert cc.prompt_tokens(body, count) == len("inst") + len(tools) + len("hello") + len("sys")


def test_the_script_speaks_each_programs_tools() -> None:
    script = cc.Script(cc.EDIT)
    codex_tools = [{"type": "function", "name": "exec_command"}, {"type": "custom", "name": "apply_patch"}]
    ours = [{"type": "function", "name": "shell"}, {"type": "function", "name": "apply_patch"}]

    def call_item(events: list[dict]) -> dict:
        return next(e["item"] for e in events if e["type"] == "response.output_item.done")

    first = call_item(script({"input": [_msg("go")], "tools": codex_tools}))
    assert first["name"] == "exec_command" and json.loads(first["arguments"]) == {"cmd": "cat hello.py"}
    first = call_item(script({"input": [_msg("go")], "tools": ours}))
    assert json.loads(first["arguments"]) == {"command": ["bash", "-lc", "cat hello.py"]}
    done = {"type": "function_call_output", "call_id": "call_000", "output": "x"}
    patch = call_item(script({"input": [_msg("go"), done], "tools": codex_tools}))
    assert patch["type"] == "custom_tool_call" and patch["input"].startswith("*** Begin Patch")
    patch = call_item(script({"input": [_msg("go"), done], "tools": ours}))
    assert patch["type"] == "function_call" and json.loads(patch["arguments"])["input"].startswith("*** Begin Patch")
    second = {"type": "custom_tool_call_output", "call_id": "call_001", "output": "x"}
    answer = call_item(script({"input": [_msg("go"), done, second], "tools": ours}))
    assert answer["type"] == "message"


def test_peak_memory_is_the_programs_not_the_benchmarks(tmp_path: Path) -> None:
    """The launcher forks the program from a small process, so the benchmark's own resident set
    (this test process: well over 60 MB) does not leak into the figure."""
    small = [sys.executable, "-S", "-c", "pass"]
    big = [sys.executable, "-S", "-c", "x = bytearray(120 * 1024 * 1024); x[::4096] = b'1' * len(x[::4096])"]
    _, small_kib = cc.run_program(small, {}, tmp_path)
    _, big_kib = cc.run_program(big, {}, tmp_path)
    assert small_kib < 40 * 1024
    assert 120 * 1024 <= big_kib < 200 * 1024


def test_load_mode_table_pairs_idle_and_loaded_and_meets_only_when_both_do() -> None:
    from tests.benchmarks.load import paired_table
    from tests.benchmarks.report import at_most, info

    idle = [at_most("lag", 40.0, "ms", 50), at_most("p95", 30.0, "ms", 50), info("rss", 120.0, "MB", "same note")]
    loaded = [at_most("lag", 45.0, "ms", 50), at_most("p95", 80.0, "ms", 50), info("rss", 121.0, "MB", "same note")]
    lines = {line.split()[0]: line.split() for line in paired_table(idle, loaded).splitlines()[2:]}
    assert lines["lag"][1:3] == ["40.0", "45.0"] and lines["lag"][-1] == "yes"
    assert lines["p95"][1:3] == ["30.0", "80.0"] and lines["p95"][-1] == "NO"  # met idle, missed loaded
    assert paired_table(idle, loaded).count("same note") == 1


def test_cpu_load_keeps_one_busy_process_per_core_and_stops_them() -> None:
    from tests.benchmarks.load import cpu_load, spinner_count

    with cpu_load() as spinners:
        assert len(spinners) == spinner_count()
        assert all(proc.poll() is None for proc in spinners)
        pids = [proc.pid for proc in spinners]
        # Busy: each has used CPU time (utime, /proc/PID/stat field 14) during the warm-up.
        assert all(int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11]) > 0 for pid in pids)
    assert all(proc.poll() is not None for proc in spinners)
