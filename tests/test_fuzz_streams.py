"""Property tests of provider streams: reordered, dropped, unknown and broken SSE events end
cleanly, and any output item is replayed in a form the API accepts.

Shared settings and strategies: tests/fuzz_support.py."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tests.fuzz_support import FUZZ, fixed, json_value
from tui.fakeserver.server import sse_frame
from tui.model.chat import ChatClient
from tui.model.responses import ResponsesClient
from tui.model.types import (
    Completed,
    ModelError,
    ModelEvent,
    OutputItemDone,
    Prompt,
    ReasoningSummaryDelta,
    TextDelta,
)

# ---------------------------------------------------------------------------------- SSE streams
#
# Whatever the server streams, the REAL client (SDK and all, against the fake server's exact
# bytes) yields well-typed events and ends at `Completed`, or raises ModelError: never another
# exception (the turn loop retries only ModelError) and never a hang.

PROMPT = Prompt(
    model=fe.DEFAULT_MODEL,
    instructions="fuzz",
    input=[{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
    tools=[],
    parallel_tool_calls=True,
    prompt_cache_key="fuzz",
)
STREAM_TIMEOUT_S = 15.0


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


async def _drain(base_url: str, chat: bool) -> tuple[list[ModelEvent], ModelError | None]:
    client: ResponsesClient | ChatClient
    if chat:
        client = ChatClient(base_url=base_url, api_key="test-key", request_max_retries=0, idle_timeout_s=5)
    else:
        client = ResponsesClient(base_url=base_url, api_key="test-key", request_max_retries=0, idle_timeout_s=5)
    events: list[ModelEvent] = []
    try:
        async with asyncio.timeout(STREAM_TIMEOUT_S):
            async for model_event in client.stream(PROMPT):
                events.append(model_event)
    except ModelError as e:
        return events, e
    finally:
        await client.aclose()
    return events, None


def stream_body(fake: FakeOpenAI, body: str, *, chat: bool = False) -> tuple[list[ModelEvent], ModelError | None]:
    """Serve `body` as the SSE stream and drain the client; any exception but ModelError escapes."""
    endpoint = "chat" if chat else "responses"
    fake.queue_sse_raw(body, endpoint=endpoint)
    try:
        return asyncio.run(_drain(fake.base_url, chat))
    finally:
        assert fake.remaining(endpoint) == 0, "the request never reached the stream"


def assert_well_formed(events: list[ModelEvent], error: ModelError | None) -> None:
    if error is None:
        assert events and isinstance(events[-1], Completed), "ended without Completed or ModelError"
    assert not any(isinstance(e, Completed) for e in events[:-1]), "events after Completed"
    for e in events:
        if isinstance(e, TextDelta | ReasoningSummaryDelta):
            assert isinstance(e.delta, str), e
            e.delta.encode("utf-8")
        elif isinstance(e, OutputItemDone):
            assert isinstance(e.item, dict), e
            json.dumps(e.item).encode("utf-8")
        else:
            assert isinstance(e, Completed)
            assert e.response_id is None or isinstance(e.response_id, str)


_text = st.text(st.characters(codec="utf-8"), max_size=12)
_items = st.lists(
    st.one_of(
        st.builds(fe.message_item, _text),
        st.builds(lambda a: fe.function_call_item("call_1", "shell", a), _text),
        st.builds(lambda i: fe.custom_tool_call_item("call_2", "apply_patch", i), _text),
        st.builds(fe.reasoning_item, _text),
    ),
    max_size=3,
)
_BENIGN_NOISE = [
    ": keep-alive\n\n", "\n", "foo: bar\n\n", "not a field\n\n", "data: [1, 2]\n\n", "data: 5\n\n",
    "data: null\n\n", 'data: "text"\n\n', "data: {}\n\n", 'data: {"type": 5}\n\n', "data: [DONE]\n\n",
    sse_frame({"type": "response.future_event", "payload": {"x": 1}}).decode(),
    sse_frame({"type": "response.output_text.annotation.added", "annotation": {}}).decode(),
]  # fmt: skip


def _shuffled(frames: list[str]) -> st.SearchStrategy[list[str]]:
    """Frames in order, or reordered, with some dropped and some sent twice."""
    indexes = st.lists(st.integers(0, max(len(frames) - 1, 0)), max_size=len(frames) + 3) if frames else st.just([])
    return st.one_of(st.just(frames), st.permutations(frames), indexes.map(lambda picks: [frames[i] for i in picks]))


def _with_noise(frames: st.SearchStrategy[list[str]], noise: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda kept, extra: "".join(_interleave(kept, extra)),
        frames,
        st.lists(st.tuples(st.integers(0, 10_000), noise), max_size=4),
    )


def _interleave(frames: list[str], extra: list[tuple[int, str]]) -> list[str]:
    out = list(frames)
    for at, frame in extra:
        out.insert(at % (len(out) + 1), frame)
    return out


_turn_frames = st.builds(lambda items: [sse_frame(e).decode() for e in fe.turn(*items)], _items)
_responses_benign = _with_noise(_turn_frames.flatmap(_shuffled), st.sampled_from(_BENIGN_NOISE))


@FUZZ
@given(body=_responses_benign)
def test_responses_stream_of_reordered_dropped_and_unknown_events_ends_cleanly(server: FakeOpenAI, body: str) -> None:
    events, error = stream_body(server, body)
    assert_well_formed(events, error)
    event("completed" if error is None else "ModelError")


# Everything above, plus what breaks the event objects themselves: keys removed, values of the
# wrong type, JSON cut mid-frame, SSE fields the API never sends. It finds the bugs listed below.
def _mutated(value: Any) -> st.SearchStrategy[Any]:
    if isinstance(value, dict) and value:
        key = st.sampled_from(sorted(value))
        return st.one_of(
            key.map(lambda k: {x: v for x, v in value.items() if x != k}),
            st.tuples(key, json_value).map(lambda kv: {**value, kv[0]: kv[1]}),
            key.flatmap(lambda k: _mutated(value[k]).map(lambda v: {**value, k: v})),
        )
    return json_value


_broken_frame = st.one_of(
    st.builds(lambda e: e, st.sampled_from(fe.turn(fe.message_item("hi"), fe.function_call_item("c", "shell", "{}"))))
    .flatmap(_mutated)
    .map(lambda e: f"data: {json.dumps(e)}\n\n"),
    _turn_frames.flatmap(lambda frames: st.sampled_from(frames)).flatmap(
        lambda f: st.integers(0, len(f)).map(lambda cut: f[:cut] + "\n\n")
    ),
    st.sampled_from(["event: response.created\n\n", "id: 7\n\n", "retry: 10\n\n", "data: {\n\n", "data:\n\n"]),
)
_responses_chaos = _with_noise(_turn_frames.flatmap(_shuffled), st.sampled_from(_BENIGN_NOISE) | _broken_frame)
_SDK_JSON = "the SDK's json.loads of the frame raises JSONDecodeError, which `except openai.OpenAIError` misses"
_RESPONSES_BUGS = {
    "half-json": ('data: {"type": "response.output_text.delta"\n\n', _SDK_JSON),
    "event-without-data": ("event: response.created\n\n", _SDK_JSON + ' (data "")'),
    "id-only-frame": ("id: 7\n\n", _SDK_JSON + ' (data "")'),
    "delta-missing": ('data: {"type":"response.output_text.delta"}\n\n', "_translate yields TextDelta(None)"),
    "delta-not-a-string": ('data: {"type":"response.output_text.delta","delta":5}\n\n', "_translate yields TextDelta(5)"),
    "delta-lone-surrogate": (
        'data: {"type":"response.output_text.delta","delta":"\\udcff"}\n\n',
        "_translate yields '\\udcff'; once in the history every later request raises UnicodeEncodeError",
    ),
    "item-missing": ('data: {"type":"response.output_item.done"}\n\n', "_translate: None.to_dict() AttributeError"),
    "item-not-an-object": ('data: {"type":"response.output_item.done","item":"x"}\n\n', "_translate: 'x'.to_dict() AttributeError"),
    "completed-without-response": ('data: {"type":"response.completed"}\n\n', "_translate: None.to_dict() AttributeError"),
    "completed-usage-not-numbers": (
        'data: {"type":"response.completed","response":{"id":"r","usage":{"input_tokens":"abc"}}}\n\n',
        "Usage.from_responses: int('abc') ValueError",
    ),
    "completed-usage-not-an-object": (
        'data: {"type":"response.completed","response":{"id":"r","usage":"abc"}}\n\n',
        "Usage.from_responses: 'abc'.get AttributeError",
    ),
    "completed-id-not-a-string": ('data: {"type":"response.completed","response":{"id":5}}\n\n', "Completed(response_id=5)"),
    "failed-without-response": ('data: {"type":"response.failed"}\n\n', "_translate: None.to_dict() AttributeError"),
    "failed-error-not-an-object": (
        'data: {"type":"response.failed","response":{"error":"boom"}}\n\n', "_translate: 'boom'.get AttributeError"
    ),
    "incomplete-details-not-an-object": (
        'data: {"type":"response.incomplete","response":{"incomplete_details":"x"}}\n\n', "_translate: 'x'.get AttributeError"
    ),
    "error-code-not-a-string": (
        'data: {"type":"error","code":5,"message":7}\n\n', "classify_error → retry_hint_seconds: re.search(7) TypeError"
    ),
}  # fmt: skip


@FUZZ
@given(body=_responses_chaos)
@example(body=_RESPONSES_BUGS["half-json"][0])
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_responses_stream_of_broken_events_ends_cleanly(server: FakeOpenAI, body: str) -> None:
    assert_well_formed(*stream_body(server, body))


@pytest.mark.parametrize("body", fixed(_RESPONSES_BUGS))
@pytest.mark.filterwarnings("ignore::UserWarning")  # pydantic's, on serialising the odd types
def test_responses_stream_known_bad_frame_ends_cleanly(server: FakeOpenAI, body: str) -> None:
    assert_well_formed(*stream_body(server, body))


def _chat_frame(chunk: dict[str, Any]) -> str:
    return f"data: {json.dumps(chunk)}\n\n"


_chat_chunks = st.builds(
    lambda text, calls, finish, usage: [
        *(fe.chat_text_chunks(text, finish_reason=None) if text is not None else []),
        *(fe.chat_tool_call_chunks(calls, finish_reason=None) if calls else []),
        *([fe.chat_chunk({}, finish_reason=finish)] if finish else []),
        *([fe.chat_usage_chunk()] if usage else []),
    ],
    st.none() | _text,
    st.lists(st.tuples(st.sampled_from(["call_1", "call_2"]), st.just("shell"), _text), max_size=2),
    st.sampled_from([None, "stop", "tool_calls", "length"]),
    st.booleans(),
)
_chat_noise = st.sampled_from(
    [
        ": keep-alive\n\n", "\n", "not a field\n\n", "data: [DONE]\n\n",
        _chat_frame({"choices": []}), _chat_frame({"id": "x", "choices": [], "usage": None}),
        _chat_frame({"choices": [{"index": 0, "delta": {"content": None, "tool_calls": None}}]}),
        _chat_frame({"choices": [{"index": 0, "delta": {"role": "assistant", "refusal": None}, "x": 1}]}),
    ]
)  # fmt: skip
_chat_benign = _with_noise(
    _chat_chunks.map(lambda chunks: [_chat_frame(c) for c in chunks] + ["data: [DONE]\n\n"]).flatmap(_shuffled),
    _chat_noise,
)


@FUZZ
@given(body=_chat_benign)
def test_chat_stream_of_reordered_dropped_and_unknown_chunks_ends_cleanly(server: FakeOpenAI, body: str) -> None:
    events, error = stream_body(server, body, chat=True)
    assert_well_formed(events, error)
    event("completed" if error is None else "ModelError")


_CHAT_BUGS = {
    "half-json": ('data: {"choices": [\n\n', _SDK_JSON),
    "chunk-not-an-object": ("data: [1]\n\n", "ChatClient.stream: [1].to_dict AttributeError"),
    "choices-not-a-list": ('data: {"choices": "x"}\n\ndata: [DONE]\n\n', "ChatClient.stream: 'x'.get AttributeError"),
    "choice-not-an-object": ('data: {"choices": ["x"]}\n\ndata: [DONE]\n\n', "ChatClient.stream: 'x'.get AttributeError"),
    "delta-not-an-object": ('data: {"choices": [{"delta": "x"}]}\n\ndata: [DONE]\n\n', "ChatClient.stream: 'x'.get AttributeError"),
    "tool-calls-not-a-list": (
        'data: {"choices": [{"delta": {"tool_calls": "ab"}, "finish_reason": "stop"}]}\n\ndata: [DONE]\n\n',
        "_accumulate: 'a'.get AttributeError",
    ),
    "tool-call-not-an-object": (
        'data: {"choices": [{"delta": {"tool_calls": [5]}, "finish_reason": "stop"}]}\n\ndata: [DONE]\n\n',
        "_accumulate: (5).get AttributeError",
    ),
    "function-not-an-object": (
        'data: {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": "x"}]}, "finish_reason": "stop"}]}\n\n'
        "data: [DONE]\n\n",
        "_accumulate: 'x'.get AttributeError",
    ),
    "index-of-mixed-types": (
        'data: {"choices": [{"delta": {"tool_calls": [{"index": "a", "id": "c"}, {"index": 1, "id": "d"}]}, '
        '"finish_reason": "stop"}]}\n\ndata: [DONE]\n\n',
        "sorted(calls) TypeError: '<' between int and str",
    ),
    "name-and-arguments-not-strings": (
        'data: {"choices": [{"delta": {"tool_calls": [{"index": 0, "id": 5, "function": {"name": 5, "arguments": 5}}]}, '
        '"finish_reason": "stop"}]}\n\ndata: [DONE]\n\n',
        "''.join(arguments) TypeError",
    ),
    "content-not-a-string": (
        'data: {"choices": [{"delta": {"content": 5}, "finish_reason": "stop"}]}\n\ndata: [DONE]\n\n',
        "TextDelta(5) yielded, then ''.join(text) TypeError",
    ),
    "usage-not-an-object": (
        'data: {"choices": [], "usage": "x"}\n\ndata: {"choices": [{"delta": {}, "finish_reason": "stop"}]}\n\ndata: [DONE]\n\n',
        "_usage: 'x'.get AttributeError",
    ),
    "usage-not-numbers": (
        'data: {"choices": [], "usage": {"prompt_tokens": "x"}}\n\ndata: {"choices": [{"delta": {}, "finish_reason": "stop"}]}\n\n'
        "data: [DONE]\n\n",
        "_usage: int('x') ValueError",
    ),
}  # fmt: skip


@pytest.mark.parametrize("body", fixed(_CHAT_BUGS))
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_chat_stream_known_bad_chunk_ends_cleanly(server: FakeOpenAI, body: str) -> None:
    assert_well_formed(*stream_body(server, body, chat=True))


_chat_chaos = _with_noise(
    _chat_chunks.map(lambda chunks: [_chat_frame(c) for c in chunks] + ["data: [DONE]\n\n"]).flatmap(_shuffled),
    _chat_noise
    | _chat_chunks.filter(bool).flatmap(st.sampled_from).flatmap(_mutated).map(_chat_frame)
    | st.sampled_from(["data: {\n\n", "event: x\n\n", "data: 5\n\n"]),
)


@FUZZ
@given(body=_chat_chaos)
@example(body=_CHAT_BUGS["chunk-not-an-object"][0])
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_chat_stream_of_broken_chunks_ends_cleanly(server: FakeOpenAI, body: str) -> None:
    assert_well_formed(*stream_body(server, body, chat=True))


# `history_item` turns what the stream delivered into what the next request replays: whatever it
# keeps must be something the API accepts (the fake server's validator stands in for it).
_DONE_ITEMS = [
    e["item"]
    for e in fe.turn(
        fe.message_item("hi", phase="final_answer"),
        fe.function_call_item("call_1", "shell", '{"command": ["ls"]}'),
        fe.custom_tool_call_item("call_2", "apply_patch", "*** Begin Patch"),
        fe.reasoning_item("thinking"),
        fe.compaction_item(),
        fe.web_search_call_item("weather in Lyon"),
        fe.web_search_call_item(action={"type": "find_in_page", "url": "https://x.org", "pattern": "py"}),
    )
    if e["type"] == "response.output_item.done"
]
_HISTORY_BUGS = {
    "content-not-a-list": ({"type": "message", "content": "x"}, "history_item: 'x'.get AttributeError"),
    "text-not-a-string": (
        {"type": "message", "content": [{"type": "output_text", "text": 5}]},
        "history_item keeps text 5; the API refuses every later request",
    ),
    "summary-not-a-list": ({"type": "reasoning", "summary": "s"}, "history_item keeps summary 's'; refused"),
}


def assert_replayable(raw: dict[str, Any]) -> None:
    from tui.fakeserver.validate import validate_responses
    from tui.model.items import history_item

    item = history_item(raw)
    if item is None:
        return
    items = [item]
    if item.get("type") in ("function_call", "custom_tool_call"):
        kind = "function_call_output" if item["type"] == "function_call" else "custom_tool_call_output"
        items.append({"type": kind, "call_id": item.get("call_id"), "output": "ok"})
    refusal = validate_responses({"model": fe.DEFAULT_MODEL, "input": items, "stream": True, "store": False})
    assert refusal is None, refusal.body()
    json.dumps(items, ensure_ascii=False).encode("utf-8")


@FUZZ
@given(raw=st.sampled_from(_DONE_ITEMS).flatmap(lambda item: st.just(item) | _mutated(item)).filter(lambda v: isinstance(v, dict)))
@example(raw=_HISTORY_BUGS["content-not-a-list"][0])
def test_any_output_item_is_replayed_in_a_form_the_api_accepts(raw: dict[str, Any]) -> None:
    assert_replayable(raw)


@pytest.mark.parametrize("raw", fixed(_HISTORY_BUGS))
def test_known_bad_output_item_is_replayed_in_a_form_the_api_accepts(raw: dict[str, Any]) -> None:
    assert_replayable(raw)


def test_well_formed_output_items_are_replayed_as_the_api_accepts() -> None:
    for raw in _DONE_ITEMS:
        assert_replayable(raw)
