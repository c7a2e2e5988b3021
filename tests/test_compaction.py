"""Compaction: when it fires, what the history becomes, and that the task survives."""

from __future__ import annotations

import json
from pathlib import Path

from tests.engine_support import make_session, of_type, run_turn, shell_call
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui import protocol as ev
from tui.engine.rollout import RolloutWriter, read_rollout
from tui.model.chat import ChatClient

BIG = fe.usage(6_000, 200)  # total 6,200: over the 5,000 limit used below


def _roles(body: dict) -> list[str]:
    return [f"{i['type']}/{i.get('role', '')}" for i in body["input"]]


def _texts(body: dict) -> str:
    return json.dumps(body["input"])


async def test_auto_compaction_mid_turn_uses_the_remote_endpoint(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    rollout = RolloutWriter(tmp_path / "rollout.jsonl")
    fake_openai.queue_response(fe.turn(shell_call("c1", ["echo", "hi"]), usage=BIG))
    fake_openai.queue_compact(fe.compacted(["fix the bug"], "gAAAA-compacted"))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    sess = make_session(fake_openai, tmp_path, auto_compact_limit=5_000, rollout=rollout)
    events = await run_turn(sess, "fix the bug")
    [done] = of_type(events, ev.CompactionDone)
    assert (done.method, done.reason) == ("remote", "auto") and done.before_tokens > 6_000 > done.after_tokens
    [compact_body] = fake_openai.compact_bodies()
    assert compact_body["model"] == sess.settings.model and compact_body["prompt_cache_key"] == sess.session_id
    assert any(i.get("type") == "function_call_output" for i in compact_body["input"])
    after = fake_openai.responses_bodies()[1]
    # The endpoint's output (user messages + compaction item), then the initial context again.
    assert _roles(after) == ["message/user", "compaction/", "message/developer", "message/user"]
    assert after["input"][0]["content"][0]["text"] == "fix the bug"
    assert after["input"][1] == {"type": "compaction", "encrypted_content": "gAAAA-compacted"}
    assert after["input"][3]["content"][-1]["text"].startswith("<environment_context>")
    lines = read_rollout(tmp_path / "rollout.jsonl")
    kinds = [ln["type"] for ln in lines]
    assert "compacted" in kinds
    before_cut = [ln["payload"] for ln in lines[: kinds.index("compacted")] if ln["type"] == "response_item"]
    assert any(i.get("type") == "function_call" for i in before_cut), "the full history stays in the rollout"


async def test_compaction_before_a_turn_keeps_the_new_request(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(fe.message_item("first answer"), usage=BIG))
    fake_openai.queue_compact(fe.compacted(["first task", "second task"]))
    fake_openai.queue_response(fe.turn(fe.message_item("second answer")))
    sess = make_session(fake_openai, tmp_path, auto_compact_limit=5_000)
    await run_turn(sess, "first task")
    events = await run_turn(sess, "second task")
    assert of_type(events, ev.CompactionDone)
    assert fake_openai.compact_bodies()[0]["input"][-1]["content"][0]["text"] == "second task"
    body = fake_openai.responses_bodies()[1]
    assert "second task" in _texts(body) and "first task" in _texts(body)


async def test_no_compaction_under_the_limit(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(shell_call("c1", ["true"]), usage=fe.usage(1_000, 10)))
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    events = await run_turn(make_session(fake_openai, tmp_path, auto_compact_limit=5_000), "go")
    assert not of_type(events, ev.CompactionStarted) and fake_openai.compact_bodies() == []


async def test_far_under_the_limit_the_tokenizer_is_never_loaded(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """~60 MB and ~0.15 s saved for short sessions: a byte count already proves there is room."""
    fake_openai.queue_response(fe.turn(shell_call("c1", ["echo", "hi"]), usage=fe.usage(1_000, 10)))
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    sess = make_session(fake_openai, tmp_path, auto_compact_limit=200_000)
    events = await run_turn(sess, "go")
    assert of_type(events, ev.TurnCompleted) and not sess.meter.tokenizer_loaded
    assert all(e.approximate for e in of_type(events, ev.ContextEstimated)), "estimates without it say so"


async def test_near_the_limit_the_tokenizer_decides(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """The byte ceiling (~4x the tokens of English) crosses the limit long before the tokens do:
    then the tokenizer is loaded and its count, not the ceiling, decides — no needless compaction."""
    text = "word " * 2_000  # 10,000 bytes, ~2,000 tokens
    fake_openai.queue_response(fe.turn(shell_call("c1", ["python3", "-c", f"print({text!r})"]), usage=fe.usage(1_000, 10)))
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    sess = make_session(fake_openai, tmp_path, auto_compact_limit=6_000, tool_output_token_limit=50_000)
    events = await run_turn(sess, "go")
    assert sess.meter.tokenizer_loaded and not of_type(events, ev.CompactionStarted)
    assert fake_openai.compact_bodies() == []


async def test_context_length_exceeded_compacts_and_retries_once(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.load_fixture("reported_error_event_context_length_exceeded"))
    fake_openai.queue_compact(fe.compacted(["go"]))
    fake_openai.queue_response(fe.turn(fe.message_item("fits now")))
    events = await run_turn(make_session(fake_openai, tmp_path), "go")
    [done] = of_type(events, ev.CompactionDone)
    assert done.reason == "overflow"
    assert of_type(events, ev.TurnCompleted)[0].last_agent_message == "fits now"


async def test_context_length_exceeded_twice_fails_the_turn_clearly(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    for _ in range(2):
        fake_openai.queue_response(fe.load_fixture("reported_error_event_context_length_exceeded"))
    fake_openai.queue_compact(fe.compacted(["go"]))
    events = await run_turn(make_session(fake_openai, tmp_path), "go")
    assert "context window" in of_type(events, ev.TurnFailed)[0].message
    assert len(of_type(events, ev.CompactionDone)) == 1


async def test_remote_failure_falls_back_to_a_local_summary(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(shell_call("c1", ["true"]), usage=BIG))
    fake_openai.queue_http_error(500, {"error": {"message": "boom", "type": "server_error", "param": None, "code": None}}, headers={"x-should-retry": "false"}, endpoint="compact")
    fake_openai.queue_response(fe.turn(fe.message_item("HANDOFF: ran `true`; next: answer.")))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    events = await run_turn(make_session(fake_openai, tmp_path, auto_compact_limit=5_000), "the original request")
    assert of_type(events, ev.WarningIssued) and of_type(events, ev.CompactionDone)[0].method == "local"
    summary_req, after = fake_openai.responses_bodies()[1:3]
    assert "handoff note" in summary_req["input"][-1]["content"][0]["text"]
    assert summary_req["tools"] == fake_openai.responses_bodies()[0]["tools"], "same prefix, same cache"
    assert _roles(after) == ["message/developer", "message/user", "message/user", "message/user"]
    assert after["input"][2]["content"][0]["text"] == "the original request"
    assert "HANDOFF: ran `true`" in after["input"][3]["content"][0]["text"]


async def test_chat_provider_compacts_locally_and_keeps_the_original_request(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    client = ChatClient(base_url=fake_openai.base_url, api_key="k", request_max_retries=0)
    fake_openai.queue_chat(fe.chat_text_chunks("a1") + [fe.chat_usage_chunk(100, 10)])
    fake_openai.queue_chat(fe.chat_text_chunks("a2") + [fe.chat_usage_chunk(6_000, 100)])
    fake_openai.queue_chat(fe.chat_text_chunks("SUMMARY of the work"))
    fake_openai.queue_chat(fe.chat_text_chunks("a3"))
    sess = make_session(fake_openai, tmp_path, client=client, apply_patch_kind="function", auto_compact_limit=5_000)
    await run_turn(sess, "ORIGINAL request")
    await run_turn(sess, "second message")
    events = await run_turn(sess, "third message")
    assert of_type(events, ev.CompactionDone)[0].method == "local"
    final = fake_openai.chat_bodies()[-1]["messages"]
    contents = [m["content"] for m in final]
    assert "ORIGINAL request" in contents and "second message" in contents and "third message" in contents
    assert any("SUMMARY of the work" in c for c in contents if c)
    assert "a1" not in contents, "old answers are replaced by the summary"


async def test_manual_compact_op(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(fe.message_item("answer")))
    fake_openai.queue_compact(fe.compacted(["task"]))
    sess = make_session(fake_openai, tmp_path)
    await run_turn(sess, "task")
    await sess.submit(ev.Compact())
    from tests.engine_support import collect

    events = await collect(sess)
    assert of_type(events, ev.CompactionDone)[0].reason == "manual"
    assert sess.history[1] == {"type": "compaction", "encrypted_content": fe.ENCRYPTED}


async def test_manual_compact_with_nothing_to_compact_says_so(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    sess = make_session(fake_openai, tmp_path)
    await sess.submit(ev.Compact())
    from tests.engine_support import collect

    events = await collect(sess)
    assert of_type(events, ev.WarningIssued) and fake_openai.compact_bodies() == []


async def test_a_big_tool_output_counts_toward_the_limit_before_it_is_sent(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """The last usage is under the limit, but with the new output estimated it is over."""
    big = "word " * 3_000  # ~3k tokens of output
    fake_openai.queue_response(fe.turn(shell_call("c1", ["python3", "-c", f"print({big!r})"]), usage=fe.usage(3_800, 100)))
    fake_openai.queue_compact(fe.compacted(["go"]))
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    sess = make_session(fake_openai, tmp_path, auto_compact_limit=5_000, tool_output_token_limit=50_000)
    events = await run_turn(sess, "go")
    estimates = of_type(events, ev.ContextEstimated)
    assert estimates[0].approximate  # offline: the fallback encoding, said as such
    [done] = of_type(events, ev.CompactionDone)
    assert done.before_tokens >= 5_000 > 3_900
    assert done.before_tokens - 3_900 >= 2_000, "the estimate counted the new output"
