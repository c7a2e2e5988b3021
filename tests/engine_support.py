"""Helpers to drive the engine against the local fake server, with no screen."""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any, Callable

from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui import protocol as ev
from tui.config import McpServerConfig
from tui.engine.context import TurnSettings
from tui.engine.options import SessionOptions
from tui.engine.rollout import RolloutWriter
from tui.engine.session import Session
from tui.model.responses import ResponsesClient
from tui.safety.sandbox import SandboxPolicy
from tui.tools.registry import ToolRouter

MODEL = "gpt-5.4"
MCP_ECHO_SERVER = Path(__file__).with_name("mcp_echo_server.py")
TERMINAL = (ev.TurnCompleted, ev.TurnAborted, ev.TurnFailed)


def make_session(
    fake: FakeOpenAI,
    cwd: Path,
    *,
    policy: str = "never",
    sandbox: str = "danger-full-access",
    interactive: bool = True,
    apply_patch_kind: str = "freeform",
    rollout: RolloutWriter | None = None,
    client: Any = None,
    reasoning: dict[str, Any] | None = None,
    network_access: bool = False,
    web_search: bool = False,
    **kwargs: Any,
) -> Session:
    """`kwargs` are SessionOptions fields or further Session arguments (mcp, history, ...)."""
    client = client or ResponsesClient(base_url=fake.base_url, api_key="test-key", request_max_retries=0)
    option_names = {f.name for f in fields(SessionOptions)}
    options = {k: kwargs.pop(k) for k in list(kwargs) if k in option_names}
    sess = Session(
        client=client,
        settings=TurnSettings(MODEL, policy, SandboxPolicy(sandbox, network_access=network_access), cwd.resolve()),  # type: ignore[arg-type]
        instructions="BASE INSTRUCTIONS",
        tools=ToolRouter(apply_patch_kind, web_search=web_search),  # type: ignore[arg-type]
        options=SessionOptions(interactive=interactive, reasoning=reasoning, **options),
        rollout=rollout,
        **kwargs,
    )
    sess.retry_base_delay_s = 0.01
    return sess


Approver = Callable[[ev.ApprovalRequested], ev.ReviewDecision]


async def run_turn(
    sess: Session, text: str, approve: Approver | None = None, timeout: float = 30
) -> list[ev.Event]:
    """Submit `text` and collect events up to the turn's end, answering approvals with `approve`."""
    await sess.submit(ev.UserInput(text))
    return await collect(sess, approve, timeout)


async def collect(sess: Session, approve: Approver | None = None, timeout: float = 30) -> list[ev.Event]:
    seen: list[ev.Event] = []
    async with asyncio.timeout(timeout):
        while True:
            event = await sess.next_event()
            seen.append(event)
            if isinstance(event, ev.ApprovalRequested):
                if approve is None:
                    raise AssertionError(f"unexpected approval request: {event}")
                event.resolve(approve(event))
            if isinstance(event, TERMINAL):
                return seen


async def until(sess: Session, kind: type, timeout: float = 30) -> tuple[list[ev.Event], Any]:
    """Read events up to the first of `kind`: the ones before it, and it."""
    seen: list[ev.Event] = []
    async with asyncio.timeout(timeout):
        while True:
            event = await sess.next_event()
            if isinstance(event, kind):
                return seen, event
            seen.append(event)


def of_type(events: list[ev.Event], kind: type) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def shell_call(call_id: str, argv: list[str], **extra: Any) -> list[dict[str, Any]]:
    return fe.function_call_item(call_id, "shell", json.dumps({"command": argv, **extra}))


def mcp_call(call_id: str, name: str, **arguments: Any) -> list[dict[str, Any]]:
    return fe.function_call_item(call_id, name, json.dumps(arguments))


def echo_server(**fields: Any) -> McpServerConfig:
    """tests/mcp_echo_server.py as a configured MCP server. A generous startup timeout: two busy
    cores can take seconds to import the SDK."""
    return McpServerConfig(**{"command": sys.executable, "args": [str(MCP_ECHO_SERVER)], "startup_timeout_sec": 120, **fields})


def outputs_by_call(body: dict[str, Any]) -> dict[str, str]:
    return {i["call_id"]: i["output"] for i in body["input"] if i.get("type", "").endswith("_call_output")}


def process_gone(pid: int, wait_s: float = 5.0) -> bool:
    """True once `pid` has exited: gone, or a zombie waiting for whoever adopted it to reap it."""
    import time

    deadline = time.monotonic() + wait_s
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return True
        if state in ("Z", "X"):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
