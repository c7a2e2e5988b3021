"""Failed requests to the provider read as one status, not a wall of lines: what failed, against
which address, the next try; and a final message naming the address and what to check."""

from __future__ import annotations

import io
import socket
from pathlib import Path
from typing import Any

from tests.app_support import idle, type_text, until
from tests.engine_support import make_session, of_type, run_turn
from tests.exec_support import run_exec
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui import protocol as ev
from tui.app.app import CodeloopApp
from tui.app.widgets.conversation import NoticeCell
from tui.exec_progress import Progress
from tui.model.responses import ResponsesClient
from tui.safety.redact import Redactor


def _err(message: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": "x", "param": None, "code": code}}


def _closed_port_url() -> str:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/v1"


async def test_unreachable_address_is_named_with_what_to_check(tmp_path: Path) -> None:
    url = _closed_port_url()
    client = ResponsesClient(base_url=url, api_key="k")
    sess = make_session(FakeOpenAI(), tmp_path, client=client, stream_max_retries=2)
    events = await run_turn(sess, "go")
    retries = of_type(events, ev.StreamRetrying)
    assert [(r.kind, r.url) for r in retries] == [("unreachable", url)] * 2
    assert retries[0].describe().startswith(f"Cannot reach {url} (") and "retry 1/2 in " in retries[0].describe()
    [failed] = of_type(events, ev.TurnFailed)
    assert f"Cannot reach {url}" in failed.message and "gave up after 3 attempts" in failed.message
    assert "base_url" in failed.message and "proxy" in failed.message


async def test_rate_limit_is_not_called_a_connection_problem(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    for _ in range(3):
        fake_openai.queue_http_error(429, _err("Rate limit reached for gpt-5.4.", "rate_limit_exceeded"), headers={"retry-after": "0.01"})
    sess = make_session(fake_openai, tmp_path, stream_max_retries=2)
    events = await run_turn(sess, "go")
    lines = [r.describe() for r in of_type(events, ev.StreamRetrying)]
    assert len(lines) == 2 and all(line.startswith(f"Rate limited by {fake_openai.base_url}") for line in lines)
    assert not any("Reconnecting" in line or "connection" in line for line in lines)
    [failed] = of_type(events, ev.TurnFailed)
    assert fake_openai.base_url in failed.message and "rate limit or the quota" in failed.message


async def test_rate_limit_asking_for_a_long_wait_says_the_wait(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_http_error(429, _err("Rate limit reached.", "rate_limit_exceeded"), headers={"retry-after": "120"})
    events = await run_turn(make_session(fake_openai, tmp_path), "go")
    [failed] = of_type(events, ev.TurnFailed)
    assert f"Rate limited by {fake_openai.base_url}" in failed.message and "wait 120s" in failed.message


async def test_rejected_key_is_not_retried_and_says_to_check_the_key(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_http_error(401, _err("Incorrect API key provided.", "invalid_api_key"))
    events = await run_turn(make_session(fake_openai, tmp_path), "go")
    assert not of_type(events, ev.StreamRetrying)
    [failed] = of_type(events, ev.TurnFailed)
    assert f"{fake_openai.base_url} refused the key" in failed.message and "API key" in failed.message
    assert "OPENAI_API_KEY" in failed.message


async def test_server_errors_given_up_name_the_address(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    for _ in range(2):
        fake_openai.queue_http_error(500, _err("The server had an error.", None))
    events = await run_turn(make_session(fake_openai, tmp_path, stream_max_retries=1), "go")
    [retry] = of_type(events, ev.StreamRetrying)
    assert retry.kind == "server" and retry.describe().startswith(f"Server error from {fake_openai.base_url}")
    [failed] = of_type(events, ev.TurnFailed)
    assert "gave up after 2 attempts" in failed.message and "try again later" in failed.message


# ---------------------------------------------------------------- the app


async def test_app_shows_one_retry_line_updated_in_place(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    for _ in range(3):
        fake_openai.queue_http_error(500, _err("The server had an error.", None))
    fake_openai.queue_response(fe.turn(fe.message_item("finally")))
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=(140, 40)) as pilot:
        await type_text(pilot, "go")
        await pilot.press("enter")
        await until(pilot, lambda: idle(app) and app.session.history[-1].get("role") == "assistant")
        notices = [str(n.render()) for n in app.query(NoticeCell)]
        retries = [n for n in notices if " · retry " in n]
        assert len(retries) == 1, notices
        assert retries[0].startswith(f"Server error from {fake_openai.base_url}") and "retry 3/5" in retries[0]


# ---------------------------------------------------------------- exec


def test_exec_prints_one_retry_line_and_a_final_message_naming_the_url(tmp_path: Path) -> None:
    ws, home = tmp_path / "ws", tmp_path / "home"
    ws.mkdir()
    url = _closed_port_url()
    fake = FakeOpenAI()  # not started: the run goes to the closed port
    proc = run_exec(fake, ws, home, "-c", "model_providers.openai.stream_max_retries=3", "hi", env={"OPENAI_BASE_URL": url})
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert len([ln for ln in lines if " · retry " in ln]) == 1, proc.stderr
    assert not any("Reconnecting" in ln for ln in lines)
    [error] = [ln for ln in lines if ln.startswith("error:")]
    assert f"Cannot reach {url}" in error and "gave up after 4 attempts" in error and "base_url" in error


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_exec_rewrites_the_retry_line_in_place_on_a_terminal() -> None:
    out = _Terminal()
    progress = Progress(out, Redactor())
    for attempt in (1, 2, 3):
        progress.show(ev.StreamRetrying(attempt, 5, 0.5, "server error 500: boom", "server", "http://x/v1"))
    progress.show(ev.TokenUsage(1, 0, 1, 0, 2, 2))
    text = out.getvalue()
    assert text.count("\r\x1b[2K") == 3 and text.count("\n") == 2  # one retry line, then the next line
    assert text.split("\r\x1b[2K")[-1].startswith("Server error from http://x/v1 (server error 500: boom) · retry 3/5")
