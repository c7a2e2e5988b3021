"""`codeloop --demo` without the UI: the scripted model driving the real engine, real bwrap, real files."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.engine_support import collect, of_type, run_turn
from tui import protocol as ev
from tui.demo import DEMO_API_KEY, DEMO_MODEL, DEMO_PROMPT, DemoModel, prepare_workspace
from tui.engine.context import TurnSettings
from tui.engine.options import SessionOptions
from tui.engine.session import Session
from tui.model.responses import ResponsesClient
from tui.safety.sandbox import SandboxPolicy
from tui.tools.registry import ToolRouter
from tui.tools.specs import prompt_text

BUGGY = "return text.count(\" \") + 1"
FIXED = "return len(text.split())"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return prepare_workspace(tmp_path)


@pytest.fixture
def fast_model() -> Iterator[DemoModel]:
    with DemoModel(frame_delay_s=0) as model:
        yield model


def demo_session(model: DemoModel, workspace: Path, **options: Any) -> Session:
    # What `codeloop --demo` runs: the default policy and sandbox, the real base instructions.
    return Session(
        client=ResponsesClient(base_url=model.server.base_url, api_key=DEMO_API_KEY, request_max_retries=0),
        settings=TurnSettings(DEMO_MODEL, "untrusted", SandboxPolicy("workspace-write"), workspace),
        instructions=prompt_text("base_instructions.md"),
        tools=ToolRouter("freeform"),
        options=SessionOptions(reasoning={"effort": "medium", "summary": "auto"}, **options),
    )


def approve_all(request: ev.ApprovalRequested) -> ev.ReviewDecision:
    return ev.ReviewDecision.APPROVED


def deny_patches(request: ev.ApprovalRequested) -> ev.ReviewDecision:
    return ev.ReviewDecision.DENIED if request.kind == "patch" else ev.ReviewDecision.APPROVED


def core_py(workspace: Path) -> str:
    return (workspace / "textstats" / "core.py").read_text(encoding="utf-8")


async def test_demo_turn_plans_asks_fixes_the_bug_and_reports_in_markdown(workspace: Path) -> None:
    with DemoModel() as model:  # the real pacing, as a newcomer sees it
        sess = demo_session(model, workspace)
        events = await run_turn(sess, DEMO_PROMPT, approve=approve_all)
        await sess.submit(ev.Shutdown())

    done = events[-1]
    assert isinstance(done, ev.TurnCompleted), events[-3:]

    plans = of_type(events, ev.PlanUpdated)
    assert len(plans) >= 2 and len(plans[0].plan) == 3
    assert [s.status for s in plans[-1].plan] == ["completed"] * 3

    approvals = of_type(events, ev.ApprovalRequested)
    patch_asks = [a for a in approvals if a.kind == "patch"]
    assert len(patch_asks) == 1 and patch_asks[0].changes
    assert FIXED in patch_asks[0].changes[0].diff
    assert FIXED in core_py(workspace) and BUGGY not in core_py(workspace)

    ended = of_type(events, ev.ToolCallEnded)
    test_runs = [e for e in ended if e.call_id in ("call_demo_tests", "call_demo_retest")]
    assert [e.output.splitlines()[0] for e in test_runs] == ["Exit code: 1", "Exit code: 0"]
    assert "AssertionError" in test_runs[0].output and "\nOK" in test_runs[1].output

    final = done.last_agent_message or ""
    assert final.startswith("## ") and "\n- " in final and "```python" in final
    assert "scripted demo" in final and "Ran 6 tests" in final
    assert len(of_type(events, ev.AgentMessageDelta)) > 50  # streamed in small pieces, not in one go

    usage = of_type(events, ev.TokenUsage)
    assert len(usage) == len(model.server.responses_bodies())
    assert usage[0].cached_input_tokens == 0
    assert all(u.cached_input_tokens > 0.6 * u.input_tokens for u in usage[1:])
    assert all(b.input_tokens < a.input_tokens for b, a in zip(usage, usage[1:]))
    assert sum(u.reasoning_tokens for u in usage) > 0


async def test_denied_patch_leaves_the_file_alone_and_is_acknowledged(
    workspace: Path, fast_model: DemoModel
) -> None:
    before = core_py(workspace)
    sess = demo_session(fast_model, workspace)

    events = await run_turn(sess, DEMO_PROMPT, approve=deny_patches)

    done = events[-1]
    assert isinstance(done, ev.TurnCompleted), events[-3:]
    assert core_py(workspace) == before
    assert not of_type(events, ev.PatchApplyBegan)
    assert "left `textstats/core.py` as it was" in (done.last_agent_message or "")
    assert "scripted demo" in (done.last_agent_message or "")
    # The script stopped there: the tests were not run a second time.
    assert [e.call_id for e in of_type(events, ev.ExecCommandEnded)] == ["call_demo_read", "call_demo_tests"]


async def test_a_later_message_gets_the_canned_demo_answer(workspace: Path, fast_model: DemoModel) -> None:
    sess = demo_session(fast_model, workspace)
    await run_turn(sess, DEMO_PROMPT, approve=deny_patches)

    await sess.submit(ev.UserInput("Now add a sentence_count function."))
    events = await collect(sess)

    done = events[-1]
    assert isinstance(done, ev.TurnCompleted)
    assert not of_type(events, ev.ToolCallProposed)
    assert "scripted demo" in (done.last_agent_message or "")


def test_workspace_is_a_committed_copy_of_the_sample_with_a_failing_test(workspace: Path) -> None:
    assert (workspace / "AGENTS.md").is_file() and (workspace / "tests" / "test_textstats.py").is_file()
    assert BUGGY in core_py(workspace)
    log = subprocess.run(["git", "log", "--oneline"], cwd=workspace, capture_output=True, text=True, check=True)
    assert len(log.stdout.splitlines()) == 1
    status = subprocess.run(["git", "status", "--porcelain"], cwd=workspace, capture_output=True, text=True)
    assert status.stdout == ""
    tests = subprocess.run([sys.executable, "-m", "unittest"], cwd=workspace, capture_output=True, text=True)
    assert tests.returncode == 1 and "FAILED (failures=2)" in tests.stderr


def test_each_workspace_is_fresh(tmp_path: Path) -> None:
    assert prepare_workspace(tmp_path) != prepare_workspace(tmp_path)


def test_normal_start_path_does_not_load_the_fake_server() -> None:
    code = (
        "import sys, tui.cli, tui.app.run, tui.engine.bootstrap, tui.exec_cmd\n"
        "assert not [m for m in sys.modules if m.startswith(('tui.fakeserver', 'tui.demo'))], sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])


async def test_with_the_demo_window_a_compaction_happens_and_the_fix_still_lands(workspace: Path, fast_model: DemoModel) -> None:
    from tui.demo.script import DEMO_CONTEXT_WINDOW
    from tui.engine.models import auto_compact_limit

    sess = demo_session(
        fast_model, workspace, context_window=DEMO_CONTEXT_WINDOW,
        auto_compact_limit=auto_compact_limit(DEMO_MODEL, None, DEMO_CONTEXT_WINDOW),
    )
    events = await run_turn(sess, DEMO_PROMPT, approve_all, timeout=60)
    [done] = of_type(events, ev.CompactionDone)
    assert done.method == "remote" and done.after_tokens < done.before_tokens
    assert FIXED in core_py(workspace)
    final = of_type(events, ev.TurnCompleted)[0].last_agent_message or ""
    assert "OK" in final, "the answer still reports the second test run, read from the compaction state"
    assert sess.history[0]["content"][0]["text"] == DEMO_PROMPT, "the user's request survives verbatim"
