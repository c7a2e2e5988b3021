"""MCP tools as the model sees them (names, schemas, results), their config and approval rules.

No server process here: see test_mcp_engine.py for the real one.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from types import SimpleNamespace as NS

import pytest

from tui import cli
from tui.config import ConfigError, McpServerConfig, load_config
from tui.fakeserver.validate import validate_responses
from tui.safety.approvals import Action, ApprovalStore, assess_mcp
from tui.tools.mcp_specs import (
    MAX_NAME_LEN,
    qualified_names,
    result_text,
    sanitize_schema,
    tool_spec,
)

API_NAME = r"^[a-zA-Z0-9_-]{1,64}$"


# --- names ------------------------------------------------------------------------------------


def test_names_are_prefixed_with_the_server_and_kept_when_already_valid() -> None:
    names = qualified_names([("echo", "add"), ("git-hub", "list_issues")])
    assert names == {("echo", "add"): "mcp__echo__add", ("git-hub", "list_issues"): "mcp__git-hub__list_issues"}


def test_characters_the_api_refuses_become_underscores() -> None:
    assert qualified_names([("fs", "read.file/v2 ü")])[("fs", "read.file/v2 ü")] == "mcp__fs__read_file_v2__"


def test_long_names_are_cut_to_64_with_a_stable_hash_and_stay_unique() -> None:
    long_a = "x" * 80 + "_alpha"
    long_b = "x" * 80 + "_beta"
    first = qualified_names([("srv", long_a), ("srv", long_b)])
    again = qualified_names([("srv", long_b), ("srv", long_a)])  # another listing order
    assert first == again
    a, b = first[("srv", long_a)], first[("srv", long_b)]
    assert a != b
    for name in (a, b):
        assert len(name) == MAX_NAME_LEN
        assert name.startswith("mcp__srv__xxxx")
        assert re.fullmatch(API_NAME, name)


def test_names_that_clash_after_sanitising_are_told_apart_whatever_the_order() -> None:
    pairs = [("s", "a.b"), ("s", "a_b"), ("s", "a b")]
    names = qualified_names(pairs)
    assert qualified_names(list(reversed(pairs))) == names
    assert len(set(names.values())) == 3
    assert names[("s", "a b")] == "mcp__s__a_b"  # first in sorted raw order keeps the plain name
    assert all(len(n) <= MAX_NAME_LEN for n in names.values())


def test_a_name_of_exactly_64_characters_is_not_changed() -> None:
    tool = "t" * (64 - len("mcp__s__"))
    assert qualified_names([("s", tool)])[("s", tool)] == f"mcp__s__{tool}"


# --- schemas ----------------------------------------------------------------------------------


def test_a_plain_object_schema_is_passed_on_unchanged() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"], "title": "T"}
    assert sanitize_schema(schema) == schema
    assert sanitize_schema(schema) is not schema  # a copy: the server's object is left alone


@pytest.mark.parametrize(
    "schema",
    [None, {}, {"properties": {"a": {"type": "string"}}}, {"type": "string"}, {"anyOf": [{"type": "object"}]}, [1, 2]],
)
def test_the_top_level_is_always_an_object_with_properties(schema: object) -> None:
    out = sanitize_schema(schema)
    assert out["type"] == "object" and isinstance(out["properties"], dict)
    assert "anyOf" not in out


def test_arrays_without_items_get_items_at_any_depth() -> None:
    schema = {
        "type": "object",
        "properties": {
            "tags": {"type": "array"},
            "nested": {"type": "object", "properties": {"more": {"type": ["array", "null"]}}},
            "either": {"anyOf": [{"type": "array"}, {"type": "string"}]},
            "typed": {"type": "array", "items": {"type": "integer"}},
        },
    }
    out = sanitize_schema(schema)
    assert out["properties"]["tags"]["items"] == {"type": "string"}
    assert out["properties"]["nested"]["properties"]["more"]["items"] == {"type": "string"}
    assert out["properties"]["either"]["anyOf"][0]["items"] == {"type": "string"}
    assert out["properties"]["typed"]["items"] == {"type": "integer"}
    assert "items" not in schema["properties"]["tags"], "the input is not modified"


def test_boolean_subschemas_become_objects() -> None:
    out = sanitize_schema({"type": "object", "properties": {"any": True, "none": False}, "additionalProperties": False})
    assert out["properties"] == {"any": {}, "none": {"not": {}}}
    assert out["additionalProperties"] is False


def test_spec_is_a_non_strict_function_in_the_builtin_key_order() -> None:
    spec = tool_spec("mcp__s__t", None, {"type": "object", "properties": {}})
    assert list(spec) == ["type", "name", "description", "strict", "parameters"]
    assert spec["strict"] is False and spec["description"] == ""


@pytest.mark.parametrize(
    "schema",
    [{"type": "string"}, {"properties": {"a": {"type": "string"}}}, {"type": "object", "properties": {"t": {"type": "array"}}}],
)
def test_the_fake_server_refuses_what_the_sanitiser_repairs(schema: dict) -> None:
    body = {"model": "m", "input": "x", "tools": [{"type": "function", "name": "f", "parameters": schema}]}
    refusal = validate_responses(body)
    assert refusal is not None and refusal.code == "invalid_function_parameters", refusal
    body["tools"][0]["parameters"] = sanitize_schema(schema)
    assert validate_responses(body) is None


def test_the_fake_server_accepts_long_mcp_names_within_the_api_pattern() -> None:
    names = qualified_names([("server", "a" * 100), ("server", "b")])
    tools = [tool_spec(n, "d", {"type": "object"}) for n in names.values()]
    assert validate_responses({"model": "m", "input": "x", "tools": tools}) is None
    tools.append(tool_spec("mcp__server__bad.name", "d", {"type": "object"}))
    assert validate_responses({"model": "m", "input": "x", "tools": tools}) is not None


# --- results ----------------------------------------------------------------------------------


def _text(t: str) -> NS:
    return NS(type="text", text=t)


def test_text_blocks_are_joined_by_newlines() -> None:
    assert result_text(NS(content=[_text("a"), _text("b")], structured_content=None, is_error=False)) == ("a\nb", True)


def test_images_become_a_note_with_type_and_size() -> None:
    data = base64.b64encode(b"x" * 1001).decode()
    block = NS(type="image", data=data, mime_type="image/png")
    assert result_text(NS(content=[_text("see:"), block], structured_content=None, is_error=False)) == (
        "see:\n[image: image/png, 1001 bytes]", True
    )


def test_other_blocks_are_described() -> None:
    resource_text = NS(type="resource", resource=NS(uri="file:///a", text="contents"))
    resource_blob = NS(type="resource", resource=NS(uri="file:///b", mime_type="application/pdf", blob=base64.b64encode(b"12").decode()))
    link = NS(type="resource_link", uri="file:///c")
    text, ok = result_text(NS(content=[resource_text, resource_blob, link], structured_content=None, is_error=False))
    assert ok and text == "contents\n[resource: file:///b, application/pdf, 2 bytes]\n[resource link: file:///c]"


def test_structured_content_is_used_when_there_is_no_content() -> None:
    assert result_text(NS(content=[], structured_content={"n": 3}, is_error=False)) == ('{"n": 3}', True)


def test_an_error_result_is_a_failure_that_says_why() -> None:
    text, ok = result_text(NS(content=[_text("disk full")], structured_content=None, is_error=True))
    assert not ok and "error" in text and "disk full" in text


# --- approval rules ---------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["untrusted", "on-request", "on-failure", "never"])
@pytest.mark.parametrize("sandbox", ["read-only", "workspace-write", "danger-full-access"])
def test_mcp_calls_are_judged_like_writes_outside_the_workspace(policy: str, sandbox: str) -> None:
    verdict = assess_mcp(policy=policy, sandbox_mode=sandbox, server="s", tool="t", store=ApprovalStore())  # type: ignore[arg-type]
    unconfined = sandbox == "danger-full-access"
    if policy == "never":
        want = Action.RUN if unconfined else Action.REJECT
    elif policy == "untrusted":
        want = Action.ASK
    else:
        want = Action.RUN if unconfined else Action.ASK
    assert verdict.action is want, verdict


def test_a_tool_approved_for_the_session_runs_without_asking_but_not_its_neighbours() -> None:
    store = ApprovalStore()
    store.approve_mcp_tool("s", "t")
    assert assess_mcp(policy="untrusted", sandbox_mode="workspace-write", server="s", tool="t", store=store).action is Action.RUN
    assert assess_mcp(policy="untrusted", sandbox_mode="workspace-write", server="s", tool="u", store=store).action is Action.ASK
    assert assess_mcp(policy="untrusted", sandbox_mode="workspace-write", server="o", tool="t", store=store).action is Action.ASK
    assert assess_mcp(policy="never", sandbox_mode="workspace-write", server="s", tool="t", store=store).action is Action.REJECT


# --- config -----------------------------------------------------------------------------------


def _load(home: Path, toml: str, *argv: str):  # type: ignore[no-untyped-def]
    (home / "config.toml").write_text(toml, encoding="utf-8")
    return load_config(cli.build_parser().parse_args(list(argv)), env={"CODELOOP_HOME": str(home)})


def test_mcp_server_config_is_read_with_codex_key_names_and_defaults(tmp_path: Path) -> None:
    rc = _load(tmp_path, """
[mcp_servers.docs]
command = "npx"
args = ["-y", "docs-server"]
env = { DOCS_TOKEN = "t" }
cwd = "servers"
tool_timeout_sec = 2.5
disabled_tools = ["delete"]

[mcp_servers.off]
command = "x"
enabled = false
startup_timeout_sec = 3
""")
    docs = rc.config.mcp_servers["docs"]
    assert (docs.command, docs.args, docs.env) == ("npx", ["-y", "docs-server"], {"DOCS_TOKEN": "t"})
    assert docs.cwd == tmp_path / "servers", "relative to the config file's folder"
    assert (docs.startup_timeout_sec, docs.tool_timeout_sec) == (10, 2.5)
    assert (docs.enabled_tools, docs.disabled_tools, docs.enabled) == (None, ["delete"], True)
    off = rc.config.mcp_servers["off"]
    assert off.enabled is False and off.startup_timeout_sec == 3


def test_every_mcp_server_field_has_a_description() -> None:
    assert [name for name, f in McpServerConfig.model_fields.items() if not f.description] == []


def test_a_server_can_be_added_with_c_overrides(tmp_path: Path) -> None:
    rc = _load(tmp_path, "", "-c", 'mcp_servers.echo.command="python3"', "-c", 'mcp_servers.echo.args=["s.py"]')
    assert rc.config.mcp_servers["echo"].args == ["s.py"]


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ('[mcp_servers.s]\ncommand = "x"\nargs = "a b"', "mcp_servers.s.args: expected an array"),
        ('[mcp_servers.s]\ncommand = "x"\nenv = { A = 1 }', "mcp_servers.s.env.A: expected a string"),
        ('[mcp_servers.s]\ncommand = "x"\nstartup_timeout_sec = "10"', "mcp_servers.s.startup_timeout_sec: expected a number"),
        ('[mcp_servers.s]\ncommand = "x"\ntool_timeout_sec = 0', "mcp_servers.s.tool_timeout_sec: must be greater than 0"),
        ('[mcp_servers.s]\ncommand = "x"\nenabled = "yes"', "mcp_servers.s.enabled: expected true or false"),
        ('[mcp_servers.s]\ncommand = "x"\nenabled_tools = "echo"', "mcp_servers.s.enabled_tools: expected an array"),
        ('[mcp_servers.s]\ncommand = "x"\ntimeout = 5', "unknown key 'mcp_servers.s.timeout'"),
        ('[mcp_servers."my server"]\ncommand = "x"', "the server name 'my server' may only use"),
        ("mcp_servers = 3", "mcp_servers: expected a table"),
    ],
)
def test_bad_mcp_config_names_the_key(tmp_path: Path, toml: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, toml + "\n")
    message = str(info.value)
    assert needle in message, message
    assert str(tmp_path / "config.toml") in message and "\n" not in message
