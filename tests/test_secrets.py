"""Secrets stay out of the rollout, exec's output, the events and the screen; commands run
without them in their environment unless `[shell_environment_policy]` says otherwise."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from tests.engine_support import (
    make_session,
    of_type,
    outputs_by_call,
    run_turn,
    shell_call,
)
from tests.exec_support import run_exec
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui import protocol as ev
from tui.app.app import CodeloopApp
from tui.app.widgets.conversation import AnswerCell, NoticeCell, ToolCell
from tui.config import ShellEnvironmentPolicy
from tui.engine.rollout import RolloutWriter
from tui.safety.redact import REDACTED, Redactor, default_redactor
from tui.tools.process import run_process, shell_environment

# Looks like nothing in particular: only knowing the value can catch it.
SECRET = "zq9VtK2mLp7XwR4nB8cDf3Hs"
# Caught by its shape, though it is in no variable.
SHAPED = "sk-proj-4fG7hJ2kL9mN3pQ8rS1tU6vW"
CAT_ENV = ["cat", ".env"]  # known-safe: runs under every policy


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The key in our environment, and a workspace file that holds it (what a command leaks)."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / ".env").write_text(f"OPENAI_API_KEY={SECRET}\nOTHER={SHAPED}\n")
    return ws


# ---------------------------------------------------------------- the redactor


def test_redactor_hides_secret_named_variables_of_eight_chars_or_more() -> None:
    env = {"GITHUB_TOKEN": "abcdefgh1", "db_password": "hunter2hunter2", "PIN_KEY": "1234", "HOME": "/home/u"}
    red = Redactor.from_environment(env)
    assert red.redact("abcdefgh1 hunter2hunter2 1234 /home/u") == f"{REDACTED} {REDACTED} 1234 /home/u"


def test_provider_key_variable_is_hidden_whatever_it_is_called() -> None:
    red = Redactor.from_environment({"LOCAL_LLM_AUTH": "local-credential-9"}, key_names=["LOCAL_LLM_AUTH"])
    assert red.redact("auth is local-credential-9") == f"auth is {REDACTED}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer eyJhbGciOi.JIUzI1NiIs.sig", f"Authorization: Bearer {REDACTED}"),
        ("curl -H 'authorization: token ghx0123456789abcdef'", f"curl -H 'authorization: token {REDACTED}'"),
        ("got bearer abcdefgh12345678ijkl", f"got bearer {REDACTED}"),
        (f"key={SHAPED}.", f"key={REDACTED}."),
        ("GET https://api.example.com/v1?api_key=abc123def456&x=1", f"GET https://api.example.com/v1?api_key={REDACTED}&x=1"),
        ("https://maps.example.com/q?x=1&key=AIzaSyD-1234567890", f"https://maps.example.com/q?x=1&key={REDACTED}"),
        ("postgres://bob:hunter22@db/app", f"postgres://bob:{REDACTED}@db/app"),
        ("token ghp_" + "a1" * 18, f"token {REDACTED}"),
    ],
)
def test_credential_shaped_text_is_redacted(text: str, expected: str) -> None:
    assert Redactor().redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        'headers = {"Authorization": f"Bearer {token}"}',
        'url = base + "?key=" + api_key',
        "the bearer approaches the castle gate",
        "pip install sk-learn-contrib-something-long",
        "http://localhost:8080/a@b and git@github.com:org/repo.git",
    ],
)
def test_code_that_handles_keys_reads_unchanged(text: str) -> None:
    assert Redactor().redact(text) == text


def test_json_is_redacted_before_it_is_escaped() -> None:
    quoted = 'abc"def\\ghijk'
    red = Redactor([quoted])
    payload = {"output": f"x {quoted} y", "nested": [{"t": quoted}], "n": 3}
    out = red.redact_json(payload)
    assert quoted not in json.dumps(out) and json.dumps(quoted)[1:-1] not in json.dumps(out)
    assert out["output"] == f"x {REDACTED} y" and out["n"] == 3


def test_default_redactor_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODELOOP_TEST_SECRET", "first-value-123")
    assert REDACTED in default_redactor().redact("first-value-123")
    monkeypatch.setenv("CODELOOP_TEST_SECRET", "second-value-456")
    assert default_redactor().redact("first-value-123 second-value-456") == f"first-value-123 {REDACTED}"


# ---------------------------------------------------------------- through the loop


async def test_command_output_is_redacted_for_model_events_and_rollout(
    fake_openai: FakeOpenAI, secret_env: Path, tmp_path: Path
) -> None:
    ws = secret_env
    rollout = RolloutWriter(tmp_path / "rollout.jsonl")
    fake_openai.queue_response(fe.turn(shell_call("c1", CAT_ENV)))
    fake_openai.queue_response(fe.turn(fe.message_item("read it")))
    sess = make_session(fake_openai, ws, rollout=rollout)
    events = await run_turn(sess, f"here is my key {SECRET}, keep it safe")
    rollout.close()

    [ended] = of_type(events, ev.ExecCommandEnded)
    assert ended.output == f"OPENAI_API_KEY={REDACTED}\nOTHER={REDACTED}\n"
    for event in events:
        assert SECRET not in json.dumps(event.to_json()) or isinstance(event, ev.UserMessageRecorded)
    # The model gets the redacted output too (the user's own prompt goes as typed).
    output = outputs_by_call(fake_openai.responses_bodies()[1])["c1"]
    assert SECRET not in output and SHAPED not in output and f"OPENAI_API_KEY={REDACTED}" in output
    text = (tmp_path / "rollout.jsonl").read_text()
    assert SECRET not in text and SHAPED not in text and REDACTED in text


async def test_commands_do_not_get_the_key_in_their_environment(
    fake_openai: FakeOpenAI, secret_env: Path, tmp_path: Path
) -> None:
    fake_openai.queue_response(fe.turn(shell_call("c1", ["sh", "-c", 'echo "key=[$OPENAI_API_KEY]"; env'])))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    await run_turn(make_session(fake_openai, secret_env, sandbox="workspace-write"), "go")
    output = outputs_by_call(fake_openai.responses_bodies()[1])["c1"]
    assert "key=[]" in output and "OPENAI_API_KEY" not in output and REDACTED not in output


# ---------------------------------------------------------------- codeloop exec


@pytest.mark.parametrize("json_mode", [False, True])
def test_exec_prints_and_records_no_secret(fake_openai: FakeOpenAI, tmp_path: Path, json_mode: bool) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / ".env").write_text(f"OPENAI_API_KEY={SECRET}\nOTHER={SHAPED}\n")
    home = tmp_path / "home"
    fake_openai.queue_response(fe.turn(shell_call("c1", CAT_ENV)))
    # A model that repeats what it was told (here, the prompt) must not print it either.
    fake_openai.queue_response(fe.turn(fe.message_item(f"Your key is {SECRET} and {SHAPED}.")))
    fake_openai.queue_http_error(
        401, {"error": {"message": f"Incorrect API key provided: {SECRET}", "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}}
    )
    args = (["--json"] if json_mode else []) + ["--full-auto", f"read .env; my key is {SECRET}"]
    proc = run_exec(fake_openai, ws, home, *args, env={"OPENAI_API_KEY": SECRET})
    assert proc.returncode == 0, proc.stderr
    assert fake_openai.requests[0].headers.get("authorization") == f"Bearer {SECRET}"  # the key still works
    assert SECRET not in proc.stdout + proc.stderr and SHAPED not in proc.stdout + proc.stderr
    assert f"Your key is {REDACTED} and {REDACTED}." in proc.stdout
    if json_mode:
        done = [e["item"] for e in map(json.loads, proc.stdout.splitlines()) if e["type"] == "item.completed"]
        ran = [i for i in done if i["type"] == "command_execution"]
        assert ran and REDACTED in ran[0]["aggregated_output"]
    [rollout] = list((home / "sessions").rglob("rollout-*.jsonl"))
    text = rollout.read_text()
    assert SECRET not in text and SHAPED not in text and REDACTED in text


def test_exec_hides_a_custom_providers_key_variable(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    fake_openai.queue_response(fe.turn(shell_call("c1", ["sh", "-c", 'echo "auth=[$LOCAL_LLM_AUTH]"'])))
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    config = [
        "-c", "model_provider=local",
        "-c", f'model_providers.local.base_url="{fake_openai.base_url}"',
        "-c", 'model_providers.local.env_key="LOCAL_LLM_AUTH"',
    ]  # fmt: skip
    proc = run_exec(fake_openai, ws, tmp_path / "home", "--json", "--yolo", *config, "go", env={"LOCAL_LLM_AUTH": SECRET})
    assert proc.returncode == 0, proc.stderr
    assert SECRET not in proc.stdout + proc.stderr
    # Not redacted but never there: the variable is dropped from the command's environment.
    assert "auth=[]" in outputs_by_call(fake_openai.responses_bodies()[1])["c1"]


# ---------------------------------------------------------------- the app


def _screen_text(app: CodeloopApp) -> str:
    shown = [app.export_screenshot()]
    for cell in app.query(ToolCell):
        shown.append(f"{cell.command} {cell.result}")
    for notice in app.query(NoticeCell):
        shown.append(str(notice.render()))
    for answer in app.query(AnswerCell):
        shown.append(answer.text)
    return "\n".join(shown)


async def test_app_shows_no_secret(fake_openai: FakeOpenAI, secret_env: Path) -> None:
    fake_openai.queue_response(fe.turn(shell_call("c1", CAT_ENV)))
    fake_openai.queue_response(fe.turn(fe.message_item(f"It says {SECRET}.")))
    fake_openai.queue_http_error(
        401, {"error": {"message": f"Incorrect API key provided: {SECRET}", "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}}
    )
    app = CodeloopApp(make_session(fake_openai, secret_env))
    async with app.run_test(size=(140, 120)) as pilot:
        for prompt in ("read .env", "again"):
            before = len(app.session.history)
            await app.send(prompt)
            async with asyncio.timeout(15):
                while app.session.turn_running or len(app.session.history) == before:
                    await pilot.pause(0.05)
        await pilot.pause(0.3)
        shown = _screen_text(app)
        assert [str(n.render()) for n in app.query(NoticeCell) if "Incorrect API key" in str(n.render())]
        assert app.query(ToolCell).first().result is not None
    assert SECRET not in shown and SHAPED not in shown
    assert f"OPENAI_API_KEY={REDACTED}" in shown and f"It says {REDACTED}." in shown


# ---------------------------------------------------------------- the shell environment policy


def test_shell_environment_policy_fields_are_documented() -> None:
    assert [n for n, f in ShellEnvironmentPolicy.model_fields.items() if not f.description] == []


async def _env_of(policy: ShellEnvironmentPolicy | None, tmp_path: Path) -> dict[str, str]:
    result = await run_process(["env", "-0"], cwd=tmp_path, env=shell_environment(policy=policy))
    assert result.exit_code == 0, result.output
    return dict(entry.split("=", 1) for entry in result.output.split("\0") if entry)


@pytest.fixture
def variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "OPENAI_API_KEY": SECRET, "GITHUB_TOKEN": "gh-token-value", "MY_SECRET": "s3cr3t-value",
        "db_password": "hunter2hunter2", "SSH_AUTH_SOCK": "/tmp/agent.sock",
        "AWS_REGION": "eu-west-1", "CODELOOP_PLAIN": "plain",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)


async def test_commands_get_no_secret_named_variables_by_default(variables: None, tmp_path: Path) -> None:
    env = await _env_of(None, tmp_path)
    for name in ("OPENAI_API_KEY", "GITHUB_TOKEN", "MY_SECRET", "db_password", "SSH_AUTH_SOCK"):
        assert name not in env
    assert env["AWS_REGION"] == "eu-west-1" and env["CODELOOP_PLAIN"] == "plain" and env["PATH"] == os.environ["PATH"]


async def test_ignore_default_excludes_keeps_them_and_exclude_drops_by_pattern(variables: None, tmp_path: Path) -> None:
    env = await _env_of(ShellEnvironmentPolicy(ignore_default_excludes=True, exclude=["aws_*", "*_PLAIN"]), tmp_path)
    assert env["OPENAI_API_KEY"] == SECRET and env["db_password"] == "hunter2hunter2"
    assert "AWS_REGION" not in env and "CODELOOP_PLAIN" not in env


async def test_inherit_core_or_none_with_set_and_include_only(variables: None, tmp_path: Path) -> None:
    core = await _env_of(ShellEnvironmentPolicy(inherit="core", set={"EXTRA": "1", "GITHUB_TOKEN": "given"}), tmp_path)
    assert set(core) <= {"HOME", "LOGNAME", "PATH", "SHELL", "USER", "USERNAME", "TMPDIR", "TEMP", "TMP", "EXTRA", "GITHUB_TOKEN"}
    assert core["PATH"] == os.environ["PATH"] and core["EXTRA"] == "1"
    assert core["GITHUB_TOKEN"] == "given"  # `set` is applied after the excludes
    none = await _env_of(ShellEnvironmentPolicy(inherit="none", set={"PATH": "/usr/bin:/bin"}), tmp_path)
    assert none == {"PATH": "/usr/bin:/bin"}
    only = await _env_of(ShellEnvironmentPolicy(set={"EXTRA": "1"}, include_only=["path", "codeloop_*"]), tmp_path)
    assert set(only) == {"PATH", "CODELOOP_PLAIN"}


def test_shell_environment_policy_is_read_from_config(tmp_path: Path) -> None:
    from tui.config import load_config

    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(
        '[shell_environment_policy]\ninherit = "core"\nexclude = ["AWS_*"]\nset = { CI = "1" }\n'
    )
    policy = load_config(env={"CODELOOP_HOME": str(home)}).config.shell_environment_policy
    assert policy == ShellEnvironmentPolicy(inherit="core", exclude=["AWS_*"], set={"CI": "1"})
