"""The prompt as Codex builds it, and the prefix-cache discipline across requests."""

from __future__ import annotations

import json
from pathlib import Path

from tests.engine_support import make_session, of_type, run_turn, shell_call
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui import protocol as ev


def _texts(item: dict) -> list[str]:
    return [p["text"] for p in item["content"]]


async def test_first_request_has_the_codex_layout(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "AGENTS.md").write_text("Use tabs.\n")
    sub = tmp_path / "pkg"
    sub.mkdir()
    (sub / "AGENTS.md").write_text("Not me.\n")
    (sub / "AGENTS.override.md").write_text("Run make test.\n")
    fake_openai.queue_response(fe.turn(fe.message_item("hello")))
    from tui.engine.context import collect_agents_docs

    sess = make_session(
        fake_openai, sub, policy="on-request", sandbox="workspace-write",
        developer_instructions="Be terse.", reasoning={"effort": "high", "summary": "auto"},
        agents_text=collect_agents_docs(sub.resolve(), 32768),
    )
    events = await run_turn(sess, "fix the failing test")
    assert of_type(events, ev.TurnCompleted)[0].last_agent_message == "hello"

    [body] = fake_openai.responses_bodies()
    assert body["instructions"] == "BASE INSTRUCTIONS"
    assert body["store"] is False and body["stream"] is True
    assert body["include"] == ["reasoning.encrypted_content"]
    assert body["reasoning"] == {"effort": "high", "summary": "auto"}
    assert body["prompt_cache_key"] == sess.session_id
    assert "previous_response_id" not in body
    assert body["parallel_tool_calls"] is True
    assert [t["name"] for t in body["tools"]] == ["shell", "apply_patch", "update_plan"]

    dev, ctx, user = body["input"]
    assert dev["role"] == "developer"
    perms, dev_instr = _texts(dev)
    assert perms.startswith("<permissions instructions>") and "workspace-write" in perms
    assert "on-request" in perms and "Network access is restricted" in perms
    assert dev_instr == "Be terse."
    assert ctx["role"] == "user"
    agents, env = _texts(ctx)
    # Root first, then the folder itself, where the override wins over AGENTS.md.
    assert agents.index("Use tabs.") < agents.index("Run make test.") and "Not me." not in agents
    assert env.startswith("<environment_context>") and f"<cwd>{sub.resolve()}</cwd>" in env
    assert "<current_date>" in env and "<shell>" in env
    assert user == {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "fix the failing test"}]}


async def test_agents_docs_are_capped(tmp_path: Path) -> None:
    from tui.engine.context import collect_agents_docs

    (tmp_path / "AGENTS.md").write_text("x" * 1000)
    assert len(collect_agents_docs(tmp_path, 100) or "") == 100
    assert collect_agents_docs(tmp_path, 0) is None


async def test_each_request_is_the_previous_plus_new_items(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    steps = 12
    for i in range(steps):
        fake_openai.queue_response(
            fe.turn(fe.reasoning_item(f"step {i}"), shell_call(f"call_{i}", ["echo", f"out{i}"]))
        )
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    fake_openai.queue_response(fe.turn(fe.message_item("second turn")))
    sess = make_session(fake_openai, tmp_path)
    await run_turn(sess, "first")
    await run_turn(sess, "again")

    bodies = fake_openai.responses_bodies()
    assert len(bodies) == steps + 2
    raw = [r.raw for r in fake_openai.requests if r.path == "/v1/responses"]
    tools_bytes = {json.dumps(b["tools"], sort_keys=False) for b in bodies}
    assert len(tools_bytes) == 1, "tools must be identical on every request"
    for prev, nxt in zip(bodies, bodies[1:]):
        assert nxt["input"][: len(prev["input"])] == prev["input"], "history was rewritten"
        assert len(nxt["input"]) > len(prev["input"])
        for key in ("instructions", "tools", "prompt_cache_key", "model"):
            assert nxt[key] == prev[key]
    # Byte level: the serialised tools block is the same substring of every raw body.
    first_tools = json.dumps(bodies[0]["tools"], separators=(",", ":"))
    assert all(first_tools.encode() in r or json.dumps(bodies[0]["tools"]).encode() in r for r in raw)
    # Reasoning items are replayed with their encrypted content, without ids.
    reasoning = [i for i in bodies[-1]["input"] if i["type"] == "reasoning"]
    assert len(reasoning) == steps and all("encrypted_content" in r and "id" not in r for r in reasoning)


async def test_settings_change_is_appended_not_rewritten(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(fe.message_item("one")))
    fake_openai.queue_response(fe.turn(fe.message_item("two")))
    fake_openai.queue_response(fe.turn(fe.message_item("three")))
    sess = make_session(fake_openai, tmp_path, policy="untrusted", sandbox="workspace-write")
    await run_turn(sess, "first")
    other = tmp_path / "sub"
    other.mkdir()
    await sess.submit(ev.OverrideSettings(model="gpt-5.5", approval_policy="on-request", cwd=str(other)))
    await run_turn(sess, "second")
    await run_turn(sess, "third")  # nothing changed: no new context messages

    b1, b2, b3 = fake_openai.responses_bodies()
    assert b2["input"][: len(b1["input"])] == b1["input"]
    new = b2["input"][len(b1["input"]):]
    assert [i.get("role") for i in new] == ["assistant", "developer", "user", "user"]
    dev_texts = _texts(new[1])
    assert "<model_switch>" in dev_texts[0] and "gpt-5.5" in dev_texts[0]
    assert "on-request" in dev_texts[1]
    assert f"<cwd>{other.resolve()}</cwd>" in _texts(new[2])[0]
    assert b2["model"] == "gpt-5.5" and b2["prompt_cache_key"] == b1["prompt_cache_key"]
    assert b2["instructions"] == b1["instructions"]
    added = b3["input"][len(b2["input"]):]
    assert [i.get("role") for i in added] == ["assistant", "user"]
