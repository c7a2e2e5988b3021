"""The fake OpenAI server, exercised only through the real `openai.AsyncOpenAI` client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.types.chat import ChatCompletionChunk

from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as ev
from tests.sdk_support import EVENT_CLASSES

RESPONSES_DIR = ev.FIXTURES / "responses"
NESTED_ERROR_FIXTURES = {
    "real_error_event_nested_then_response_failed",
    "real_error_event_null_code",
    "reported_error_event_context_length_exceeded",
}
REPLAYABLE = sorted(p.stem for p in RESPONSES_DIR.glob("*.jsonl") if p.stem not in NESTED_ERROR_FIXTURES)
CHAT_FIXTURES = sorted(p.stem for p in (ev.FIXTURES / "chat_completions").glob("*.sse"))

PAIRED_TOOLS = [{"type": "function", "name": "shell", "parameters": {"type": "object", "properties": {}}}]


@pytest.fixture
async def client(fake_openai: FakeOpenAI) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=fake_openai.base_url, api_key="test-key") as c:
        yield c


async def collect(client: openai.AsyncOpenAI, **kwargs: Any) -> list[Any]:
    stream = await client.responses.create(model="gpt-5.4", stream=True, **kwargs)
    return [event async for event in stream]


def test_fixtures_directory_is_found_in_the_repo() -> None:
    assert RESPONSES_DIR.is_dir(), RESPONSES_DIR
    assert len(REPLAYABLE) >= 10


# --- replaying real streams ---------------------------------------------------------------------


@pytest.mark.parametrize("name", REPLAYABLE)
async def test_real_fixture_replays_as_typed_events(
    fake_openai: FakeOpenAI, client: openai.AsyncOpenAI, name: str
) -> None:
    recorded = ev.load_fixture(name)
    fake_openai.queue_response(recorded)
    got = await collect(client, input="hi")
    assert [e.type for e in got] == [e["type"] for e in recorded]
    assert all(type(e) is EVENT_CLASSES[e.type] for e in got)


@pytest.mark.parametrize("name", sorted(NESTED_ERROR_FIXTURES))
async def test_nested_error_event_raises_api_error_mid_stream(
    fake_openai: FakeOpenAI, client: openai.AsyncOpenAI, name: str
) -> None:
    recorded = ev.load_fixture(name)
    inner = next(e["error"] for e in recorded if e["type"] == "error")
    fake_openai.queue_response(recorded)
    with pytest.raises(openai.APIError) as caught:
        await collect(client, input="hi")
    assert not isinstance(caught.value, openai.APIStatusError)
    assert caught.value.code == inner["code"]
    assert caught.value.message == inner["message"]


@pytest.mark.parametrize("name", REPLAYABLE)
async def test_recorded_sse_file_replays_raw(fake_openai: FakeOpenAI, client: openai.AsyncOpenAI, name: str) -> None:
    sse = (ev.FIXTURES / "responses_sse" / f"{name}.sse").read_text(encoding="utf-8")
    fake_openai.queue_sse_raw(sse)
    got = await collect(client, input="hi")
    assert [e.type for e in got] == [e["type"] for e in ev.load_fixture(name)]


async def test_missing_sequence_numbers_are_filled_in_order(
    fake_openai: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake_openai.queue_response(ev.load_fixture("synthetic_custom_tool_call"))
    got = await collect(client, input="hi")
    assert [e.sequence_number for e in got] == list(range(len(got)))


async def test_flat_error_event_is_yielded_not_raised(fake_openai: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    envelope = ev.turn(ev.message_item("x"))[:2]
    fake_openai.queue_response([*envelope, ev.error_event("server_error", "boom", nested=False)])
    got = await collect(client, input="hi")
    assert got[-1].type == "error" and got[-1].message == "boom" and got[-1].code == "server_error"


async def test_cut_stream_ends_iteration_silently(fake_openai: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    # The SDK quirk the engine must guard against: no terminal event, yet no exception either.
    fake_openai.queue_cut_stream(ev.turn(ev.message_item("partial answer"))[:6])
    got = await collect(client, input="hi")
    assert len(got) == 6
    assert not {"response.completed", "response.failed", "response.incomplete"} & {e.type for e in got}


async def test_aborted_stream_raises_connection_error(fake_openai: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake_openai.queue_cut_stream(ev.turn(ev.message_item("partial"))[:4], abort=True)
    seen: list[Any] = []
    with pytest.raises(openai.APIConnectionError):
        stream = await client.responses.create(model="gpt-5.4", input="hi", stream=True)
        async for event in stream:
            seen.append(event)
    assert len(seen) == 4
    assert len(fake_openai.responses_bodies()) == 1  # mid-stream failures are never retried by the SDK


async def test_stalled_stream_times_out_on_the_read(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue_response(ev.turn(ev.message_item("slow")), stall_after=3)
    async with openai.AsyncOpenAI(base_url=fake_openai.base_url, api_key="k", timeout=0.3) as client:
        stream = await client.responses.create(model="gpt-5.4", input="hi", stream=True)
        seen: list[Any] = []
        with pytest.raises(openai.APITimeoutError):
            async for event in stream:
                seen.append(event)
    assert len(seen) == 3


async def test_event_line_without_data_crashes_the_sdk(fake_openai: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    # Pins why the fake never emits a bare `event:` frame (Codex's Rust mock does).
    fake_openai.queue_sse_raw("event: response.created\n\n")
    with pytest.raises(json.JSONDecodeError):
        await collect(client, input="hi")


# --- builders -----------------------------------------------------------------------------------


def test_turn_events_pass_their_sdk_class_validation() -> None:
    stream = ev.turn(
        ev.reasoning_item(["**Plan**", "Look at the file."]),
        ev.message_item("Reading it now.", phase="commentary"),
        ev.function_call_item("call_A", "shell", '{"cmd": ["ls", "-la"]}'),
        ev.custom_tool_call_item("call_B", "apply_patch", "*** Begin Patch\n*** End Patch\n"),
        ev.compaction_item(),
        usage=ev.usage(1000, 200, cached_tokens=800, reasoning_tokens=64),
    )
    for event in stream:
        EVENT_CLASSES[event["type"]].model_validate(event)
    assert [e["sequence_number"] for e in stream] == list(range(len(stream)))
    done = [e["item"] for e in stream if e["type"] == "response.output_item.done"]
    assert [e.get("output_index") for e in stream if e["type"] == "response.output_item.done"] == [0, 1, 2, 3, 4]
    assert stream[-1]["response"]["output"] == done
    assert stream[-1]["response"]["usage"]["total_tokens"] == 1200


def test_incomplete_and_failed_builders_validate() -> None:
    stream = ev.turn(ev.message_item("cut"), incomplete_reason="max_output_tokens")
    assert stream[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    for event in [*stream, ev.failed("rate_limit_exceeded", "slow down")]:
        EVENT_CLASSES[event["type"]].model_validate({"sequence_number": 0, **event})


async def test_turn_satisfies_the_sdk_stream_helper_invariants(
    fake_openai: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake_openai.queue_response(
        ev.turn(ev.reasoning_item("think"), ev.message_item("hi"), ev.function_call_item("call_1", "shell", "{}"))
    )
    async with client.responses.stream(model="gpt-5.4", input="hi") as stream:
        final = await stream.get_final_response()
    assert [item.type for item in final.output] == ["reasoning", "message", "function_call"]
    assert final.output_text == "hi"


@settings(max_examples=25, deadline=None)
@given(text=st.text(max_size=80), chunk_size=st.integers(1, 9))
def test_any_text_survives_sse_framing_byte_for_byte(text: str, chunk_size: int) -> None:
    # Newlines, CRs and U+2028 inside JSON strings must not break frames.
    async def replay(fake: FakeOpenAI) -> tuple[str, str]:
        async with openai.AsyncOpenAI(base_url=fake.base_url, api_key="k", max_retries=0) as client:
            got = await collect(client, input="hi")
        deltas = "".join(e.delta for e in got if e.type == "response.output_text.delta")
        return deltas, got[-1].response.output_text

    with FakeOpenAI() as fake:
        fake.queue_response(ev.turn(ev.message_item(text, chunk_size=chunk_size)))
        assert asyncio.run(replay(fake)) == (text, text)


async def test_handler_entry_answers_from_the_request_body(
    fake_openai: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    def echo_last_output(body: dict[str, Any]) -> list[dict[str, Any]]:
        last = [i for i in body["input"] if i.get("type") == "function_call_output"][-1]
        return ev.turn(ev.message_item(f"saw {last['call_id']}"))

    fake_openai.queue_handler(echo_last_output)
    history = [
        {"type": "function_call", "call_id": "call_9", "name": "shell", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_9", "output": "ok"},
    ]
    got = await collect(client, input=history, tools=PAIRED_TOOLS)
    assert got[-1].response.output_text == "saw call_9"


# --- refusing what the real API refuses ---------------------------------------------------------


async def refused(client: openai.AsyncOpenAI, **kwargs: Any) -> openai.BadRequestError:
    with pytest.raises(openai.BadRequestError) as caught:
        await collect(client, **kwargs)
    return caught.value


async def test_unpaired_function_call_is_refused(fake_openai: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake_openai.queue_response(ev.turn(ev.message_item("never sent")))
    error = await refused(
        client, input=[{"type": "function_call", "call_id": "call_X", "name": "shell", "arguments": "{}"}]
    )
    assert error.body["message"] == "No tool output found for function call call_X."  # type: ignore[index]
    assert error.param == "input"
    assert fake_openai.remaining() == 1  # a refused request does not consume the script
    assert fake_openai.responses_bodies()[0]["input"][0]["call_id"] == "call_X"  # but it is recorded


async def test_orphan_function_call_output_is_refused(client: openai.AsyncOpenAI) -> None:
    error = await refused(client, input=[{"type": "function_call_output", "call_id": "call_Y", "output": "x"}])
    assert "No tool call found for function call output with call_id call_Y." in error.message


async def test_unpaired_custom_tool_call_is_refused(client: openai.AsyncOpenAI) -> None:
    call = {"type": "custom_tool_call", "call_id": "call_P", "name": "apply_patch", "input": "x"}
    error = await refused(client, input=[call, {"type": "function_call_output", "call_id": "call_P", "output": "x"}])
    assert "No tool call found for function call output with call_id call_P." in error.message
    error = await refused(client, input=[call])
    assert "No tool output found for custom tool call call_P." in error.message


async def test_unknown_parameter_is_refused(client: openai.AsyncOpenAI) -> None:
    error = await refused(client, input="hi", extra_body={"temperture": 0.2})
    assert error.param == "temperture" and "Unknown parameter: 'temperture'." in error.message


async def test_previous_response_id_without_store_is_refused(client: openai.AsyncOpenAI) -> None:
    error = await refused(client, input="hi", store=False, previous_response_id="resp_123")
    assert error.code == "previous_response_not_found"


async def test_reasoning_id_without_encrypted_content_is_refused_when_not_stored(client: openai.AsyncOpenAI) -> None:
    item = {"type": "reasoning", "id": "rs_1", "summary": []}
    error = await refused(client, input=[item], store=False)
    assert "Item with id 'rs_1' not found. Items are not persisted when `store` is set to false." in error.message


@pytest.mark.parametrize(
    ("request_fields", "needle"),
    [
        ({"input": [{"type": "mesage", "role": "user", "content": "x"}]}, "input[0].type"),
        ({"input": [{"type": "message", "role": "robot", "content": "x"}]}, "input[0].role"),
        (
            {"input": [{"role": "assistant", "content": [{"type": "input_text", "text": "x"}]}]},
            "input[0].content[0].type",
        ),
        ({"input": "x", "tools": [{"type": "function", "name": "f"}]}, "tools[0].parameters"),
        ({"input": "x", "tools": [{"type": "custom"}]}, "tools[0].name"),
        ({"input": "x", "tools": [{"name": "f", "parameters": {}}]}, "tools[0].type"),
        ({"input": "x", "tools": PAIRED_TOOLS * 2}, "tools"),
        ({"input": "x", "tools": [{"type": "function", "name": "mcp.read", "parameters": {}}]}, "tools[0].name"),
        ({"input": "x", "reasoning": {"effort": "extreme"}}, "reasoning.effort"),
    ],
)
async def test_malformed_request_is_refused_naming_the_param(
    client: openai.AsyncOpenAI, request_fields: dict[str, Any], needle: str
) -> None:
    error = await refused(client, **request_fields)
    assert error.param == needle, error.message


async def test_missing_model_is_refused(fake_openai: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="Missing required parameter: 'model'"):
        await client.post("/responses", body={"input": "hi", "stream": True}, cast_to=object)


async def test_codex_style_stateless_history_is_accepted(fake_openai: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    step1 = ev.load_fixture("real_gpt-5.1-codex-max_store-false_step1")
    outputs = next(e for e in step1 if e["type"] == "response.completed")["response"]["output"]
    call = outputs[1]
    history = [
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "rules"}]},
        {"role": "user", "content": "what is 12 + 7?"},
        outputs[0],  # reasoning with id *and* encrypted_content: fine under store:false
        {k: call[k] for k in ("type", "call_id", "name", "arguments")},
        {"type": "function_call_output", "call_id": call["call_id"], "output": "19"},
        {"type": "custom_tool_call", "call_id": "call_X", "name": "apply_patch", "input": "*** Begin Patch"},
        {"type": "custom_tool_call_output", "call_id": "call_X", "output": "Done!"},
        {"role": "assistant", "phase": "final_answer", "content": [{"type": "output_text", "text": "19"}]},
    ]
    tools = [
        {"type": "function", "name": "calculator", "strict": False, "parameters": {"type": "object", "properties": {}}},
        {"type": "custom", "name": "apply_patch", "format": {"type": "text"}},
        {"type": "web_search"},
    ]
    fake_openai.queue_response(ev.turn(ev.message_item("ok")))
    got = await collect(
        client,
        instructions="You are a coding agent",
        input=history,
        tools=tools,
        tool_choice="auto",
        parallel_tool_calls=True,
        store=False,
        include=["reasoning.encrypted_content"],
        prompt_cache_key="session-1",
        reasoning={"effort": "medium", "summary": "auto"},
        text={"verbosity": "low"},
    )
    assert got[-1].type == "response.completed"


# --- HTTP behaviour -----------------------------------------------------------------------------


async def test_requests_are_recorded_with_headers_and_body(
    fake_openai: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake_openai.queue_response(ev.turn(ev.message_item("hi")))
    await collect(client, input="hello", prompt_cache_key="k1")
    [request] = fake_openai.requests
    assert (request.method, request.path) == ("POST", "/v1/responses")
    assert request.headers["authorization"] == "Bearer test-key"
    assert request.headers["x-stainless-retry-count"] == "0"
    assert request.body == {"model": "gpt-5.4", "input": "hello", "prompt_cache_key": "k1", "stream": True}
    assert json.loads(request.raw) == request.body


async def test_empty_queue_fails_loudly_without_retries(fake_openai: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.InternalServerError, match="no scripted response left for /v1/responses"):
        await collect(client, input="hi")
    assert len(fake_openai.requests) == 1


async def test_non_streaming_request_for_a_scripted_stream_is_refused(
    fake_openai: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake_openai.queue_response(ev.turn(ev.message_item("hi")))
    with pytest.raises(openai.BadRequestError, match="scripted as a stream"):
        await client.responses.create(model="gpt-5.4", input="hi")


async def test_scripted_429_is_not_retried_by_the_sdk(fake_openai: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake_openai.queue_http_error(429, ev.load_json_fixture("real_http_429_insufficient_quota_body"))
    fake_openai.queue_response(ev.turn(ev.message_item("should stay queued")))
    with pytest.raises(openai.RateLimitError) as caught:
        await collect(client, input="hi")
    assert caught.value.code == "insufficient_quota"
    assert caught.value.request_id is not None
    assert fake_openai.remaining() == 1


async def test_scripted_503_is_retried_by_the_sdk_into_the_next_entry(fake_openai: FakeOpenAI) -> None:
    overloaded = {"message": "overloaded", "type": "server_error", "param": None, "code": "server_is_overloaded"}
    # retry-after-ms keeps the SDK's backoff short; explicit headers also drop the x-should-retry default.
    fake_openai.queue_http_error(503, {"error": overloaded}, headers={"retry-after-ms": "10"})
    fake_openai.queue_response(ev.turn(ev.message_item("second try")))
    async with openai.AsyncOpenAI(base_url=fake_openai.base_url, api_key="k", max_retries=1) as client:
        got = await collect(client, input="hi")
    assert got[-1].response.output_text == "second try"
    assert [r.headers["x-stainless-retry-count"] for r in fake_openai.requests] == ["0", "1"]


async def test_unknown_route_is_a_404(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        await client.models.list()


# --- chat completions ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", CHAT_FIXTURES)
async def test_chat_fixture_replays_as_typed_chunks(
    fake_openai: FakeOpenAI, client: openai.AsyncOpenAI, name: str
) -> None:
    raw = ev.load_chat_fixture(name)
    fake_openai.queue_chat_raw(raw)
    stream = await client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    chunks = [c async for c in stream]
    data_lines = [line for line in raw.splitlines() if line.startswith("data: ") and line != "data: [DONE]"]
    assert len(chunks) == len(data_lines)
    assert all(isinstance(c, ChatCompletionChunk) for c in chunks)


async def test_chat_builders_accumulate_through_the_sdk_helper(
    fake_openai: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake_openai.queue_chat(
        [
            *ev.chat_text_chunks("Let me look.", finish_reason=None),
            *ev.chat_tool_call_chunks(
                [("call_1", "shell", '{"cmd":"ls"}'), ("call_2", "read", '{"p":"a"}')], with_role=False
            ),
            ev.chat_usage_chunk(149, 60, cached_tokens=100),
        ]
    )
    async with client.chat.completions.stream(model="gpt-4o", messages=[{"role": "user", "content": "hi"}]) as s:
        final = await s.get_final_completion()
    message = final.choices[0].message
    assert message.content == "Let me look."
    assert [(c.id, c.function.arguments) for c in message.tool_calls or []] == [  # type: ignore[union-attr]
        ("call_1", '{"cmd":"ls"}'),
        ("call_2", '{"p":"a"}'),
    ]
    assert final.usage is not None and final.usage.total_tokens == 209


async def test_chat_unanswered_tool_call_is_refused(client: openai.AsyncOpenAI) -> None:
    messages: list[Any] = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
            {"id": "call_2", "type": "function", "function": {"name": "f", "arguments": "{}"}},
        ]},
        {"role": "tool", "tool_call_id": "call_1", "content": "ok"},
        {"role": "user", "content": "next"},
    ]  # fmt: skip
    with pytest.raises(openai.BadRequestError, match="did not have response messages: call_2"):
        await client.chat.completions.create(model="gpt-4o", messages=messages, stream=True)


async def test_chat_orphan_tool_message_is_refused(client: openai.AsyncOpenAI) -> None:
    messages: list[Any] = [{"role": "user", "content": "hi"}, {"role": "tool", "tool_call_id": "c", "content": "x"}]
    with pytest.raises(openai.BadRequestError, match="must be a response to a preceeding message with 'tool_calls'"):
        await client.chat.completions.create(model="gpt-4o", messages=messages, stream=True)


# --- compaction ---------------------------------------------------------------------------------


async def test_compact_returns_the_queued_body(fake_openai: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    body = ev.compacted(["Build a landing page"], usage=ev.usage(139, 438, reasoning_tokens=64))
    fake_openai.queue_compact(body)
    result = await client.responses.compact(model="gpt-5.4", input=[{"role": "user", "content": "hi"}])
    assert [item.type for item in result.output] == ["message", "compaction"]
    assert result.usage.total_tokens == 577
    assert fake_openai.compact_bodies() == [{"model": "gpt-5.4", "input": [{"role": "user", "content": "hi"}]}]


async def test_compact_refuses_unpaired_calls(client: openai.AsyncOpenAI) -> None:
    call = {"type": "function_call", "call_id": "call_Z", "name": "f", "arguments": "{}"}
    with pytest.raises(openai.BadRequestError, match="No tool output found for function call call_Z."):
        await client.responses.compact(model="gpt-5.4", input=[call])  # type: ignore[list-item]


async def test_spec_compact_example_round_trips(fake_openai: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake_openai.queue_compact(ev.load_json_fixture("spec_example_responses_compact_response"))
    result = await client.responses.compact(model="gpt-5.4", input="hi")
    assert result.output[-1].type == "compaction"


def test_fixture_root_is_inside_the_repository() -> None:
    assert ev.FIXTURES == Path(__file__).resolve().parent / "data" / "openai"


async def test_a_raising_handler_fails_the_request_loudly(fake_openai: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake_openai.queue_handler(lambda body: body["no such key"])
    with pytest.raises(openai.InternalServerError, match="queue_handler raised KeyError"):
        await collect(client, input="hi")
    assert len(fake_openai.requests) == 1
