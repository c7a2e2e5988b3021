"""Results the model can use: images as images on the Responses API (a note on Chat
Completions), resources through the resource tools, progress shown live and keeping a long call
alive. The SDK echo server with ECHO_SERVER_RICH=1, the real engine loop, the fake server."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tests.engine_support import echo_server, make_session, of_type, outputs_by_call, run_turn
from tests.engine_support import mcp_call as call
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui import protocol as ev
from tui.config import McpServerConfig
from tui.engine.session import Session
from tui.model.chat import ChatClient
from tui.tools.mcp import McpManager
from tui.tools.mcp_specs import result_parts

PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082"
)
PNG_URL = "data:image/png;base64," + base64.b64encode(PNG_1X1).decode()


def rich_server(**fields: Any) -> McpServerConfig:
    return echo_server(env={"ECHO_SERVER_RICH": "1"}, **fields)


@asynccontextmanager
async def mcp_session(fake: FakeOpenAI, cwd: Path, servers: dict[str, McpServerConfig], **kwargs: Any) -> AsyncIterator[Session]:
    sess = make_session(fake, cwd, mcp=McpManager(servers, cwd), **kwargs)  # never + full access: no asking
    try:
        yield sess
    finally:
        await sess.submit(ev.Shutdown())


# --- images -----------------------------------------------------------------------------------


async def test_an_image_result_reaches_the_responses_model_as_an_image_in_order(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(call("c1", "mcp__s__chart"), call("c2", "mcp__s__not_an_image")))
    fake_openai.queue_response(fe.turn(fe.message_item("seen")))
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    async with mcp_session(fake_openai, tmp_path, {"s": rich_server()}) as sess:
        events = await run_turn(sess, "draw", timeout=120)
        again = await run_turn(sess, "more", timeout=120)
    assert of_type(again, ev.TurnCompleted), "the history with the image is accepted on later requests too"
    out = outputs_by_call(fake_openai.responses_bodies()[1])
    assert out["c1"] == [
        {"type": "input_text", "text": "the chart:"},
        {"type": "input_image", "image_url": PNG_URL},
        {"type": "input_text", "text": "that was the chart"},
    ]
    assert out["c2"] == "[image: image/png, 21 bytes]", "bytes that are no image stay a note"
    ended = {e.call_id: e.output for e in of_type(events, ev.McpToolCallEnded)}
    assert ended["c1"] == f"the chart:\n[image: image/png, {len(PNG_1X1)} bytes]\nthat was the chart", "the faces show the note"


async def test_on_chat_completions_an_image_result_is_a_text_note(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    client = ChatClient(base_url=fake_openai.base_url, api_key="k", request_max_retries=0)
    fake_openai.queue_chat(fe.chat_tool_call_chunks([("c1", "mcp__s__chart", "{}")]))
    fake_openai.queue_chat(fe.chat_text_chunks("seen"))
    async with mcp_session(fake_openai, tmp_path, {"s": rich_server()}, client=client, apply_patch_kind="function") as sess:
        await run_turn(sess, "draw", timeout=120)
    [tool] = [m for m in fake_openai.chat_bodies()[1]["messages"] if m["role"] == "tool"]
    assert tool["content"] == f"the chart:\n[image: image/png, {len(PNG_1X1)} bytes]\nthat was the chart"


def test_only_real_images_of_types_the_api_takes_become_image_parts() -> None:
    def image(data: bytes | str, mime: str = "image/png") -> Any:
        from types import SimpleNamespace as NS

        text = data if isinstance(data, str) else base64.b64encode(data).decode()
        return NS(content=[NS(type="image", data=text, mime_type=mime)], is_error=False)

    assert result_parts(image(PNG_1X1, "text/html")) == [{"type": "input_image", "image_url": PNG_URL}], "sniffed, not the label"
    for bad in (b"GIF8", b"\x00" * 64, "not base64!", "iVBORw0KGgo=\x00", base64.b64encode(PNG_1X1).decode() + "@"):
        assert result_parts(image(bad)) is None, bad
    jpeg = result_parts(image(b"\xff\xd8\xff\xe0" + b"\x00" * 16))
    assert jpeg and jpeg[0]["image_url"].startswith("data:image/jpeg;base64,")
    error = result_parts(type("R", (), {"content": image(PNG_1X1).content, "is_error": True})())
    assert error and error[0] == {"type": "input_text", "text": "The tool reported an error:"}


# --- progress ---------------------------------------------------------------------------------


async def test_progress_is_reported_live_between_the_call_starting_and_ending(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(call("c1", "mcp__s__progress", steps=3, delay=0.4)))
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    async with mcp_session(fake_openai, tmp_path, {"s": rich_server()}) as sess:
        events = await run_turn(sess, "go", timeout=120)
    kinds = [type(e) for e in events if isinstance(e, (ev.McpToolCallBegan, ev.McpToolCallProgress, ev.McpToolCallEnded))]
    assert kinds[0] is ev.McpToolCallBegan and kinds[-1] is ev.McpToolCallEnded
    reports = of_type(events, ev.McpToolCallProgress)
    assert len(reports) >= 2 and all(r.call_id == "c1" and r.total == 3 for r in reports)
    assert reports[0].progress == 1 and reports[0].message == "step 1 of 3"
    assert outputs_by_call(fake_openai.responses_bodies()[1])["c1"] == "3 steps done"


async def test_progress_keeps_a_call_longer_than_its_timeout_alive(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(call("c1", "mcp__s__progress", steps=8, delay=0.5)))  # 4 s, reports every 0.5 s
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    async with mcp_session(fake_openai, tmp_path, {"s": rich_server(tool_timeout_sec=2)}) as sess:
        await run_turn(sess, "go", timeout=120)
    assert outputs_by_call(fake_openai.responses_bodies()[1])["c1"] == "8 steps done"


async def test_progress_extends_a_call_only_up_to_the_hard_cap(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(call("c1", "mcp__s__progress", steps=1000, delay=0.1)))  # would take 100 s
    fake_openai.queue_response(fe.turn(call("c2", "mcp__s__echo", text="still serving")))
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    async with mcp_session(fake_openai, tmp_path, {"s": rich_server(tool_timeout_sec=0.5)}) as sess:
        events = await run_turn(sess, "go", timeout=120)
    [ended, _] = of_type(events, ev.McpToolCallEnded)
    assert ended.timed_out and 4.5 <= ended.duration_s < 30, ended.duration_s  # the cap: 10 x 0.5 s
    out = outputs_by_call(fake_openai.responses_bodies()[2])
    assert "tool_timeout_sec" in out["c1"] and "5 s" in out["c1"]
    assert out["c2"] == "still serving"
    assert len(of_type(events, ev.McpToolCallProgress)) <= 5 / 0.25 + 2, "reports are throttled"


# --- elicitation ------------------------------------------------------------------------------


async def test_an_elicitation_is_answered_by_the_face_and_the_tool_gets_the_values(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(call("c1", "mcp__s__ask")))
    fake_openai.queue_response(fe.turn(call("c2", "mcp__s__ask")))
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    async with mcp_session(fake_openai, tmp_path, {"s": rich_server(tool_timeout_sec=1)}) as sess:
        await sess.submit(ev.UserInput("go"))
        seen: list[ev.McpElicitationRequested] = []
        async with asyncio.timeout(120):
            while True:
                event = await sess.next_event()
                if isinstance(event, ev.McpElicitationRequested):
                    seen.append(event)
                    await asyncio.sleep(1.5)  # longer than tool_timeout_sec: the user's time does not count
                    event.resolve(*(("accept", {"target": "staging", "replicas": "3", "confirm": "yes"}) if len(seen) == 1 else ("decline", None)))
                if isinstance(event, ev.TurnCompleted):
                    break
    assert [e.server for e in seen] == ["s", "s"]
    first = seen[0]
    assert [f["name"] for f in first.fields] == ["target", "replicas", "confirm"]
    assert first.fields[0]["title"] == "Target" and first.fields[0]["required"] and not first.fields[2]["required"]
    out = {**outputs_by_call(fake_openai.responses_bodies()[1]), **outputs_by_call(fake_openai.responses_bodies()[2])}
    assert out["c1"] == 'accept: {"confirm": true, "replicas": 3, "target": "staging"}'
    assert out["c2"] == "decline: null"


async def test_a_headless_session_declines_elicitations_without_asking(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(call("c1", "mcp__s__ask")))
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    async with mcp_session(fake_openai, tmp_path, {"s": rich_server()}, interactive=False) as sess:
        events = await run_turn(sess, "go", timeout=120)
    assert not of_type(events, ev.McpElicitationRequested)
    assert outputs_by_call(fake_openai.responses_bodies()[1])["c1"] == "decline: null"


def test_only_the_protocols_flat_form_schemas_are_asked() -> None:
    from tui.tools.mcp_elicit import coerce, form_fields

    assert form_fields({"type": "object", "properties": {"a": {"type": "object"}}}) is None
    assert form_fields({"type": "object", "properties": {"a": {"enum": [1, 2]}}}) is None
    assert form_fields({"type": "array"}) is None and form_fields("x") is None
    fields = form_fields({"type": "object", "properties": {"n": {"type": "integer"}, "c": {"enum": ["a", "b"]}}, "required": ["n"]})
    assert fields is not None
    assert coerce(fields, {"n": "x"})[1] == "n: a whole number is needed"
    assert coerce(fields, {"c": "a"})[1] == "n is required"
    assert coerce(fields, {"n": "2", "c": "z"})[1] == "c: choose one of a, b"
    assert coerce(fields, {"n": " 2 ", "c": "b"}) == ({"n": 2, "c": "b"}, None)


async def test_a_sampling_request_is_refused_and_never_reaches_the_model(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(call("c1", "mcp__s__sample")))
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    async with mcp_session(fake_openai, tmp_path, {"s": rich_server()}) as sess:
        await run_turn(sess, "go", timeout=120)
    out = outputs_by_call(fake_openai.responses_bodies()[1])["c1"]
    assert out.startswith("refused:"), out
    assert len(fake_openai.responses_bodies()) == 2, "no request was made for the server"
