"""Shell snapshots: a slow login profile runs once per session, and `bash -lc` calls still see
what it set up (exports, functions), minus the secrets the environment policy drops."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine_support import make_session, outputs_by_call, run_turn, shell_call
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui.tools.process import shell_environment
from tui.tools.shell_snapshot import (
    MARK,
    Snapshot,
    build,
    is_login_script,
    with_snapshot,
)

PROFILE = """\
echo "profile noise on stdout"
echo run >> "$HOME/profile-runs"
export GREETING_WORD=bonjour
export MY_SERVICE_TOKEN=s3cret-from-profile
export PATH="$HOME/bin:$PATH"
greet() { echo "$GREETING_WORD from a profile function"; }
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    (home / "bin").mkdir(parents=True)
    (home / ".bash_profile").write_text(PROFILE)
    tool = home / "bin" / "hello-tool"
    tool.write_text("#!/bin/sh\necho hello-tool ran\n")
    tool.chmod(0o755)
    monkeypatch.setenv("HOME", str(home))
    return home


def test_only_bash_dash_lc_with_one_script_is_replayed() -> None:
    assert is_login_script(["bash", "-lc", "ls"]) and is_login_script(["/usr/bin/bash", "-lc", "ls"])
    assert not is_login_script(["bash", "-c", "ls"])
    assert not is_login_script(["zsh", "-lc", "ls"])
    assert not is_login_script(["bash", "-lc", "ls", "extra"])
    snapshot = Snapshot("export A=1\n", 70)
    assert with_snapshot(["bash", "-lc", "ls"], snapshot) == ["bash", "-c", ". /dev/fd/70\nexec 70<&-\nls"]


def test_build_keeps_what_the_profile_changed_through_the_policy() -> None:
    env = {"PATH": "/usr/bin", "HOME": "/h"}
    login = "\0".join(["PATH=/h/bin:/usr/bin", "HOME=/h", "NEW=it's", "SHLVL=2", "API_TOKEN=x", "_=/bin/env"])
    output = f"noise\0{MARK}\0{login}\0\0{MARK}\0f () \n{{ \n    echo f\n}}\n"
    snapshot = build(output, env, lambda variables: shell_environment(variables))
    assert snapshot is not None
    assert "export PATH=/h/bin:/usr/bin" in snapshot and "export NEW='it'\"'\"'s'" in snapshot
    assert "HOME" not in snapshot and "SHLVL" not in snapshot and "API_TOKEN" not in snapshot and "export _=" not in snapshot
    assert "echo f" in snapshot
    assert build("no markers at all", env, dict) is None


async def test_a_slow_profile_runs_once_and_every_call_still_sees_it(fake_openai: FakeOpenAI, tmp_path: Path, home: Path) -> None:
    script = 'echo "word=$GREETING_WORD"; greet; hello-tool; echo "token=${MY_SERVICE_TOKEN:-unset}"'
    fake_openai.queue_response(fe.turn(shell_call("c1", ["bash", "-lc", script])))
    fake_openai.queue_response(fe.turn(shell_call("c2", ["bash", "-lc", script])))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    await run_turn(make_session(fake_openai, tmp_path), "go")
    outputs = outputs_by_call(fake_openai.responses_bodies()[-1])
    for call_id in ("c1", "c2"):
        out = outputs[call_id]
        assert "word=bonjour" in out and "bonjour from a profile function" in out and "hello-tool ran" in out
        assert "token=unset" in out, "a secret the profile exports is dropped, as from codeloop's own environment"
        assert "profile noise" not in out, "the profile's own output is not the command's"
    assert (home / "profile-runs").read_text() == "run\n", "the profile ran once for the whole session"


async def test_snapshot_runs_inside_the_sandbox_too(fake_openai: FakeOpenAI, tmp_path: Path, home: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    fake_openai.queue_response(fe.turn(shell_call("c1", ["bash", "-lc", "greet; touch made-here && echo ok"])))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    await run_turn(make_session(fake_openai, workspace, sandbox="workspace-write"), "go")
    out = outputs_by_call(fake_openai.responses_bodies()[-1])["c1"]
    assert "bonjour from a profile function" in out and "ok" in out and (workspace / "made-here").exists()
    assert (home / "profile-runs").read_text() == "run\n"  # /tmp is writable in workspace-write


async def test_a_profile_that_exits_leaves_commands_as_asked(fake_openai: FakeOpenAI, tmp_path: Path, home: Path) -> None:
    (home / ".bash_profile").write_text("echo leaving; exit 3\n")
    fake_openai.queue_response(fe.turn(shell_call("c1", ["bash", "-lc", "echo never"])))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    await run_turn(make_session(fake_openai, tmp_path), "go")
    out = outputs_by_call(fake_openai.responses_bodies()[-1])["c1"]
    # Exactly what a real login shell gives: the profile's exit ends it before the script.
    assert "Exit code: 3" in out and "leaving" in out and "never" not in out
