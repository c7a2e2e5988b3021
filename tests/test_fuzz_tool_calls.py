"""Property tests of tool arguments: any call, however garbled, gets a result the next request can carry.

Shared settings and strategies: tests/fuzz_support.py."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from tests.fuzz_support import FUZZ, any_str, fixed, json_value, patch_text
from tui.safety.approvals import ApprovalStore
from tui.safety.sandbox import SandboxPolicy
from tui.tools.base import ToolCall, ToolContext, ToolResult
from tui.tools.registry import ToolRouter

# ------------------------------------------------------------------------------- tool arguments
#
# Whatever the model sends as a call, the router answers with a ToolResult the next request can
# carry. Policy `never` with danger-full-access, in a fresh folder per example; the shell is only
# ever handed harmless programs (`true`, `echo`, `printf`, the apply_patch forms), so fuzzing
# the argument *shapes* can do no harm.

_HARMLESS = ["true", "echo", "printf", "apply_patch", "applypatch"]
_argv = st.builds(
    lambda program, args: [program, *args],
    st.sampled_from(_HARMLESS),
    st.lists(any_str | patch_text, max_size=2),
)
# Anything but a list of strings, which would be a command line.
_not_argv = json_value.filter(lambda v: not (isinstance(v, list) and all(isinstance(x, str) for x in v)))
_workdir = st.sampled_from([".", "sub", "/", "..", "missing", "a.txt"]) | any_str
_shell_args = st.one_of(
    st.fixed_dictionaries(
        {"command": _argv},
        optional={
            "workdir": _workdir,
            "timeout_ms": st.integers(min_value=1, max_value=2**70),
            "sandbox_permissions": st.sampled_from(["use_default", "require_escalated"]),
            "justification": any_str,
        },
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "command": _argv | _not_argv,
            "workdir": _workdir | json_value,
            "timeout_ms": st.integers(min_value=-5, max_value=2**70) | json_value,
            "sandbox_permissions": json_value,
            "justification": json_value,
            "extra": json_value,
        },
    ),
)
_plan_step = st.fixed_dictionaries(
    {"step": any_str, "status": st.sampled_from(["pending", "in_progress", "completed", "done"])}
)
_plan_args = st.one_of(
    st.fixed_dictionaries({"plan": st.lists(_plan_step, max_size=4)}, optional={"explanation": any_str}),
    st.fixed_dictionaries(
        {},
        optional={
            "plan": st.lists(_plan_step | json_value, max_size=3) | json_value,
            "explanation": json_value,
        },
    ),
)
_patch_args = st.fixed_dictionaries({"input": patch_text}) | st.fixed_dictionaries({}, optional={"input": json_value, "x": json_value})
_ARGUMENTS = {"shell": _shell_args, "update_plan": _plan_args, "apply_patch": _patch_args}


def _garbled(arguments: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[str]:
    text = arguments.map(json.dumps)
    cut_short = text.flatmap(lambda t: st.integers(0, len(t)).map(lambda cut: t[:cut]))
    not_json = st.one_of(patch_text, st.text(max_size=40), st.integers(1, 50_000).map("[".__mul__))
    return st.one_of(text, text, text, cut_short, not_json)


_tool_call = st.sampled_from(["shell", *_ARGUMENTS, "exec", ""]).flatmap(
    lambda name: st.builds(
        ToolCall,
        st.just("call_fuzz"),
        st.just(name),
        st.sampled_from(["function", "function", "custom"]),
        _garbled(_ARGUMENTS.get(name, _shell_args)),
    )
)


def _check_harmless(call: ToolCall) -> None:
    """Any command line in the payload is one of the harmless ones (belt and braces)."""
    try:
        args = json.loads(call.payload)
    except (ValueError, RecursionError):
        return
    command = args.get("command") if isinstance(args, dict) else None
    if isinstance(command, list) and command and all(isinstance(x, str) for x in command):
        assert command[0] in _HARMLESS, command


def _unencodable(text: str) -> bool:
    """A NUL, or a lone surrogate: what the OS (or a UTF-8 encoder) refuses in a path or argv."""
    return "\x00" in text or any("\ud800" <= c <= "\udfff" for c in text)


async def _dispatch(call: ToolCall, cwd: Path) -> tuple[ToolResult, list[Any]]:
    events: list[Any] = []
    ctx = ToolContext(
        cwd=cwd,
        approval_policy="never",
        sandbox=SandboxPolicy("danger-full-access"),
        tool_output_token_limit=10_000,
        approvals=ApprovalStore(),
        emit=events.append,
        interactive=False,
        default_timeout_s=10.0,
    )
    async with asyncio.timeout(30):
        result = await ToolRouter("freeform").dispatch(call, ctx)
    return result, events


def dispatch(call: ToolCall) -> tuple[ToolResult, list[Any]]:
    """The call's result and the events it emitted, run in a fresh folder."""
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder, "ws")
        (cwd / "sub").mkdir(parents=True)
        (cwd / "a.txt").write_text("alpha\n")
        return asyncio.run(_dispatch(call, cwd))


def assert_answers(call: ToolCall) -> ToolResult:
    """The call gets a ToolResult, and it and every event it emitted are valid UTF-8 text."""
    result, events = dispatch(call)
    assert isinstance(result, ToolResult) and isinstance(result.success, bool)
    result.output.encode("utf-8")  # no lone surrogates: the next request could not be sent
    for emitted in events:  # as the rollout and `exec --engine-events` write them
        json.dumps(emitted.to_json(), ensure_ascii=False).encode("utf-8")
    return result


@FUZZ
@given(call=_tool_call)
@example(call=ToolCall("call_fuzz", "shell", "function", "[" * 100_000))
@example(call=ToolCall("call_fuzz", "apply_patch", "function", json.dumps({"input": "*** Begin Patch\n*** Add File: \udcff\n+x\n*** End Patch"})))
@example(call=ToolCall("call_fuzz", "update_plan", "function", json.dumps({"plan": [{"step": "\udcff", "status": "pending"}]})))
@example(call=ToolCall("call_fuzz", "apply_patch", "custom", "*** Begin Patch\n*** Add File: \udcff/x\n+x\n*** Add File: a.txt/x\n+x\n*** End Patch"))
def test_any_tool_call_gets_a_result_the_next_request_can_carry(call: ToolCall) -> None:
    _check_harmless(call)
    result = assert_answers(call)
    event(f"{call.name or 'unknown'} ({call.kind}): {'success' if result.success else 'failure'}")


_SHELL_BUGS = {
    "nul-in-workdir": (
        {"command": ["true"], "workdir": "a\x00b"}, "handle_shell: `(cwd / workdir).resolve()` raises ValueError"
    ),
    "surrogate-in-workdir": (
        {"command": ["true"], "workdir": "\ud800"}, "handle_shell: `(cwd / workdir).resolve()` raises UnicodeEncodeError"
    ),
    "workdir-name-too-long": ({"command": ["true"], "workdir": "x" * 256}, "handle_shell: `cwd.is_dir()` raises OSError ENAMETOOLONG"),
    "nul-in-argv": (
        {"command": ["echo", "a\x00b"]}, "process.run_process: subprocess_exec raises ValueError, only OSError is caught"
    ),
    "surrogate-in-argv": (
        {"command": ["echo", "\ud800"]}, "process.run_process: subprocess_exec raises UnicodeEncodeError, only OSError is caught"
    ),
    "escaped-byte-in-argv": (
        {"command": ["echo", "\udcff"]},
        "ExecCommandBegan carries the argv as sent: `exec --json` prints a byte that is not UTF-8",
    ),
}  # fmt: skip


@pytest.mark.parametrize("arguments", fixed(_SHELL_BUGS))
def test_shell_arguments_the_os_refuses_get_a_result(arguments: dict[str, Any]) -> None:
    assert_answers(ToolCall("call_bug", "shell", "function", json.dumps(arguments)))
