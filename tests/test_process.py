from __future__ import annotations

import asyncio
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from tui.tools.process import (
    ExecResult,
    format_exec_output,
    run_process,
    shell_environment,
)


def _alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in ("Z", "X")


async def _wait_gone(pid: int, within_s: float = 10.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        await asyncio.sleep(0.05)
    return False


async def test_exit_code_of_the_command_is_reported(tmp_path: Path) -> None:
    result = await run_process(["sh", "-c", "exit 3"], cwd=tmp_path)
    assert result.exit_code == 3
    assert not result.timed_out


async def test_process_killed_by_a_signal_reports_minus_the_signal(tmp_path: Path) -> None:
    result = await run_process(["sh", "-c", "kill -TERM $$"], cwd=tmp_path)
    assert result.exit_code == -15


async def test_stdout_and_stderr_are_combined_in_arrival_order(tmp_path: Path) -> None:
    script = "echo out1; echo err1 >&2; echo out2; echo err2 >&2"
    result = await run_process(["sh", "-c", script], cwd=tmp_path)
    assert result.output == "out1\nerr1\nout2\nerr2\n"
    assert result.exit_code == 0
    assert result.duration_s >= 0


async def test_command_runs_in_cwd_with_given_env(tmp_path: Path) -> None:
    result = await run_process(
        ["sh", "-c", 'pwd; echo "$ONLY_THIS"'], cwd=tmp_path, env={"ONLY_THIS": "yes", "PATH": "/usr/bin:/bin"}
    )
    assert result.output == f"{tmp_path}\nyes\n"


async def test_timeout_kills_the_whole_process_group_including_grandchildren(tmp_path: Path) -> None:
    result = await run_process(
        ["bash", "-c", "sleep 100 & echo $!; echo $$; sleep 100"], cwd=tmp_path, timeout_s=1.0
    )
    assert result.timed_out
    assert result.exit_code == 124
    grandchild, shell = (int(line) for line in result.output.split())
    assert await _wait_gone(grandchild)
    assert await _wait_gone(shell)
    assert result.duration_s < 60


async def test_cancellation_kills_the_process_group_and_reraises(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    script = f"sleep 100 & echo $! $$ > {pidfile}; sleep 100"
    task = asyncio.create_task(run_process(["bash", "-c", script], cwd=tmp_path))
    deadline = time.monotonic() + 30
    while not (pidfile.exists() and pidfile.read_text().strip()):
        assert time.monotonic() < deadline, "command never started"
        await asyncio.sleep(0.05)
    grandchild, shell = (int(pid) for pid in pidfile.read_text().split())

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _wait_gone(grandchild)
    assert await _wait_gone(shell)


async def test_background_child_holding_the_pipe_does_not_hang_the_call(tmp_path: Path) -> None:
    result = await run_process(["bash", "-c", "sleep 100 & echo $!; echo started"], cwd=tmp_path, timeout_s=60)
    assert not result.timed_out
    assert result.exit_code == 0
    pid = int(result.output.split()[0])
    assert "started" in result.output
    assert await _wait_gone(pid)
    assert result.duration_s < 30


async def test_non_utf8_bytes_are_replaced_not_fatal(tmp_path: Path) -> None:
    result = await run_process(["printf", "ok \\377\\376 done"], cwd=tmp_path)
    assert result.output == "ok \ufffd\ufffd done"


async def test_output_cap_keeps_head_and_tail_and_counts_the_rest(tmp_path: Path) -> None:
    size = 20 * 1024 * 1024
    program = (
        "import sys; out = sys.stdout.buffer; out.write(b'START\\n');"
        f"[out.write(b'x' * 1048576) for _ in range({size // 1048576})]; out.write(b'\\nEND\\n')"
    )
    cap = 64 * 1024
    tracemalloc.start()
    try:
        result = await run_process([sys.executable, "-c", program], cwd=tmp_path, output_cap_bytes=cap)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, "memory must stay bounded however much the command prints"
    assert result.exit_code == 0
    total = len("START\n") + size + len("\nEND\n")
    assert result.truncated_bytes == total - cap
    assert result.output.startswith("START\nxxx")
    assert result.output.endswith("xxx\nEND\n")
    assert f"{total - cap} bytes of output dropped" in result.output
    assert len(result.output) < cap + 200


async def test_output_under_the_cap_is_kept_whole(tmp_path: Path) -> None:
    result = await run_process(["seq", "1", "1000"], cwd=tmp_path, output_cap_bytes=1 << 20)
    assert result.truncated_bytes == 0
    assert result.output == "".join(f"{n}\n" for n in range(1, 1001))


async def test_missing_executable_gives_127_with_a_message(tmp_path: Path) -> None:
    result = await run_process(["definitely-not-a-command-xyz", "--help"], cwd=tmp_path)
    assert result.exit_code == 127
    assert "command not found" in result.output
    assert "definitely-not-a-command-xyz" in result.output


async def test_missing_working_directory_is_reported_not_raised(tmp_path: Path) -> None:
    missing = tmp_path / "gone"
    result = await run_process(["ls"], cwd=missing)
    assert result.exit_code == 126
    assert str(missing) in result.output


async def test_non_executable_file_gives_126(tmp_path: Path) -> None:
    script = tmp_path / "script.sh"
    script.write_text("echo hi\n")
    result = await run_process([str(script)], cwd=tmp_path)
    assert result.exit_code == 126
    assert "permission denied" in result.output


def test_formatted_output_has_exit_code_wall_time_and_output() -> None:
    result = ExecResult(exit_code=0, output="hello\n", duration_s=1.234)
    assert format_exec_output(result, token_limit=100) == "Exit code: 0\nWall time: 1.2 seconds\nOutput:\nhello\n"


def test_long_output_keeps_head_and_tail_lines_with_a_marker() -> None:
    output = "".join(f"line {n:04d}\n" for n in range(1000))  # 10 chars a line
    text = format_exec_output(ExecResult(exit_code=1, output=output, duration_s=0.5), token_limit=50)
    header, body = text.split("Output:\n", 1)
    assert header == "Exit code: 1\nWall time: 0.5 seconds\nTotal output lines: 1000\n"
    assert body.startswith("line 0000\n")
    assert body.endswith("line 0999\n")
    head, marker_and_tail = body.split("…[", 1)
    omitted = int(marker_and_tail.split(" chars truncated]…\n", 1)[0])
    tail = marker_and_tail.split("]…\n", 1)[1]
    # Cut on line boundaries, and what is kept plus what is reported adds up.
    assert head.endswith("\n") and tail.startswith("line ")
    assert len(head) + len(tail) + omitted == len(output)
    assert len(head) + len(tail) <= 50 * 4


def test_single_huge_line_is_cut_mid_line() -> None:
    output = "y" * 10_000
    text = format_exec_output(ExecResult(exit_code=0, output=output, duration_s=0.0), token_limit=10)
    body = text.split("Output:\n", 1)[1]
    assert body == "y" * 20 + "\n…[9960 chars truncated]…\n" + "y" * 20
    assert "Total output lines: 1\n" in text


def test_output_within_budget_has_no_line_count() -> None:
    text = format_exec_output(ExecResult(exit_code=0, output="a\nb\n", duration_s=0.0), token_limit=10)
    assert "Total output lines" not in text


def test_timed_out_result_says_it_was_killed() -> None:
    result = ExecResult(exit_code=124, output="partial\n", duration_s=10.02, timed_out=True)
    text = format_exec_output(result, token_limit=100)
    assert "Exit code: 124\n" in text
    assert "timed out after 10.0 seconds and was killed" in text
    assert text.endswith("Output:\npartial\n")


def test_shell_environment_drops_secrets_and_agent_socket() -> None:
    base = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/home/u",
        "OPENAI_API_KEY": "sk-x",
        "GITHUB_TOKEN": "ghp",
        "MY_SECRET": "s",
        "DB_PASSWORD": "p",
        "aws_secret_access_key": "lower",
        "SSH_AUTH_SOCK": "/tmp/ssh-agent.sock",
    }
    assert shell_environment(base) == {"PATH": "/usr/bin:/bin", "HOME": "/home/u"}


def test_shell_environment_defaults_to_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODELOOP_TEST_TOKEN", "t")
    monkeypatch.setenv("CODELOOP_TEST_PLAIN", "v")
    env = shell_environment()
    assert env["CODELOOP_TEST_PLAIN"] == "v"
    assert "CODELOOP_TEST_TOKEN" not in env
    assert "PATH" in env
