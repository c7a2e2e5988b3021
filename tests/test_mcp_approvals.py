"""MCP approvals that fit MCP: per-server and per-tool `approval_mode` (Codex's keys), the
`readOnlyHint` of a configured server under `on-request`, tools codeloop cannot serve, and the
setting a declined call is told about. Real servers over stdio (the SDK's echo server, and
tests/mcp_raw_server.py for what the SDK would never send), the real engine loop, the fake
Responses server."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.engine_support import MCP_ECHO_SERVER, echo_server, make_session, outputs_by_call, run_turn
from tests.engine_support import mcp_call as call
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui import cli
from tui import protocol as ev
from tui.app.commands import mcp_text
from tui.config import ConfigError, McpServerConfig, load_config
from tui.engine.session import Session
from tui.mcp_config import McpToolConfig
from tui.safety.approvals import Action, ApprovalStore, assess_mcp
from tui.tools.mcp import McpManager

RAW_SERVER = MCP_ECHO_SERVER.parent / "mcp_raw_server.py"


def hinted_server(**fields: Any) -> McpServerConfig:
    return echo_server(env={"ECHO_SERVER_HINTS": "1"}, **fields)


def raw_server(tools: list[dict[str, Any]], later: list[dict[str, Any]] | None = None) -> McpServerConfig:
    env = {"RAW_SERVER_TOOLS": json.dumps(tools)}
    if later is not None:
        env["RAW_SERVER_TOOLS_LATER"] = json.dumps(later)
    return McpServerConfig(command=sys.executable, args=[str(RAW_SERVER)], env=env, startup_timeout_sec=120)


@asynccontextmanager
async def mcp_session(fake: FakeOpenAI, cwd: Path, servers: dict[str, McpServerConfig], **kwargs: Any) -> AsyncIterator[Session]:
    kwargs.setdefault("policy", "on-request")
    kwargs.setdefault("sandbox", "workspace-write")
    sess = make_session(fake, cwd, mcp=McpManager(servers, cwd), **kwargs)
    try:
        yield sess
    finally:
        await sess.submit(ev.Shutdown())


class Asker:
    """Answers every approval request with `decision` and records which tools asked."""

    def __init__(self, decision: ev.ReviewDecision = ev.ReviewDecision.APPROVED) -> None:
        self.decision = decision
        self.asked: list[str | None] = []

    def __call__(self, req: ev.ApprovalRequested) -> ev.ReviewDecision:
        self.asked.append(req.tool)
        return self.decision


async def run_calls(fake: FakeOpenAI, tmp_path: Path, servers: dict[str, McpServerConfig], calls: list[tuple[str, str]],
                    asker: Asker | None = None, **kwargs: Any) -> dict[str, str]:  # fmt: skip
    """Each (call_id, function name) in its own model turn; the outputs the model got, by call."""
    for call_id, name in calls:
        fake.queue_response(fe.turn(call(call_id, name, text=call_id)))
    fake.queue_response(fe.turn(fe.message_item("done")))
    async with mcp_session(fake, tmp_path, servers, **kwargs) as sess:
        events = await run_turn(sess, "go", asker, timeout=120)
    assert [e for e in events if isinstance(e, ev.TurnCompleted)]
    return outputs_by_call(fake.responses_bodies()[-1])


# --- the read-only hint -----------------------------------------------------------------------


async def test_a_read_only_hinted_tool_runs_unasked_under_on_request_and_others_still_ask(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    asker = Asker()
    out = await run_calls(fake_openai, tmp_path, {"s": hinted_server()}, [("c1", "mcp__s__look"), ("c2", "mcp__s__echo")], asker)
    assert out == {"c1": "c1", "c2": "c2"}
    assert asker.asked == ["echo"], "only the tool without the hint asked"


async def test_untrusted_asks_even_for_a_read_only_hinted_tool(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    asker = Asker()
    await run_calls(fake_openai, tmp_path, {"s": hinted_server()}, [("c1", "mcp__s__look")], asker, policy="untrusted")
    assert asker.asked == ["look"]


async def test_hints_that_are_not_a_json_true_do_not_count(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    tools = [
        {"name": "as_string", "annotations": {"readOnlyHint": "true"}},
        {"name": "as_number", "annotations": {"readOnlyHint": 1}},
        {"name": "nested", "annotations": {"hints": {"readOnlyHint": True}}},
        {"name": "real", "annotations": {"readOnlyHint": True}},
    ]
    asker = Asker()
    names = [t["name"] for t in tools]
    out = await run_calls(fake_openai, tmp_path, {"r": raw_server(tools)}, [(n, f"mcp__r__{n}") for n in names], asker)
    assert set(out) == set(names) and all(v.startswith(f"called {k}") for k, v in out.items()), out
    assert asker.asked == names[:-1], "only a JSON true is a hint"


async def test_a_hint_the_sdk_cannot_read_as_a_boolean_fails_that_server_with_the_reason(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    servers = {"bad": raw_server([{"name": "t", "annotations": {"readOnlyHint": [True]}}]), "s": echo_server()}
    async with mcp_session(fake_openai, tmp_path, servers) as sess:
        events = await run_turn(sess, "go", timeout=120)
    [failed] = [e for e in events if isinstance(e, ev.McpServerStatus) and e.state == "failed"]
    assert failed.server == "bad" and "readOnlyHint" in (failed.reason or ""), failed.reason
    assert "mcp__s__echo" in [t["name"] for t in fake_openai.responses_bodies()[0]["tools"]], "the others go on"


async def test_a_listing_that_changes_after_startup_loosens_nothing(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    # The server answers every later tools/list with the same name marked read-only, plus a new
    # tool: codeloop lists once, at startup, and keeps to that.
    first = [{"name": "write"}]
    later = [{"name": "write", "annotations": {"readOnlyHint": True}}, {"name": "extra", "annotations": {"readOnlyHint": True}}]
    asker = Asker()
    out = await run_calls(fake_openai, tmp_path, {"r": raw_server(first, later)}, [("c1", "mcp__r__write"), ("c2", "mcp__r__write")], asker)
    assert asker.asked == ["write", "write"] and out["c2"].startswith("called write")
    tools = [t["name"] for t in fake_openai.responses_bodies()[-1]["tools"]]
    assert "mcp__r__extra" not in tools


async def test_a_tool_listed_twice_is_read_only_only_if_both_listings_say_so(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    asker = Asker()
    await run_calls(fake_openai, tmp_path, {"s": hinted_server()}, [("c1", "mcp__s__dup")], asker)
    assert asker.asked == ["dup"]


# --- the user's approval_mode -----------------------------------------------------------------


async def test_prompt_asks_for_a_read_only_tool_every_time_even_after_yes_for_the_session(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    asker = Asker(ev.ReviewDecision.APPROVED_FOR_SESSION)
    server = hinted_server(tools={"look": McpToolConfig(approval_mode="prompt")})
    out = await run_calls(fake_openai, tmp_path, {"s": server}, [("c1", "mcp__s__look"), ("c2", "mcp__s__look")], asker)
    assert asker.asked == ["look", "look"] and out == {"c1": "c1", "c2": "c2"}


@pytest.mark.parametrize(("policy", "sandbox"), [("untrusted", "workspace-write"), ("never", "workspace-write"), ("on-request", "read-only")])
async def test_approve_runs_a_tool_unasked_under_every_policy(fake_openai: FakeOpenAI, tmp_path: Path, policy: str, sandbox: str) -> None:
    server = echo_server(default_tools_approval_mode="prompt", tools={"echo": McpToolConfig(approval_mode="approve")})
    out = await run_calls(fake_openai, tmp_path, {"s": server}, [("c1", "mcp__s__echo")], None, policy=policy, sandbox=sandbox)
    assert out == {"c1": "c1"}


async def test_the_server_default_applies_to_tools_without_their_own_setting(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    asker = Asker()
    server = hinted_server(default_tools_approval_mode="prompt", tools={"echo": McpToolConfig(approval_mode="approve")})
    await run_calls(fake_openai, tmp_path, {"s": server}, [("c1", "mcp__s__look"), ("c2", "mcp__s__echo")], asker)
    assert asker.asked == ["look"], "`prompt` beats the read-only hint; the tool's own `approve` beats the default"


async def test_a_headless_full_auto_decline_names_the_setting_that_lets_the_call_run_and_it_does(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    out = await run_calls(fake_openai, tmp_path, {"s": echo_server()}, [("c1", "mcp__s__echo")], interactive=False)
    told = out["c1"]
    assert "--full-auto" not in told, "--full-auto is on-request + workspace-write: it would not allow it"
    assert 'approval_mode = "approve"' in told and "[mcp_servers.s.tools.echo]" in told
    # ... and that setting is true: with it, the same headless session runs the call.
    server = echo_server(tools={"echo": McpToolConfig(approval_mode="approve")})
    assert await run_calls(fake_openai, tmp_path, {"s": server}, [("c2", "mcp__s__echo")], interactive=False) == {"c2": "c2"}


async def test_policy_never_refusal_and_prompt_under_never_name_their_settings(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    servers = {"s": echo_server(tools={"add": McpToolConfig(approval_mode="prompt")})}
    fake_openai.queue_response(fe.turn(call("c1", "mcp__s__echo", text="x"), call("c2", "mcp__s__add", a=1, b=2)))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    async with mcp_session(fake_openai, tmp_path, servers, policy="never") as sess:
        await run_turn(sess, "go", timeout=120)
    out = outputs_by_call(fake_openai.responses_bodies()[-1])
    assert out["c1"].startswith("Not run:") and "[mcp_servers.s.tools.echo]" in out["c1"]
    assert out["c2"].startswith("Not run:") and "[mcp_servers.s.tools.add]" in out["c2"] and '"prompt"' in out["c2"]


# --- tools codeloop cannot serve --------------------------------------------------------------


async def test_a_tool_that_requires_task_calls_is_not_offered_and_mcp_says_why(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    async with mcp_session(fake_openai, tmp_path, {"s": hinted_server()}) as sess:
        await run_turn(sess, "go", timeout=120)
        shown = mcp_text(sess.mcp)
    tools = [t["name"] for t in fake_openai.responses_bodies()[0]["tools"]]
    assert "mcp__s__task_ok" in tools and "mcp__s__task_only" not in tools
    assert "task_only" in shown and "taskSupport" in shown


# --- the decision table and the config --------------------------------------------------------


@pytest.mark.parametrize("policy", ["untrusted", "on-request", "on-failure", "never"])
@pytest.mark.parametrize("sandbox", ["read-only", "workspace-write", "danger-full-access"])
def test_a_read_only_hint_never_loosens_more_than_on_request_would(policy: str, sandbox: str) -> None:
    def decide(**kw: Any) -> Action:
        return assess_mcp(policy=policy, sandbox_mode=sandbox, server="s", tool="t", store=ApprovalStore(), **kw).action  # type: ignore[arg-type]

    hinted, plain = decide(read_only=True), decide()
    if policy in ("on-request", "on-failure"):
        assert hinted is Action.RUN
    else:
        assert hinted is plain, "untrusted and never ignore the hint"
    assert decide(read_only=True, mode="prompt", mode_setting="x") is (Action.REJECT if policy == "never" else Action.ASK)
    assert decide(mode="approve", mode_setting="x") is Action.RUN


def _load(home: Path, toml: str) -> Any:
    (home / "config.toml").write_text(toml, encoding="utf-8")
    return load_config(cli.build_parser().parse_args([]), env={"CODELOOP_HOME": str(home)})


def test_approval_settings_are_read_with_codex_key_names(tmp_path: Path) -> None:
    rc = _load(tmp_path, """
[mcp_servers.docs]
command = "npx"
default_tools_approval_mode = "prompt"
[mcp_servers.docs.tools.search]
approval_mode = "approve"
[mcp_servers.docs.tools."read.file"]
approval_mode = "auto"
""")
    docs = rc.config.mcp_servers["docs"]
    assert docs.default_tools_approval_mode == "prompt"
    assert {k: v.approval_mode for k, v in docs.tools.items()} == {"search": "approve", "read.file": "auto"}


@pytest.mark.parametrize(("toml", "words"), [
    ('default_tools_approval_mode = "deny"', ["default_tools_approval_mode", "auto", "prompt", "approve"]),
    ('tools = { t = { approval_mode = true } }', ["approval_mode"]),
    ('tools = { t = { aproval_mode = "auto" } }', ["aproval_mode", "approval_mode"]),
])  # fmt: skip
def test_bad_approval_settings_are_a_clear_error(tmp_path: Path, toml: str, words: list[str]) -> None:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, f'[mcp_servers.docs]\ncommand = "npx"\n{toml}\n')
    assert all(w in str(err.value) for w in words), str(err.value)
