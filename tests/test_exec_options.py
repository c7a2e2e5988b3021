"""`codeloop exec -o FILE` and `--output-schema FILE`: real runs against the local fake server,
which refuses a malformed `text.format` as the live API does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.exec_json_support import codex_events, items
from tests.exec_support import exec_workspace, run_exec, shell
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui.fakeserver.validate import validate_responses

SCHEMA = {
    "type": "object",
    "properties": {"verdict": {"type": "string", "enum": ["pass", "fail"]}, "files": {"type": "array", "items": {"type": "string"}}},
    "required": ["verdict", "files"],
    "additionalProperties": False,
}
ANSWER = '{"verdict": "pass", "files": ["calc.py"]}'


@pytest.fixture
def workspace(tmp_path: Path) -> tuple[Path, Path]:
    return exec_workspace(tmp_path, "x = 1\n")


# ---------------------------------------------------------------- -o / --output-last-message


@pytest.mark.parametrize("mode", [(), ("--json",)], ids=["human", "json"])
def test_the_final_message_is_written_to_the_file(fake_openai: FakeOpenAI, workspace: tuple[Path, Path], tmp_path: Path, mode: tuple[str, ...]) -> None:
    ws, home = workspace
    fake_openai.queue_response(fe.turn(fe.message_item("Looking first."), shell("c1", ["cat", "calc.py"])))
    fake_openai.queue_response(fe.turn(fe.message_item("x is one.\nSecond line.")))
    out = tmp_path / "last.txt"
    proc = run_exec(fake_openai, ws, home, *mode, "-o", str(out), "what is x?")
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == "x is one.\nSecond line."  # the last message only, exact


def test_a_relative_output_path_is_taken_from_where_exec_runs_not_from_cd(fake_openai: FakeOpenAI, workspace: tuple[Path, Path], tmp_path: Path) -> None:
    ws, home = workspace
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    proc = run_exec(fake_openai, elsewhere, home, "-C", str(ws), "-o", "answer.txt", "go")
    assert proc.returncode == 0, proc.stderr
    assert (elsewhere / "answer.txt").read_text() == "done" and not (ws / "answer.txt").exists()


def test_without_a_final_message_the_file_is_written_empty_with_a_warning(fake_openai: FakeOpenAI, workspace: tuple[Path, Path], tmp_path: Path) -> None:
    ws, home = workspace
    fake_openai.queue_response(fe.turn(fe.reasoning_item("Nothing to say.")))
    out = tmp_path / "last.txt"
    out.write_text("stale answer of an earlier run")
    proc = run_exec(fake_openai, ws, home, "-o", str(out), "go")
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == ""
    assert f"warning: no last agent message; wrote empty content to {out}" in proc.stderr


def test_a_failed_turn_leaves_the_file_alone(fake_openai: FakeOpenAI, workspace: tuple[Path, Path], tmp_path: Path) -> None:
    ws, home = workspace
    fake_openai.queue_http_error(400, {"error": {"message": "bad request", "type": "invalid_request_error", "param": None, "code": None}})
    out = tmp_path / "last.txt"
    proc = run_exec(fake_openai, ws, home, "-o", str(out), "go")
    assert proc.returncode == 1 and not out.exists()


def test_the_written_message_is_redacted(fake_openai: FakeOpenAI, workspace: tuple[Path, Path], tmp_path: Path) -> None:
    ws, home = workspace
    secret = "sk-proj-" + "A1b2C3d4E5f6G7h8" * 3
    fake_openai.queue_response(fe.turn(fe.message_item(f"The key is {secret}.")))
    out = tmp_path / "last.txt"
    proc = run_exec(fake_openai, ws, home, "-o", str(out), "go", env={"OPENAI_API_KEY": secret})
    assert proc.returncode == 0, proc.stderr
    assert secret not in out.read_text() and out.read_text().startswith("The key is ")


@pytest.mark.parametrize("case", ["symlink", "missing-folder", "folder"])
def test_an_unusable_output_path_fails_before_any_request(fake_openai: FakeOpenAI, workspace: tuple[Path, Path], tmp_path: Path, case: str) -> None:
    """A symbolic link is refused (a link planted where the answer goes must not redirect the
    write, as Codex refuses it); a missing folder or a folder fails now, not after the work."""
    ws, home = workspace
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    path = {"symlink": tmp_path / "link.txt", "missing-folder": tmp_path / "nope" / "a.txt", "folder": tmp_path}[case]
    if case == "symlink":
        path.symlink_to(target)
    proc = run_exec(fake_openai, ws, home, "-o", str(path), "go")
    assert proc.returncode == 2 and proc.stderr.startswith("codeloop: cannot write -o "), proc.stderr
    assert fake_openai.requests == [] and target.read_text() == "keep me"


# ---------------------------------------------------------------- --output-schema


def write_schema(tmp_path: Path, schema: Any, name: str = "schema.json") -> Path:
    path = tmp_path / name
    if isinstance(schema, bytes):
        path.write_bytes(schema)
    else:
        path.write_text(schema if isinstance(schema, str) else json.dumps(schema))
    return path


def test_the_schema_is_sent_as_structured_output_on_every_request_of_the_turn(fake_openai: FakeOpenAI, workspace: tuple[Path, Path], tmp_path: Path) -> None:
    ws, home = workspace
    fake_openai.queue_response(fe.turn(shell("c1", ["cat", "calc.py"])))
    fake_openai.queue_response(fe.turn(fe.message_item(ANSWER)))
    out = tmp_path / "answer.json"
    proc = run_exec(fake_openai, ws, home, "--json", "--output-schema", str(write_schema(tmp_path, SCHEMA)), "-o", str(out), "check")
    assert proc.returncode == 0, proc.stderr
    expected = {"format": {"type": "json_schema", "name": "codeloop_output_schema", "schema": SCHEMA, "strict": True}}
    bodies = fake_openai.responses_bodies()
    assert len(bodies) == 2 and all(body["text"] == expected for body in bodies)
    assert json.loads(out.read_text()) == json.loads(ANSWER)
    assert items(codex_events(proc.stdout), "agent_message")[0]["text"] == ANSWER


def test_without_a_schema_no_text_format_is_sent(fake_openai: FakeOpenAI, workspace: tuple[Path, Path]) -> None:
    ws, home = workspace
    fake_openai.queue_response(fe.turn(fe.message_item("plain")))
    assert run_exec(fake_openai, ws, home, "go").returncode == 0
    assert "text" not in fake_openai.responses_bodies()[0]


def test_the_schema_reaches_a_chat_completions_provider_as_response_format(fake_openai: FakeOpenAI, workspace: tuple[Path, Path], tmp_path: Path) -> None:
    ws, home = workspace
    fake_openai.queue_chat(fe.chat_text_chunks(ANSWER) + [fe.chat_usage_chunk()])
    config = ["-c", "model_provider=local", "-c", f'model_providers.local.base_url="{fake_openai.base_url}"', "-c", "model_providers.local.wire_api=chat"]
    proc = run_exec(fake_openai, ws, home, *config, "--output-schema", str(write_schema(tmp_path, SCHEMA)), "check")
    assert proc.returncode == 0, proc.stderr
    assert fake_openai.chat_bodies()[0]["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "codeloop_output_schema", "schema": SCHEMA, "strict": True}
    }  # fmt: skip
    assert proc.stdout == ANSWER + "\n"


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "cannot read --output-schema"),
        ("{not json", "is not JSON"),
        ([1, 2], "must hold a JSON Schema object, not a JSON list"),
        ({"type": "string"}, 'the API takes a schema of type "object" at the top, got type "string"'),
        ({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}, '"additionalProperties": false'),
        ({**SCHEMA, "required": ["verdict"]}, 'every property in "required"; missing files'),
        ({**SCHEMA, "properties": {"deep": {"type": "object", "properties": {}}}, "required": ["deep"]}, "at properties/deep"),
        ('{"type": "object", "additionalProperties": false, "not": ' * 5000 + "{}" + "}" * 5000, "nested too deeply"),
        (" " * 1_000_001, "is over 1,000,000 bytes"),
        (b'{"type": "object", "title": "caf\xe9"}', "cannot read --output-schema"),
    ],
    ids=["missing", "not-json", "array", "not-object", "open-object", "not-required", "nested", "deep", "huge", "not-utf8"],
)
def test_a_bad_schema_file_fails_before_any_request(fake_openai: FakeOpenAI, workspace: tuple[Path, Path], tmp_path: Path, content: Any, needle: str) -> None:
    ws, home = workspace
    path = tmp_path / "absent.json" if content is None else write_schema(tmp_path, content)
    proc = run_exec(fake_openai, ws, home, "--output-schema", str(path), "check")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"codeloop: ") and str(path) in proc.stderr and needle in proc.stderr, proc.stderr
    assert fake_openai.requests == [] and not (home / "sessions").exists()


# ---------------------------------------------------------------- the fake refuses what the API refuses


def body_with(fmt: Any) -> dict[str, Any]:
    return {"model": "gpt-5.5", "input": [], "tools": [], "store": False, "text": {"format": fmt}}


@pytest.mark.parametrize(
    ("fmt", "param", "message"),
    [
        ({"type": "xml"}, "text.format.type", "Invalid value: 'xml'. Supported values are: 'text', 'json_schema', and 'json_object'."),
        ({"type": "json_schema", "schema": SCHEMA}, "text.format.name", "Missing required parameter: 'text.format.name'."),
        ({"type": "json_schema", "name": "a b", "schema": SCHEMA}, "text.format.name", "string does not match pattern"),
        ({"type": "json_schema", "name": "x"}, "text.format.schema", "Missing required parameter: 'text.format.schema'."),
        ({"type": "json_schema", "name": "x", "schema": [1]}, "text.format.schema", "expected an object, but got list"),
        ({"type": "json_schema", "name": "x", "schema": {"type": "array", "items": {}}}, "text.format.schema", "schema must be a JSON Schema of 'type: \"object\"'"),
        ({"type": "json_schema", "name": "x", "schema": {"type": "object"}, "strict": True}, "text.format.schema", "'additionalProperties' is required to be supplied and to be false"),
        ({"type": "json_schema", "name": "x", "schema": {**SCHEMA, "required": ["verdict"]}, "strict": True}, "text.format.schema", "Missing 'files'"),
        ({"type": "json_schema", "name": "x", "schema": SCHEMA, "json_schema": {}}, "text.format.json_schema", "Unknown parameter"),
        ("json", "text.format", "expected an object"),
    ],
)
def test_the_fake_refuses_a_malformed_text_format(fmt: Any, param: str, message: str) -> None:
    refusal = validate_responses(body_with(fmt))
    assert refusal is not None and refusal.status == 400 and refusal.param == param and message in refusal.message, refusal


@pytest.mark.parametrize(
    "fmt",
    [
        {"type": "text"},
        {"type": "json_object"},
        {"type": "json_schema", "name": "codeloop_output_schema", "schema": SCHEMA, "strict": True},
        {"type": "json_schema", "name": "loose", "schema": {"type": "object"}},  # not strict: open objects pass
    ],
)
def test_the_fake_takes_a_well_formed_text_format(fmt: Any) -> None:
    assert validate_responses(body_with(fmt)) is None
