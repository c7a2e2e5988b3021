"""The Chat Completions path: real captures, and the quirks of local servers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.engine_support import make_session, of_type, run_turn
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui import protocol as ev
from tui.model.chat import ChatClient
from tui.model.types import Completed, ModelError, OutputItemDone, Prompt, TextDelta

PROMPT = Prompt(
    model="llama", instructions="BASE", input=[{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
    tools=[], parallel_tool_calls=True, prompt_cache_key="s",
)


async def _stream(fake: FakeOpenAI) -> list:
    client = ChatClient(base_url=fake.base_url, api_key="k", request_max_retries=0)
    return [e async for e in client.stream(PROMPT)]


def _items(events: list) -> list[dict]:
    return [e.item for e in events if isinstance(e, OutputItemDone)]


async def test_real_parallel_tool_calls_capture(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue_chat_raw(fe.load_chat_fixture("parallel_tool_calls_gpt4o"))
    events = await _stream(fake_openai)
    calls = _items(events)
    assert [c["name"] for c in calls] == ["GetWeatherArgs", "get_stock_price"]
    assert all(c["call_id"].startswith("call_") and json.loads(c["arguments"]) for c in calls)
    done = events[-1]
    assert isinstance(done, Completed) and done.usage is not None and done.usage.total_tokens > 0


async def test_real_plain_text_capture(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue_chat_raw(fe.load_chat_fixture("plain_text_gpt4o"))
    events = await _stream(fake_openai)
    text = "".join(e.delta for e in events if isinstance(e, TextDelta))
    [item] = _items(events)
    assert item["content"][0]["text"] == text and text


async def test_tool_calls_count_even_when_finish_reason_says_stop(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue_chat(fe.chat_tool_call_chunks([("call_a", "shell", '{"command":["ls"]}')], finish_reason="stop"))
    [call] = _items(await _stream(fake_openai))
    assert call["type"] == "function_call" and call["call_id"] == "call_a"


async def test_calls_sharing_index_zero_are_kept_apart(fake_openai: FakeOpenAI) -> None:
    chunks = [fe.chat_chunk({"role": "assistant", "content": None})]
    for cid in ("call_1", "call_2"):
        chunks.append(fe.chat_chunk({"tool_calls": [{"index": 0, "id": cid, "type": "function", "function": {"name": "shell", "arguments": '{"command":["ls"]}'}}]}))
    chunks.append(fe.chat_chunk({}, finish_reason="tool_calls"))
    fake_openai.queue_chat(chunks)
    calls = _items(await _stream(fake_openai))
    assert [c["call_id"] for c in calls] == ["call_1", "call_2"]


async def test_missing_index_and_object_arguments_are_tolerated(fake_openai: FakeOpenAI) -> None:
    chunks = [
        fe.chat_chunk({"role": "assistant", "content": None}),
        fe.chat_chunk({"tool_calls": [{"id": "call_x", "type": "function", "function": {"name": "shell", "arguments": {"command": ["pwd"]}}}]}),
        fe.chat_chunk({}, finish_reason="tool_calls"),
    ]
    fake_openai.queue_chat(chunks)
    [call] = _items(await _stream(fake_openai))
    assert json.loads(call["arguments"]) == {"command": ["pwd"]}


async def test_chat_stream_without_finish_is_a_retryable_error(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue_chat(fe.chat_text_chunks("half", finish_reason=None))
    with pytest.raises(ModelError) as info:
        await _stream(fake_openai)
    assert info.value.retryable


async def test_chat_loop_pairs_tool_messages_with_calls(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    client = ChatClient(base_url=fake_openai.base_url, api_key="k", request_max_retries=0)
    fake_openai.queue_chat(
        fe.chat_tool_call_chunks([("call_1", "shell", '{"command":["echo","one"]}'), ("call_2", "shell", '{"command":["echo","two"]}')])
    )
    fake_openai.queue_chat(fe.chat_text_chunks("both ran"))
    sess = make_session(fake_openai, tmp_path, client=client, apply_patch_kind="function")
    events = await run_turn(sess, "go")
    assert of_type(events, ev.TurnCompleted)[0].last_agent_message == "both ran"
    messages = fake_openai.chat_bodies()[1]["messages"]
    assistant = next(m for m in messages if m.get("tool_calls"))
    assert [c["id"] for c in assistant["tool_calls"]] == ["call_1", "call_2"]
    tools = [m for m in messages if m["role"] == "tool"]
    assert [t["tool_call_id"] for t in tools] == ["call_1", "call_2"]
    assert "one" in tools[0]["content"] and "two" in tools[1]["content"]
