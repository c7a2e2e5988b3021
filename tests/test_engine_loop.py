"""The loop: tools, one output per call, failures and retries, real captures replayed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.engine_support import (
    make_session,
    of_type,
    outputs_by_call,
    run_turn,
    shell_call,
)
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui import protocol as ev

PATCH = """*** Begin Patch
*** Add File: hello.txt
+hello
*** Update File: src.py
@@
-x = 1
+x = 2
*** End Patch"""


async def test_shell_output_reaches_the_model(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(shell_call("c1", ["bash", "-lc", "echo hi; echo err >&2; exit 3"])))
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    events = await run_turn(make_session(fake_openai, tmp_path), "go")
    out = outputs_by_call(fake_openai.responses_bodies()[1])["c1"]
    assert out.startswith("Exit code: 3\nWall time: ")
    assert "hi" in out and "err" in out
    [ended] = of_type(events, ev.ExecCommandEnded)
    assert ended.exit_code == 3 and not ended.timed_out


async def test_every_call_gets_exactly_one_output_even_when_malformed(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(
        fe.turn(
            fe.function_call_item("c_unknown", "teleport", "{}"),
            fe.function_call_item("c_badjson", "shell", "{not json"),
            fe.function_call_item("c_schema", "shell", json.dumps({"command": "ls"})),
            fe.function_call_item("c_plan", "update_plan", json.dumps({"plan": [{"step": "a", "status": "doing"}]})),
            fe.function_call_item("c_extra", "shell", json.dumps({"command": ["true"], "color": 1})),
        )
    )
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    events = await run_turn(make_session(fake_openai, tmp_path), "go")
    assert of_type(events, ev.TurnCompleted)
    body = fake_openai.responses_bodies()[1]
    outs = outputs_by_call(body)
    assert list(outs) == ["c_unknown", "c_badjson", "c_schema", "c_plan", "c_extra"]  # call order
    assert "unknown tool 'teleport'" in outs["c_unknown"] and "shell" in outs["c_unknown"]
    assert "could not parse the arguments as JSON" in outs["c_badjson"]
    assert "command" in outs["c_schema"] and "invalid arguments" in outs["c_schema"]
    assert "plan.0.status" in outs["c_plan"]
    assert "color" in outs["c_extra"]
    assert len(of_type(events, ev.ToolCallEnded)) == 5


async def test_update_plan_emits_plan_updated(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    plan = {"explanation": "two steps", "plan": [{"step": "read", "status": "completed"}, {"step": "fix", "status": "in_progress"}]}
    fake_openai.queue_response(fe.turn(fe.function_call_item("p1", "update_plan", json.dumps(plan))))
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    events = await run_turn(make_session(fake_openai, tmp_path), "go")
    [update] = of_type(events, ev.PlanUpdated)
    assert update.explanation == "two steps"
    assert [(s.step, s.status) for s in update.plan] == [("read", "completed"), ("fix", "in_progress")]
    assert outputs_by_call(fake_openai.responses_bodies()[1])["p1"] == "Plan updated"


@pytest.mark.parametrize("kind", ["freeform", "function"])
async def test_apply_patch_tool_applies_all_changes(fake_openai: FakeOpenAI, tmp_path: Path, kind: str) -> None:
    (tmp_path / "src.py").write_text("x = 1\n")
    if kind == "freeform":
        call = fe.custom_tool_call_item("p1", "apply_patch", PATCH)
    else:
        call = fe.function_call_item("p1", "apply_patch", json.dumps({"input": PATCH}))
    fake_openai.queue_response(fe.turn(call))
    fake_openai.queue_response(fe.turn(fe.message_item("patched")))
    events = await run_turn(make_session(fake_openai, tmp_path, apply_patch_kind=kind), "go")
    assert (tmp_path / "hello.txt").read_text() == "hello\n"
    assert (tmp_path / "src.py").read_text() == "x = 2\n"
    body = fake_openai.responses_bodies()[1]
    spec = next(t for t in body["tools"] if t["name"] == "apply_patch")
    assert spec["type"] == ("custom" if kind == "freeform" else "function")
    out = outputs_by_call(body)["p1"]
    assert out.startswith("Success.") and "A hello.txt" in out and "M src.py" in out
    [began] = of_type(events, ev.PatchApplyBegan)
    assert {(c.path, c.added, c.removed) for c in began.changes} == {("hello.txt", 1, 0), ("src.py", 1, 1)}


async def test_failed_patch_changes_nothing_and_tells_the_model(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "src.py").write_text("y = 1\n")
    fake_openai.queue_response(fe.turn(fe.custom_tool_call_item("p1", "apply_patch", PATCH)))
    fake_openai.queue_response(fe.turn(fe.message_item("sorry")))
    await run_turn(make_session(fake_openai, tmp_path), "go")
    assert not (tmp_path / "hello.txt").exists()
    assert (tmp_path / "src.py").read_text() == "y = 1\n"
    out = outputs_by_call(fake_openai.responses_bodies()[1])["p1"]
    assert "nothing was changed" in out and "src.py" in out


async def test_shell_heredoc_apply_patch_is_routed_to_the_patch_tool(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    script = "apply_patch <<'EOF'\n*** Begin Patch\n*** Add File: a.txt\n+A\n*** End Patch\nEOF\n"
    fake_openai.queue_response(fe.turn(shell_call("c1", ["bash", "-lc", script])))
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    await run_turn(make_session(fake_openai, tmp_path), "go")
    assert (tmp_path / "a.txt").read_text() == "A\n"


async def test_cut_stream_is_retried_and_its_calls_never_run(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    call = shell_call("c1", ["bash", "-lc", "echo ran >> log.txt"])
    full = fe.turn(call)
    fake_openai.queue_cut_stream(full[:-1])  # everything but response.completed
    fake_openai.queue_response(full)
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    events = await run_turn(make_session(fake_openai, tmp_path), "go")
    assert (tmp_path / "log.txt").read_text() == "ran\n", "the call ran exactly once"
    [retry] = of_type(events, ev.StreamRetrying)
    assert retry.attempt == 1 and "response.completed" in retry.reason
    bodies = fake_openai.responses_bodies()
    assert bodies[1]["input"] == bodies[0]["input"], "the failed attempt left nothing behind"
    assert [i["call_id"] for i in bodies[2]["input"] if i["type"] == "function_call"] == ["c1"]


async def test_fatal_error_fails_the_turn_and_keeps_the_session(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_http_error(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}})
    fake_openai.queue_response(fe.turn(fe.message_item("back")))
    sess = make_session(fake_openai, tmp_path)
    events = await run_turn(sess, "go")
    [failed] = of_type(events, ev.TurnFailed)
    assert "Incorrect API key" in failed.message
    assert not of_type(events, ev.StreamRetrying)
    events = await run_turn(sess, "again")
    assert of_type(events, ev.TurnCompleted)[0].last_agent_message == "back"


async def test_response_failed_rate_limit_is_retried(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(
        [fe.response_created("resp_1"), fe.failed("rate_limit_exceeded", "Rate limit reached. Please try again in 10ms.")]
    )
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    events = await run_turn(make_session(fake_openai, tmp_path), "go")
    [retry] = of_type(events, ev.StreamRetrying)
    assert retry.delay_s == pytest.approx(0.01)
    assert of_type(events, ev.TurnCompleted)


async def test_token_usage_is_reported_per_request_and_in_total(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(shell_call("c1", ["true"]), usage=fe.usage(1000, 50, cached_tokens=0, reasoning_tokens=20)))
    fake_openai.queue_response(fe.turn(fe.message_item("ok"), usage=fe.usage(1200, 10, cached_tokens=1000)))
    events = await run_turn(make_session(fake_openai, tmp_path), "go")
    first, second = of_type(events, ev.TokenUsage)
    assert (first.input_tokens, first.output_tokens, first.reasoning_tokens) == (1000, 50, 20)
    assert (second.cached_input_tokens, second.session_total_tokens) == (1000, 1050 + 1210)


async def test_real_reasoning_capture_replays_through_the_loop(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """Four real gpt-5.1-codex-max streams (store=false): reasoning + calls to a tool we lack."""
    for step in range(1, 5):
        fake_openai.queue_response(fe.load_fixture(f"real_gpt-5.1-codex-max_store-false_step{step}"))
    events = await run_turn(make_session(fake_openai, tmp_path), "compute")
    done = of_type(events, ev.TurnCompleted)
    assert done and done[0].last_agent_message
    bodies = fake_openai.responses_bodies()
    assert len(bodies) == 4
    last = bodies[-1]["input"]
    calls = [i for i in last if i["type"] == "function_call"]
    outs = outputs_by_call(bodies[-1])
    assert calls and all("unknown tool 'calculator'" in outs[c["call_id"]] for c in calls)
    assert any(i["type"] == "reasoning" and i["encrypted_content"].startswith("gAAAA") for i in last)


async def test_real_single_function_call_capture(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.load_fixture("real_gpt-5.1_single_function_call_2026"))
    fake_openai.queue_response(fe.turn(fe.message_item("fine")))
    events = await run_turn(make_session(fake_openai, tmp_path), "go")
    assert of_type(events, ev.ToolCallProposed) and of_type(events, ev.TurnCompleted)


async def test_nested_error_event_insufficient_quota_is_not_retried(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.load_fixture("real_error_event_nested_then_response_failed"))
    events = await run_turn(make_session(fake_openai, tmp_path), "go")
    assert of_type(events, ev.TurnFailed) and not of_type(events, ev.StreamRetrying)
    assert "quota" in of_type(events, ev.TurnFailed)[0].message


async def test_read_only_calls_run_concurrently_and_outputs_keep_call_order(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "a").write_text("A\n")
    (tmp_path / "b").write_text("B\n")
    fake_openai.queue_response(fe.turn(shell_call("r1", ["cat", "a"]), shell_call("r2", ["cat", "b"]), shell_call("w1", ["bash", "-lc", "echo w > c"])))
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    await run_turn(make_session(fake_openai, tmp_path), "go")
    outs = outputs_by_call(fake_openai.responses_bodies()[1])
    assert list(outs) == ["r1", "r2", "w1"]
    assert "A" in outs["r1"] and "B" in outs["r2"]


async def test_incomplete_response_fails_the_turn_without_running_its_calls(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(shell_call("c1", ["bash", "-lc", "echo ran > ran.txt"]), incomplete_reason="max_output_tokens"))
    events = await run_turn(make_session(fake_openai, tmp_path), "go")
    [failed] = of_type(events, ev.TurnFailed)
    assert "max_output_tokens" in failed.message
    assert not (tmp_path / "ran.txt").exists()
