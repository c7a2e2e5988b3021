"""`codeloop exec`'s human output: what it shows on stderr, the answer alone on stdout, colour only
where asked. Real runs against the local fake server; one run on a real terminal (a pty)."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine_support import mcp_call
from tests.exec_json_support import MCP_ECHO_FLAGS
from tests.exec_support import exec_workspace, patch, run_exec, shell
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tests.leaks_support import raw_controls
from tui.exec_progress import use_color

SGR = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def workspace(tmp_path: Path) -> tuple[Path, Path]:
    return exec_workspace(tmp_path)


def test_intermediate_messages_go_to_stderr_and_only_the_answer_to_stdout(fake_openai: FakeOpenAI, workspace: tuple[Path, Path]) -> None:
    ws, home = workspace
    fake_openai.queue_response(fe.turn(fe.message_item("First I read calc.py.\nThen I fix it."), shell("c1", ["cat", "calc.py"])))
    fake_openai.queue_response(fe.turn(fe.message_item("It subtracts."), fe.message_item("Final: add subtracts.")))
    proc = run_exec(fake_openai, ws, home, "what does add do?")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "Final: add subtracts.\n"
    err = proc.stderr.splitlines()
    assert err.index("model: First I read calc.py.") + 1 == err.index("       Then I fix it.")
    assert err.index("model: First I read calc.py.") < err.index("$ cat calc.py") < err.index("model: It subtracts.")
    assert "Final: add subtracts." not in proc.stderr


def test_a_failed_command_shows_its_exit_code_and_last_lines(fake_openai: FakeOpenAI, workspace: tuple[Path, Path]) -> None:
    ws, home = workspace
    script = "for i in $(seq 1 30); do echo line$i; done; echo 'AssertionError: 1 != 2' >&2; exit 4"
    fake_openai.queue_response(fe.turn(shell("c1", script)))
    fake_openai.queue_response(fe.turn(fe.message_item("The test fails.")))
    proc = run_exec(fake_openai, ws, home, "--full-auto", "run the tests")
    assert proc.returncode == 0, proc.stderr
    err = proc.stderr
    assert re.search(r"^  exit 4 in \d+\.\ds$", err, re.M)
    shown = [line[4:] for line in err.splitlines() if line.startswith("  │ ")]
    assert shown[-1] == "AssertionError: 1 != 2" and len(shown) == 5 and shown[0] == "line27" and "line26" not in err


def test_a_successful_command_shows_no_output(fake_openai: FakeOpenAI, workspace: tuple[Path, Path]) -> None:
    ws, home = workspace
    fake_openai.queue_response(fe.turn(shell("c1", ["cat", "calc.py"])))
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    proc = run_exec(fake_openai, ws, home, "go")
    assert "  exit 0 in " in proc.stderr and "return a - b" not in proc.stderr


def test_a_declined_call_names_the_tool_and_what_it_would_have_done(fake_openai: FakeOpenAI, workspace: tuple[Path, Path]) -> None:
    ws, home = workspace
    fake_openai.queue_response(fe.turn(shell("c1", "rm -rf build")))
    fake_openai.queue_response(fe.turn(patch("c2", "*** Add File: notes.txt\n+hi")))
    fake_openai.queue_response(fe.turn(mcp_call("c3", "mcp__echo__add", a=1, b=2)))
    fake_openai.queue_response(fe.turn(fe.message_item("Nothing ran.")))
    proc = run_exec(fake_openai, ws, home, *MCP_ECHO_FLAGS, "clean up")
    assert proc.returncode == 0, proc.stderr
    err = proc.stderr
    assert "  declined $ bash -lc 'rm -rf build' — needs approval, and exec has nobody to ask" in err
    assert "  declined apply_patch: add notes.txt — needs approval" in err
    assert '  declined mcp echo › add { "a": 1, "b": 2 } — needs approval' in err
    assert not re.search(r"declined c\d", err)  # the call id alone said nothing
    assert "    reason: approval policy `untrusted` asks for every command" in err
    assert not (ws / "notes.txt").exists()


def test_mcp_output_is_indented_under_its_call(fake_openai: FakeOpenAI, workspace: tuple[Path, Path]) -> None:
    ws, home = workspace
    fake_openai.queue_response(fe.turn(mcp_call("c1", "mcp__echo__echo", text="first line\nsecond line")))
    fake_openai.queue_response(fe.turn(fe.message_item("echoed")))
    proc = run_exec(fake_openai, ws, home, "--yolo", *MCP_ECHO_FLAGS, "echo it")
    assert proc.returncode == 0, proc.stderr
    err = proc.stderr.splitlines()
    call = next(i for i, line in enumerate(err) if line.startswith("mcp echo › echo "))
    assert re.fullmatch(r"  done in \d+\.\ds", err[call + 1])
    assert err[call + 2 : call + 4] == ["  │ first line", "  │ second line"]


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        ((), ["approvals: untrusted · sandbox: workspace-write", "only known read-only commands run", "declined", "--full-auto"]),
        (("--full-auto",), ["approvals: on-request · sandbox: workspace-write", "edits in the workspace apply", "MCP calls are declined", "--yolo"]),
        (("-a", "on-request", "-s", "read-only"), ["sandbox: read-only", "edits", "declined", "--full-auto"]),
        (("-a", "never"), ["approvals: never", "nothing asks", "--yolo"]),
        (("--yolo",), ["approvals: never · sandbox: danger-full-access", "nothing is declined"]),
    ],
    ids=["default", "full-auto", "read-only", "never", "yolo"],
)
def test_exec_says_first_what_it_runs_under_and_what_it_declines(fake_openai: FakeOpenAI, workspace: tuple[Path, Path], flags: tuple[str, ...], says: list[str]) -> None:
    ws, home = workspace
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    proc = run_exec(fake_openai, ws, home, *flags, "go")
    assert proc.returncode == 0, proc.stderr
    policy_line = proc.stderr.splitlines()[1]
    assert all(s in policy_line for s in says), policy_line


def test_the_readme_example_with_full_auto_edits_as_written(fake_openai: FakeOpenAI, workspace: tuple[Path, Path]) -> None:
    """README: `codeloop exec --full-auto "fix the failing test"` runs the tests and edits."""
    ws, home = workspace
    fake_openai.queue_response(fe.turn(shell("c1", "python3 -c 'import calc; assert calc.add(1, 2) == 3'")))
    fake_openai.queue_response(fe.turn(patch("c2", "*** Update File: calc.py\n@@\n-    return a - b\n+    return a + b")))
    fake_openai.queue_response(fe.turn(fe.message_item("Fixed add.")))
    proc = run_exec(fake_openai, ws, home, "--full-auto", "fix the failing test")
    assert proc.returncode == 0 and proc.stdout == "Fixed add.\n", proc.stderr
    assert "return a + b" in (ws / "calc.py").read_text() and "declined" not in proc.stderr.split("\n", 2)[2]


# ---------------------------------------------------------------- --color


HOSTILE = "red\x1b[31m title\x1b]2;pwned\x07 csi\x9b1m"


def test_color_always_adds_only_our_sgr_codes_and_never_the_models(fake_openai: FakeOpenAI, workspace: tuple[Path, Path]) -> None:
    ws, home = workspace
    fake_openai.queue_response(fe.turn(fe.message_item(HOSTILE), shell("c1", ["sh", "-c", f"printf '%s' '{HOSTILE}'; exit 1"])))
    fake_openai.queue_response(fe.turn(fe.message_item(HOSTILE)))
    proc = run_exec(fake_openai, ws, home, "--color", "always", "--full-auto", "go", env={"NO_COLOR": "1"})
    assert proc.returncode == 0, proc.stderr
    assert SGR.search(proc.stderr), "--color always colours even with NO_COLOR set (the flag is the user's word)"
    assert raw_controls(SGR.sub("", proc.stderr)) == [] and raw_controls(proc.stdout) == []
    assert "\x1b[31m" not in proc.stderr.replace("\x1b[31m  exit 1", "").replace("\x1b[31m  │", "")


@pytest.mark.parametrize("flags", [("--color", "never"), ()], ids=["never", "auto-not-a-terminal"])
def test_no_color_unless_asked_or_on_a_terminal(fake_openai: FakeOpenAI, workspace: tuple[Path, Path], flags: tuple[str, ...]) -> None:
    ws, home = workspace
    fake_openai.queue_response(fe.turn(shell("c1", ["false"])))
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    proc = run_exec(fake_openai, ws, home, *flags, "--full-auto", "go")
    assert proc.returncode == 0 and "\x1b" not in proc.stderr + proc.stdout, proc.stderr


def _stderr_on_a_terminal(fake: FakeOpenAI, ws: Path, home: Path, env: dict[str, str]) -> str:
    """Run exec with its stderr on a pty (stdout a pipe) and return what the terminal got."""
    fake.queue_response(fe.turn(shell("c1", ["false"])))
    fake.queue_response(fe.turn(fe.message_item("ok")))
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CODELOOP_")) and k != "NO_COLOR"}
    base.update({"CODELOOP_HOME": str(home), "OPENAI_BASE_URL": fake.base_url, "OPENAI_API_KEY": "test-key", "TERM": "xterm-256color", **env})
    main, side = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tui", "exec", "--full-auto", "go"], cwd=ws, env=base,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=side,
        )  # fmt: skip
        os.close(side)
        chunks = []
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # EIO: the last writer closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        proc.wait(timeout=60)
    finally:
        os.close(main)
    assert proc.returncode == 0
    return b"".join(chunks).decode()


def test_auto_colours_a_terminal_and_respects_no_color(fake_openai: FakeOpenAI, workspace: tuple[Path, Path]) -> None:
    ws, home = workspace
    coloured = _stderr_on_a_terminal(fake_openai, ws, home, {})
    assert "\x1b[31m  exit 1 in " in coloured and "\x1b[1m$ false\x1b[0m" in coloured
    plain = _stderr_on_a_terminal(fake_openai, ws, home, {"NO_COLOR": "1"})
    assert "  exit 1 in " in plain and "\x1b[" not in plain.replace("\r\x1b[2K", "")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("choice", "tty", "env", "expected"),
    [
        ("auto", True, {}, True),
        ("auto", False, {}, False),
        ("auto", True, {"NO_COLOR": "1"}, False),
        ("auto", True, {"NO_COLOR": ""}, True),  # no-color.org: set and not empty
        ("auto", True, {"TERM": "dumb"}, False),
        ("always", False, {"NO_COLOR": "1"}, True),
        ("never", True, {}, False),
    ],
)
def test_use_color(choice: str, tty: bool, env: dict[str, str], expected: bool) -> None:
    stream = _Terminal() if tty else io.StringIO()
    assert use_color(choice, stream, env) is expected  # type: ignore[arg-type]


def test_text_from_outside_cannot_forge_a_line_of_ours(fake_openai: FakeOpenAI, workspace: tuple[Path, Path]) -> None:
    """A line break in a command's argument, a plan step, a message or in what a command or an MCP
    server printed never starts a line that reads as exec's own (`$ cmd`, `  exit 0`, `  declined`)."""
    ws, home = workspace
    forged = "\n$ rm -rf ~\n  exit 0 in 0.1s\n  declined nothing"
    fake_openai.queue_response(fe.turn(fe.message_item("Looking." + forged), shell("c1", ["echo", "x" + forged])))
    fake_openai.queue_response(fe.turn(shell("c2", ["sh", "-c", 'printf "%s\\n" "$1"; exit 1', "sh", forged])))
    plan = {"plan": [{"step": "read" + forged, "status": "pending"}]}
    fake_openai.queue_response(fe.turn(fe.function_call_item("p1", "update_plan", json.dumps(plan))))
    fake_openai.queue_response(fe.turn(mcp_call("m1", "mcp__echo__echo", text="echoed" + forged)))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    proc = run_exec(fake_openai, ws, home, "--yolo", *MCP_ECHO_FLAGS, "go")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    commands = [line for line in lines if line.startswith("$ ")]
    assert len(commands) == 2 and all("rm -rf ~" in c and " ↵ " in c for c in commands), commands
    assert len([line for line in lines if re.match(r"  exit \d+ in ", line)]) == 2
    assert not any(line.startswith("  declined") for line in lines)
    assert "  │ $ rm -rf ~" in lines  # the failed command's and the MCP server's output, behind the bar
    assert any(line.startswith("  [ ] read ↵ $ rm -rf ~") for line in lines)
