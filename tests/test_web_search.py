"""Hosted web search: offered by config on the Responses API, shown, recorded and replayed."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from tests.engine_support import make_session, of_type, run_turn
from tests.exec_support import run_exec
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tests.sdk_support import EVENT_CLASSES
from tui import protocol as ev
from tui.config import load_config, resolve_provider
from tui.engine.bootstrap import build_session, resume_session
from tui.engine.rollout import read_rollout
from tui.fakeserver.validate import validate_responses
from tui.model.items import history_item

QUERY = "python 3.13 release date"
REPLAYED = {"type": "web_search_call", "status": "completed", "action": {"type": "search", "query": QUERY}}


def _searching_turn(fake: FakeOpenAI) -> None:
    fake.queue_response(fe.turn(fe.web_search_call_item(QUERY, item_id="ws_abc"), fe.message_item("October 2024.")))


def _configure(fake: FakeOpenAI, cwd: Path, home: Path, *overrides: str) -> Any:
    env = {"CODELOOP_HOME": str(home), "OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": fake.base_url, "HOME": str(home)}
    rc = load_config(argparse.Namespace(cd=str(cwd), yolo=True, config=list(overrides)), env=env)
    return rc, resolve_provider(rc, env)


# ------------------------------------------------------------------ the engine against the fake


async def test_search_is_shown_and_replayed_without_its_id(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    _searching_turn(fake_openai)
    fake_openai.queue_response(fe.turn(fe.message_item("Yes, 3.13.")))
    sess = make_session(fake_openai, tmp_path, web_search=True)
    events = await run_turn(sess, "when did python 3.13 come out?")
    [search] = of_type(events, ev.WebSearchEnded)
    assert search.describe() == f"Searched: {QUERY}"
    await run_turn(sess, "sure?")
    first, second = fake_openai.responses_bodies()
    assert REPLAYED in second["input"]  # the fake refuses an id under store:false: none was sent
    assert second["input"][: len(first["input"])] == first["input"]  # append-only


async def test_web_search_tool_is_byte_identical_on_every_request(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    _searching_turn(fake_openai)
    fake_openai.queue_response(fe.turn(fe.message_item("again")))
    sess = make_session(fake_openai, tmp_path, web_search=True)
    await run_turn(sess, "one")
    await run_turn(sess, "two")
    raw = [r.raw for r in fake_openai.requests if r.path == "/v1/responses"]
    tools = [json.dumps(json.loads(b)["tools"]) for b in raw]
    assert len(tools) == 2 and tools[0] == tools[1]
    assert json.loads(tools[0])[-1] == {"type": "web_search"}


async def test_without_the_setting_no_search_tool_is_offered(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(fe.message_item("hi")))
    await run_turn(make_session(fake_openai, tmp_path), "hi")
    assert all(t.get("type") != "web_search" for t in fake_openai.responses_bodies()[0]["tools"])


# ------------------------------------------------------------------ configuration, rollout, resume


async def test_config_key_offers_search_and_resume_replays_it(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    home = tmp_path / "home"
    _searching_turn(fake_openai)
    rc, provider = _configure(fake_openai, tmp_path, home, "tools.web_search=true")
    sess = build_session(rc, provider, interactive=False)
    await run_turn(sess, "when?")
    await sess.submit(ev.Shutdown())
    assert {"type": "web_search"} in fake_openai.responses_bodies()[0]["tools"]
    [path] = list((home / "sessions").rglob("rollout-*.jsonl"))
    recorded = [ln["payload"] for ln in read_rollout(path) if ln["type"] == "response_item"]
    assert REPLAYED in recorded

    fake_openai.queue_response(fe.turn(fe.message_item("still October.")))
    resumed = resume_session(rc, provider, path, interactive=False)
    events = await run_turn(resumed, "and now?")
    assert not of_type(events, ev.WarningIssued)  # same tools: nothing changed
    first, second = fake_openai.responses_bodies()
    assert REPLAYED in second["input"] and second["tools"] == first["tools"]


async def test_switching_search_off_before_resume_drops_the_tool_and_says_so(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    home = tmp_path / "home"
    _searching_turn(fake_openai)
    rc, provider = _configure(fake_openai, tmp_path, home, "tools.web_search=true")
    sess = build_session(rc, provider, interactive=False)
    await run_turn(sess, "when?")
    await sess.submit(ev.Shutdown())
    [path] = list((home / "sessions").rglob("rollout-*.jsonl"))
    rc, provider = _configure(fake_openai, tmp_path, home)
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    events = await run_turn(resume_session(rc, provider, path, interactive=False), "go on")
    [warning] = of_type(events, ev.WarningIssued)
    assert "web search is off now" in warning.message
    body = fake_openai.responses_bodies()[1]
    assert all(t.get("type") != "web_search" for t in body["tools"]) and REPLAYED in body["input"]


async def test_chat_provider_is_not_offered_search_and_says_so(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_chat(fe.chat_text_chunks("hello") + [fe.chat_usage_chunk()])
    rc, provider = _configure(
        fake_openai, tmp_path, tmp_path / "home", "tools.web_search=true", "model_provider=local",
        f'model_providers.local.base_url="{fake_openai.base_url}"', "model_providers.local.wire_api=chat",
    )
    sess = build_session(rc, provider, interactive=False, write_rollout=False)
    events = await run_turn(sess, "hi")
    [warning] = of_type(events, ev.WarningIssued)
    assert "Chat Completions" in warning.message and "web_search" in warning.message
    assert sess.tools.names == ["shell", "apply_patch", "update_plan"]
    body = fake_openai.chat_bodies()[0]
    assert [t["function"]["name"] for t in body["tools"]] == ["shell", "apply_patch", "update_plan"]


def test_exec_progress_shows_the_search(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    _searching_turn(fake_openai)
    proc = run_exec(fake_openai, tmp_path, tmp_path / "home", "-c", "tools.web_search=true", "when?")
    assert proc.returncode == 0, proc.stderr
    assert f"Searched: {QUERY}" in proc.stderr and proc.stdout == "October 2024.\n"


# ------------------------------------------------------------------ replay form and the fake's checks


@pytest.mark.parametrize(
    ("action", "replayed", "described"),
    [
        ({"type": "search", "query": "q", "sources": [{"type": "url", "url": "u"}]}, {"type": "search", "query": "q"}, "Searched: q"),
        ({"type": "search", "queries": ["a", "b"]}, {"type": "search", "queries": ["a", "b"]}, "Searched: a; b"),
        ({"type": "open_page", "url": "https://x.org"}, {"type": "open_page", "url": "https://x.org"}, "Opened: https://x.org"),
        ({"type": "find_in_page", "url": "https://x.org", "pattern": "py"}, {"type": "find_in_page", "url": "https://x.org", "pattern": "py"}, "Searched https://x.org for: py"),
    ],
)
async def test_each_action_is_replayed_field_by_field(
    fake_openai: FakeOpenAI, tmp_path: Path, action: dict[str, Any], replayed: dict[str, Any], described: str
) -> None:
    fake_openai.queue_response(fe.turn(fe.web_search_call_item(action=action), fe.message_item("found")))
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    sess = make_session(fake_openai, tmp_path, web_search=True)
    [search] = of_type(await run_turn(sess, "look"), ev.WebSearchEnded)
    assert search.describe() == described
    await run_turn(sess, "more")
    assert {"type": "web_search_call", "status": "completed", "action": replayed} in fake_openai.responses_bodies()[1]["input"]


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "web_search_call", "id": "ws_1", "status": "completed"},  # no action
        {"type": "web_search_call", "action": {"type": "click"}},
        {"type": "web_search_call", "action": {"type": "find_in_page", "url": "u"}},  # no pattern
        {"type": "web_search_call", "action": "search"},
    ],
)
def test_an_unreplayable_search_is_left_out(raw: dict[str, Any]) -> None:
    assert history_item(raw) is None


def test_replayed_form_drops_what_the_api_would_refuse() -> None:
    item = history_item({"type": "web_search_call", "id": "ws_1", "status": "weird", "action": {"type": "search", "query": 5}})
    assert item == {"type": "web_search_call", "action": {"type": "search"}}
    assert validate_responses({"model": "m", "input": [item], "store": False}) is None


@pytest.mark.parametrize(
    ("item", "problem"),
    [
        ({"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"type": "search"}}, "not persisted"),
        ({"type": "web_search_call", "status": "completed"}, "Missing required parameter: 'input[0].action'"),
        ({"type": "web_search_call", "action": {"type": "click"}}, "Invalid value: 'click'"),
        ({"type": "web_search_call", "status": "done", "action": {"type": "search"}}, "Invalid value: 'done'"),
        ({"type": "web_search_call", "action": {"type": "search", "query": 1}}, "expected a string"),
    ],
)
def test_fake_refuses_malformed_search_items(item: dict[str, Any], problem: str) -> None:
    refusal = validate_responses({"model": "m", "input": [item], "store": False})
    assert refusal is not None and problem in refusal.message


def test_search_item_builder_passes_the_sdk_classes() -> None:
    stream = fe.turn(fe.web_search_call_item("q"), fe.web_search_call_item(action={"type": "find_in_page", "url": "u", "pattern": "p"}))
    for event in stream:
        EVENT_CLASSES[event["type"]].model_validate(event)
    assert [e["item"]["action"] for e in stream if e["type"] == "response.output_item.done"] == [
        {"type": "search", "query": "q"}, {"type": "find_in_page", "url": "u", "pattern": "p"}
    ]


async def test_the_app_shows_a_search_cell(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    from tests.app_support import SIZE, idle, type_text, until
    from tui.app.app import CodeloopApp
    from tui.app.widgets.conversation import SearchCell

    _searching_turn(fake_openai)
    app = CodeloopApp(make_session(fake_openai, tmp_path, web_search=True))
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "when?")
        await pilot.press("enter")
        await until(pilot, lambda: idle(app) and bool(app.query(SearchCell)))
        assert [str(c.render()) for c in app.query(SearchCell)] == [f"Searched: {QUERY}"]
