"""A server that fails to start says why: the meaningful lines of its stderr's tail, neutralized,
in the failure event (what the app's notice, exec's warning and `/mcp` show)."""

from __future__ import annotations

from pathlib import Path

from tests.engine_support import echo_server, make_session, of_type, run_turn
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui import protocol as ev
from tui.config import McpServerConfig
from tui.tools.mcp import McpManager
from tui.tools.mcp_stderr import LINE_CHARS, SHOWN_LINES, meaningful_lines

NPX_FAILURE = """\
npm error code E404
npm error 404 Not Found - GET https://registry.npmjs.org/@acme%2fnope - Not found
npm error 404  '@acme/nope@*' is not in this registry.
npm error A complete log of this run can be found in: /home/u/.npm/_logs/debug-0.log
"""

PYTHON_FAILURE = """\
Traceback (most recent call last):
  File "/srv/server.py", line 3, in <module>
    import missing_dependency
  File "/usr/lib/python3.11/importlib/__init__.py", line 126, in import_module
    return _bootstrap._gcd_import(name[level:], package, level)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
ModuleNotFoundError: No module named 'missing_dependency'
"""

NODE_FAILURE = """\
Error: DOCS_TOKEN is not set
    at Object.<anonymous> (/srv/index.js:1:7)
    at Module._compile (node:internal/modules/cjs/loader:1256:14)
    at node:internal/main/run_main_module:28:49

Node.js v20.11.0
"""


async def failure_reason(fake: FakeOpenAI, tmp_path: Path, config: McpServerConfig) -> str:
    fake.queue_response(fe.turn(fe.message_item("ok")))
    sess = make_session(fake, tmp_path, mcp=McpManager({"s": config}, tmp_path))
    try:
        events = await run_turn(sess, "go", timeout=120)
    finally:
        await sess.submit(ev.Shutdown())
    [failed] = [e for e in of_type(events, ev.McpServerStatus) if e.state == "failed"]
    return failed.reason or ""


async def test_an_npx_failure_shows_its_cause_two_lines_above_the_last(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    reason = await failure_reason(fake_openai, tmp_path, echo_server(env={"ECHO_SERVER_MODE": "exit", "ECHO_SERVER_SAY": NPX_FAILURE}))
    assert "exited during startup" in reason
    assert "404 Not Found - GET https://registry.npmjs.org/@acme%2fnope" in reason
    assert "is not in this registry" in reason


async def test_stderr_shown_is_bounded_and_neutralized(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    flood = "\n".join(f"noise line {i} " + "x" * 500 for i in range(100))
    attack = "\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\x1b]0;pwned\x07the real cause\rhidden"
    reason = await failure_reason(fake_openai, tmp_path, echo_server(env={"ECHO_SERVER_MODE": "exit", "ECHO_SERVER_SAY": f"{flood}\n{attack}"}))
    assert "\x1b" not in reason and "\x07" not in reason and "\r" not in reason
    assert "the real cause" in reason and "pwned" not in reason and "cm0gLXJmIH4" not in reason
    assert len(reason.splitlines()) <= SHOWN_LINES + 1 and len(reason) < (SHOWN_LINES + 1) * (LINE_CHARS + 10)


async def test_a_python_server_failing_at_import_shows_its_error_line(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    reason = await failure_reason(fake_openai, tmp_path, echo_server(env={"ECHO_SERVER_MODE": "exit", "ECHO_SERVER_SAY": PYTHON_FAILURE}))
    assert reason.endswith("(stderr: ModuleNotFoundError: No module named 'missing_dependency')"), reason


def test_python_tracebacks_keep_the_error_not_the_frames() -> None:
    assert meaningful_lines(PYTHON_FAILURE) == ["ModuleNotFoundError: No module named 'missing_dependency'"]


def test_node_errors_keep_the_error_not_the_frames_or_the_version() -> None:
    assert meaningful_lines(NODE_FAILURE) == ["Error: DOCS_TOKEN is not set"]


def test_blank_lines_are_skipped_and_the_last_meaningful_lines_kept_in_order() -> None:
    lines = [f"line {i}" for i in range(30)]
    assert meaningful_lines("\n\n".join(lines) + "\n\n\n") == lines[-SHOWN_LINES:]
    assert meaningful_lines("   \n\t\n") == []


def test_an_unindented_line_starting_with_at_is_a_message_not_a_frame() -> None:
    assert meaningful_lines("at least one --root is required\n") == ["at least one --root is required"]


def test_secrets_in_stderr_are_redacted() -> None:
    [line] = meaningful_lines("auth failed for OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwxyz0123456789\n")
    assert "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789" not in line
