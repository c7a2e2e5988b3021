"""Network faults: what is retried (visibly, with backoff), what is not, and what a failed attempt
leaves behind (nothing). Every fault is real HTTP from the fake server; the SDK is never mocked."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.engine_support import make_session, of_type, run_turn, shell_call
from tests.exec_support import run_exec
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui import protocol as ev
from tui.model.chat import ChatClient
from tui.model.responses import ResponsesClient
from tui.model.sdk import retry_after_seconds

Fault = Callable[[FakeOpenAI], None]


def _err(message: str, type_: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


def _lost_call() -> list[dict[str, Any]]:
    """The first part of a response whose call must never run: it appends to lost.txt."""
    return shell_call("c_lost", ["bash", "-lc", "echo lost >> lost.txt"])


def _partial(*tail: dict[str, Any]) -> list[dict[str, Any]]:
    """A response that got as far as a finished call item, then `tail`."""
    return [fe.response_created("resp_bad"), fe.response_in_progress("resp_bad"), *_lost_call(), *tail]


def _sdk_default_client(fake: FakeOpenAI, **kwargs: Any) -> ResponsesClient:
    # request_max_retries at its default: sampling requests must still be retried by the loop only.
    return ResponsesClient(base_url=fake.base_url, api_key="test-key", **kwargs)


RETRIED: dict[str, Fault] = {
    "http_429_rate_limit": lambda f: f.queue_http_error(
        429, _err("Rate limit reached for gpt-5.4 on tokens per min.", "tokens", "rate_limit_exceeded"),
        headers={"retry-after-ms": "10"},
    ),
    "http_500": lambda f: f.queue_http_error(500, _err("The server had an error.", "server_error", None)),
    "http_502_html": lambda f: f.queue_http_error(502, "<html><body>502 Bad Gateway</body></html>"),
    "http_503_overloaded": lambda f: f.queue_http_error(
        503, _err("overloaded", "server_error", "server_is_overloaded"), headers={"retry-after": "0.01"}
    ),
    "connection_dropped_mid_stream": lambda f: f.queue_cut_stream(_partial(), abort=True),
    "stream_ended_before_completed": lambda f: f.queue_cut_stream(_partial()),
    "response_failed_server_error": lambda f: f.queue_response(
        _partial(fe.failed("server_error", "The server had an error processing your request."))
    ),
    "nested_error_event": lambda f: f.queue_response(
        _partial(fe.error_event(None, "An error occurred while processing the request.", error_type="server_error"))
    ),
    "flat_error_event": lambda f: f.queue_response(_partial(fe.error_event("server_error", "Something went wrong", nested=False))),
}


@pytest.mark.parametrize("fault", RETRIED.values(), ids=RETRIED.keys())
async def test_retried_fault_completes_and_leaves_nothing_behind(fake_openai: FakeOpenAI, tmp_path: Path, fault: Fault) -> None:
    fault(fake_openai)
    fake_openai.queue_response(fe.turn(shell_call("c1", ["bash", "-lc", "echo ran >> ran.txt"])))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    sess = make_session(fake_openai, tmp_path, client=_sdk_default_client(fake_openai))
    events = await run_turn(sess, "go")

    assert of_type(events, ev.TurnCompleted)[0].last_agent_message == "done"
    [retry] = of_type(events, ev.StreamRetrying)
    assert (retry.attempt, retry.max_attempts) == (1, 5)
    assert not (tmp_path / "lost.txt").exists(), "a call from the failed attempt ran"
    assert (tmp_path / "ran.txt").read_text() == "ran\n"
    bodies = fake_openai.responses_bodies()
    assert len(bodies) == 3, "one visible retry, no silent SDK retries"
    assert all(r.headers["x-stainless-retry-count"] == "0" for r in fake_openai.requests)
    assert bodies[1]["input"] == bodies[0]["input"], "the failed attempt left nothing in the history"
    kinds = [(i["type"], i.get("call_id")) for i in bodies[2]["input"][-3:]]
    assert kinds == [("message", None), ("function_call", "c1"), ("function_call_output", "c1")]
    sent = json.dumps(bodies[2]["input"])
    assert sent.count('"go"') == 1 and sent.count('"c1"') == 2 and "c_lost" not in sent
    assert "c_lost" not in json.dumps(sess.history)


async def test_retry_after_ms_sets_the_delay(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    RETRIED["http_429_rate_limit"](fake_openai)
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    events = await run_turn(make_session(fake_openai, tmp_path), "go")
    [retry] = of_type(events, ev.StreamRetrying)
    assert retry.delay_s == pytest.approx(0.01)
    assert "rate limited" in retry.reason and "Rate limit reached" in retry.reason


def test_retry_after_headers_are_read_in_every_form() -> None:
    assert retry_after_seconds({"retry-after-ms": "250"}) == pytest.approx(0.25)
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == pytest.approx(0.25)
    assert retry_after_seconds({"retry-after": "2"}) == 2.0
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < (retry_after_seconds({"retry-after": date}) or 0) <= 30
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


async def test_backoff_grows_exponentially_with_jitter(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    for _ in range(3):
        fake_openai.queue_cut_stream(_partial())
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    events = await run_turn(make_session(fake_openai, tmp_path), "go")
    delays = [r.delay_s for r in of_type(events, ev.StreamRetrying)]
    assert [r.attempt for r in of_type(events, ev.StreamRetrying)] == [1, 2, 3]
    for delay, nominal in zip(delays, [0.01, 0.02, 0.04]):
        assert nominal * 0.8 <= delay <= nominal * 1.2
    assert of_type(events, ev.TurnCompleted) and not (tmp_path / "lost.txt").exists()


async def test_idle_stream_times_out_and_is_retried(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    # The call item is sent, then nothing: no response.completed, no byte, connection held open.
    stalled = fe.turn(_lost_call())
    fake_openai.queue_response(stalled, stall_after=len(stalled) - 1)
    fake_openai.queue_response(fe.turn(fe.message_item("back")))
    client = _sdk_default_client(fake_openai, idle_timeout_s=0.3)
    events = await run_turn(make_session(fake_openai, tmp_path, client=client), "go")
    [retry] = of_type(events, ev.StreamRetrying)
    assert "idle" in retry.reason and "0.3s" in retry.reason
    assert of_type(events, ev.TurnCompleted)[0].last_agent_message == "back"
    assert not (tmp_path / "lost.txt").exists()
    assert len(fake_openai.responses_bodies()) == 2


NOT_RETRIED: dict[str, tuple[Fault, str]] = {
    "http_401": (lambda f: f.queue_http_error(401, _err("Incorrect API key provided: sk-…", "invalid_request_error", "invalid_api_key"), headers={}), "Incorrect API key"),
    "http_403": (lambda f: f.queue_http_error(403, _err("Country, region, or territory not supported", "request_forbidden", "unsupported_country_region_territory"), headers={}), "HTTP 403"),
    "http_429_insufficient_quota": (lambda f: f.queue_http_error(429, fe.load_json_fixture("real_http_429_insufficient_quota_body"), headers={}), "quota"),
    "http_400_invalid_request": (lambda f: f.queue_http_error(400, {"error": {"message": "Unsupported parameter: 'temperature' is not supported with this model.", "type": "invalid_request_error", "param": "temperature", "code": None}}, headers={}), "Unsupported parameter"),
    "response_failed_insufficient_quota": (lambda f: f.queue_response(_partial(fe.failed("insufficient_quota", "You exceeded your current quota."))), "exceeded your current quota"),
    "nested_error_insufficient_quota": (lambda f: f.queue_response(fe.load_fixture("real_error_event_nested_then_response_failed")), "quota"),
    "retry_after_too_long": (lambda f: f.queue_http_error(429, _err("Rate limit reached.", "requests", "rate_limit_exceeded"), headers={"retry-after": "120"}), "wait 120s"),
}


@pytest.mark.parametrize(("fault", "needle"), NOT_RETRIED.values(), ids=NOT_RETRIED.keys())
async def test_fatal_fault_fails_once_clearly_and_the_session_goes_on(
    fake_openai: FakeOpenAI, tmp_path: Path, fault: Fault, needle: str
) -> None:
    fault(fake_openai)
    sess = make_session(fake_openai, tmp_path, client=_sdk_default_client(fake_openai))
    events = await run_turn(sess, "first")
    [failed] = of_type(events, ev.TurnFailed)
    assert needle in failed.message
    assert not of_type(events, ev.StreamRetrying)
    assert len(fake_openai.requests) == 1, "retried although the fault is fatal"
    assert not (tmp_path / "lost.txt").exists()

    fake_openai.queue_response(fe.turn(fe.message_item("still here")))
    events = await run_turn(sess, "second")
    assert of_type(events, ev.TurnCompleted)[0].last_agent_message == "still here"
    sent = json.dumps(fake_openai.responses_bodies()[-1]["input"])
    assert sent.count('"first"') == 1 and sent.count('"second"') == 1 and "c_lost" not in sent


async def test_retries_exhausted_fail_the_turn_saying_how_many_attempts(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    for _ in range(6):
        fake_openai.queue_http_error(500, _err("The server had an error.", "server_error", None))
    sess = make_session(fake_openai, tmp_path, client=_sdk_default_client(fake_openai))
    events = await run_turn(sess, "go")
    retries = of_type(events, ev.StreamRetrying)
    assert [(r.attempt, r.max_attempts) for r in retries] == [(n, 5) for n in range(1, 6)]
    [failed] = of_type(events, ev.TurnFailed)
    assert "gave up after 6 attempts" in failed.message and "server error 500" in failed.message
    assert len(fake_openai.requests) == 6

    fake_openai.queue_response(fe.turn(fe.message_item("recovered")))
    events = await run_turn(sess, "again")
    assert of_type(events, ev.TurnCompleted)[0].last_agent_message == "recovered"


async def test_stream_max_retries_is_the_budget(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_cut_stream(_partial())
    fake_openai.queue_cut_stream(_partial())
    events = await run_turn(make_session(fake_openai, tmp_path, stream_max_retries=1), "go")
    assert [(r.attempt, r.max_attempts) for r in of_type(events, ev.StreamRetrying)] == [(1, 1)]
    assert "gave up after 2 attempts" in of_type(events, ev.TurnFailed)[0].message
    assert not (tmp_path / "lost.txt").exists()


async def test_unreachable_server_is_retried_then_given_up(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = ResponsesClient(base_url=f"http://127.0.0.1:{port}/v1", api_key="k")
    fake = FakeOpenAI()  # only its base_url is read by make_session when a client is given
    events = await run_turn(make_session(fake, tmp_path, client=client, stream_max_retries=2), "go")
    assert len(of_type(events, ev.StreamRetrying)) == 2
    assert "connection problem" in of_type(events, ev.TurnFailed)[0].message


# --- Chat Completions ---------------------------------------------------------------------------


def _chat_session(fake: FakeOpenAI, tmp_path: Path) -> Any:
    client = ChatClient(base_url=fake.base_url, api_key="k")  # request_max_retries at its default
    return make_session(fake, tmp_path, client=client, apply_patch_kind="function")


async def test_chat_5xx_is_retried_once_visibly(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_http_error(503, _err("overloaded", "server_error", None), endpoint="chat")
    fake_openai.queue_chat(fe.chat_text_chunks("fine"))
    events = await run_turn(_chat_session(fake_openai, tmp_path), "go")
    [retry] = of_type(events, ev.StreamRetrying)
    assert retry.attempt == 1 and "server error 503" in retry.reason
    assert of_type(events, ev.TurnCompleted)[0].last_agent_message == "fine"
    assert len(fake_openai.chat_bodies()) == 2


async def test_chat_cut_stream_is_retried_and_its_calls_never_run(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    lost = json.dumps({"command": ["bash", "-lc", "echo lost >> lost.txt"]})
    cut = fe.chat_tool_call_chunks([("call_lost", "shell", lost)], finish_reason=None)
    fake_openai.queue_chat_raw("".join(f"data: {json.dumps(c)}\n\n" for c in cut))  # no finish, no [DONE]
    ran = json.dumps({"command": ["bash", "-lc", "echo ran >> ran.txt"]})
    fake_openai.queue_chat(fe.chat_tool_call_chunks([("call_1", "shell", ran)]))
    fake_openai.queue_chat(fe.chat_text_chunks("done"))
    events = await run_turn(_chat_session(fake_openai, tmp_path), "go")
    [retry] = of_type(events, ev.StreamRetrying)
    assert "finish_reason" in retry.reason
    assert of_type(events, ev.TurnCompleted)[0].last_agent_message == "done"
    assert not (tmp_path / "lost.txt").exists() and (tmp_path / "ran.txt").read_text() == "ran\n"
    bodies = fake_openai.chat_bodies()
    assert bodies[1]["messages"] == bodies[0]["messages"]
    sent = json.dumps(bodies[2]["messages"])
    assert "call_lost" not in sent and sent.count('"call_1"') == 2  # the call and its output


# --- codeloop exec ------------------------------------------------------------------------------


def test_exec_shows_the_reconnect_on_stderr(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    ws, home = tmp_path / "ws", tmp_path / "home"
    ws.mkdir()
    RETRIED["http_503_overloaded"](fake_openai)
    fake_openai.queue_response(fe.turn(fe.message_item("answer")))
    proc = run_exec(fake_openai, ws, home, "hi")
    assert proc.returncode == 0, proc.stderr
    assert f"Server error from {fake_openai.base_url} (server error 503: overloaded) · retry 1/5 in " in proc.stderr
    assert proc.stdout == "answer\n"
    assert len(fake_openai.requests) == 2


def test_exec_idle_timeout_comes_from_the_provider_config(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    ws, home = tmp_path / "ws", tmp_path / "home"
    ws.mkdir()
    stalled = fe.turn(fe.message_item("never finished"))
    fake_openai.queue_response(stalled, stall_after=3)
    fake_openai.queue_response(fe.turn(fe.message_item("answer")))
    proc = run_exec(fake_openai, ws, home, "-c", "model_providers.openai.stream_idle_timeout_ms=300", "hi")
    assert proc.returncode == 0, proc.stderr
    assert "(stream idle: no data from the server for 0.3s" in proc.stderr and " · retry 1/5 in " in proc.stderr
    assert proc.stdout == "answer\n"
