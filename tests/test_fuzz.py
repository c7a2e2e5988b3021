"""Property tests: what untrusted input (a model's patches and arguments, a server's stream, a
user's config) may never do to codeloop, whatever its shape.

Every bug these found is fixed and kept as a named regression case (`_fixed`, `@example`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui.config import ConfigError, ResolvedConfig, load_config
from tui.fakeserver.server import sse_frame
from tui.model.chat import ChatClient
from tui.model.responses import ResponsesClient
from tui.model.types import (
    Completed,
    ModelError,
    ModelEvent,
    OutputItemDone,
    Prompt,
    ReasoningSummaryDelta,
    TextDelta,
)
from tui.safety.approvals import ApprovalStore
from tui.safety.sandbox import SandboxPolicy
from tui.tools.apply_patch import FileChange, PatchError, apply_changes, plan_patch
from tui.tools.base import ToolCall, ToolContext, ToolResult
from tui.tools.registry import ToolRouter

# CODELOOP_FUZZ_EXAMPLES=20000 (with `-o timeout=0`) for a longer hunt; the default keeps each test to seconds.
EXAMPLES = int(os.environ.get("CODELOOP_FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _fixed(bugs: dict[str, tuple[Any, str]]) -> list[Any]:
    """Bugs found by fuzzing and since fixed: kept as named regression cases."""
    return [pytest.param(body, id=name) for name, (body, _) in bugs.items()]


# ------------------------------------------------------------------------------------ apply_patch
#
# The workspace lives in `outer/root`; `outer` also holds a canary file and a sibling folder that
# symlinks in the workspace point at. Every example starts from the same tree.

_FILES = {
    "a.txt": b"alpha\nbeta\ngamma\n",
    "b.txt": b"one\r\ntwo\r\n",
    "dir/c.py": b"def f():\n    return 1\n\ndef g():\n    return 2\n",
    "blocker": b"a file where a directory is needed\n",
    "latin1.txt": b"caf\xe9\n",
}
_LINKS = {"out": "../sibling", "link": "../canary.txt", "inlink": "a.txt", "dangling": "nowhere.txt"}
OUTER = "{outer}"  # replaced by the real folder: absolute paths aimed at the canary
_PATHS = [
    *_FILES, *_LINKS, "dir", "new.txt", "new/deep/n.txt", "blocker/x.txt", "dir/c.py/x",
    "./a.txt", "dir//c.py", "a.txt/", "", ".", "a\x00b", "é\udcff", "x" * 300,
    "../canary.txt", "../sibling/s.txt", "out/s.txt", "out/new.txt", "dir/../../canary.txt",
    f"{OUTER}/canary.txt", f"{OUTER}/root/a.txt", "~/x", "C:/x", "\\x",
]  # fmt: skip
_FILE_LINES = [
    line for data in _FILES.values() for line in data.decode("utf-8", "replace").splitlines()
]
_path = st.sampled_from(_PATHS) | st.text(max_size=12)
_line = st.sampled_from([*_FILE_LINES, "", "  alpha  ", "\u201cbeta\u201d", "    return 1"]) | st.text(max_size=12)
_change = st.builds("{}{}".format, st.sampled_from([" ", "-", "+", ""]), _line)
_chunk = st.builds(
    lambda header, lines, eof: [header, *lines, *(["*** End of File"] if eof else [])],
    st.sampled_from(["@@", "@@ def g():", "@@ def f", "@@ -1,2 +1,2 @@"]) | _change.map("@@ {}".format),
    st.lists(_change, max_size=5),
    st.booleans(),
)
_hunk = st.one_of(
    st.builds(lambda p, lines: [f"*** Add File: {p}", *("+" + x for x in lines)], _path, st.lists(_line, max_size=4)),
    st.builds(lambda p: [f"*** Delete File: {p}"], _path),
    st.builds(
        lambda p, move, chunks: [
            f"*** Update File: {p}", *([f"*** Move to: {move}"] if move is not None else []),
            *(line for chunk in chunks for line in chunk),
        ],
        _path,
        st.none() | _path,
        st.lists(_chunk, max_size=3),
    ),
)  # fmt: skip


def _render(parts: list[list[str]], framed: bool, crlf: bool) -> str:
    lines = [line for part in parts for line in part]
    if framed:
        lines = ["*** Begin Patch", *lines, "*** End Patch"]
    text = "\n".join(lines) + "\n"
    return text.replace("\n", "\r\n") if crlf else text


@st.composite
def _matching_update(draw: st.DrawFn) -> list[str]:
    """An Update File hunk whose lines come from the file itself, so it usually applies."""
    rel = draw(st.sampled_from(["a.txt", "b.txt", "dir/c.py", "inlink", "latin1.txt"]))
    lines = _FILES[_LINKS.get(rel, rel)].decode("utf-8", "surrogateescape").splitlines()
    start = draw(st.integers(0, len(lines) - 1))
    stop = draw(st.integers(start + 1, len(lines)))
    body = [draw(st.sampled_from([" ", "-"])) + line for line in lines[start:stop]]
    at = draw(st.integers(0, len(body)))
    body[at:at] = ["+" + added for added in draw(st.lists(_line, max_size=2))]
    move = draw(st.none() | st.sampled_from(["moved.txt", "dir/m.py", "a.txt", "blocker/m.txt", *_PATHS]))
    return [f"*** Update File: {rel}", *([f"*** Move to: {move}"] if move is not None else []), "@@", *body]


# Plans fine, fails at write time: the parent "folder" is a file.
_unwritable_add = st.sampled_from(["blocker/x.txt", "dir/c.py/x"]).map(lambda p: [f"*** Add File: {p}", "+x"])
# Loose lines that break the structure: stray markers, heredoc wrappers, anything at all.
_PIECES = st.one_of(
    st.sampled_from(
        ["*** Begin Patch", "*** End Patch", "*** End of File", "@@", "@@ def f", "", " a", "-a", "+b", "<<'EOF'", "EOF"]
    ),
    st.builds("{}{}".format, st.sampled_from(["*** Add File: ", "*** Delete File: ", "*** Update File: ", "*** Move to: "]), _path),
    st.builds("{}{}".format, st.sampled_from([" ", "-", "+", "@@ "]), st.text(max_size=12)),
    st.text(max_size=20),
)  # fmt: skip
_patch_text = st.one_of(
    # Well-formed patches, mostly over real files: these get planned, written and rolled back.
    st.builds(
        _render,
        st.lists(_matching_update() | _hunk | _unwritable_add, min_size=1, max_size=4),
        st.just(True),
        st.booleans(),
    ),
    # Anything near a patch.
    st.builds(_render, st.lists(_hunk | _PIECES.map(lambda line: [line]), max_size=6), st.booleans(), st.booleans()),
)


@pytest.fixture(scope="module")
def outer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    top = tmp_path_factory.mktemp("outer")
    (top / "canary.txt").write_text("canary\n")
    (top / "sibling").mkdir()
    (top / "sibling/s.txt").write_text("sibling\n")
    return top


def _fresh_root(outer: Path) -> Path:
    root = outer / "root"
    if root.exists():
        shutil.rmtree(root)  # does not follow the links out of the workspace
    for rel, data in _FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    (root / "dir/c.py").chmod(0o755)
    for rel, target in _LINKS.items():
        (root / rel).symlink_to(target)
    return root


def snapshot(top: Path) -> dict[str, tuple[Any, ...]]:
    """Every entry under `top`, links not followed: (kind, content or target, mode)."""
    out: dict[str, tuple[Any, ...]] = {}
    for folder, dirs, files in os.walk(top):
        for name in dirs + files:
            path = Path(folder, name)
            info = path.lstat()
            rel = path.relative_to(top).as_posix()
            if stat.S_ISLNK(info.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                out[rel] = ("dir", stat.S_IMODE(info.st_mode))
            else:
                out[rel] = ("file", path.read_bytes(), stat.S_IMODE(info.st_mode))
    return out


def _planned_end_state(changes: list[FileChange]) -> dict[Path, str | None]:
    state: dict[Path, str | None] = {}
    for change in changes:
        if change.kind == "delete" or change.move_to not in (None, change.path):
            state[change.path] = None
        if change.kind != "delete":
            state[change.move_to or change.path] = change.new_text
    return state


@FUZZ
@given(text=_patch_text)
@example(text="*** Begin Patch\n*** Add File: a.txt\n+A\n*** Add File: blocker/x.txt\n+x\n*** End Patch\n")
@example(text="*** Begin Patch\n*** Update File: inlink\n@@\n-alpha\n+ALPHA\n*** Delete File: inlink\n*** End Patch\n")
# Found by this test: rolling back, the file moved away came back before the folder made in its
# place was gone.
@example(text="*** Begin Patch\n*** Update File: dir/c.py\n*** Move to: moved.txt\n@@\n def f():\n*** Add File: dir/c.py/x\n+x\n*** Add File: blocker/x.txt\n+x\n*** End Patch\n")
def test_any_patch_writes_all_or_nothing_and_only_inside_the_workspace(outer: Path, text: str) -> None:
    root = _fresh_root(outer)
    text = text.replace(OUTER, str(outer))
    before = snapshot(outer)
    try:
        changes = plan_patch(text, root)
    except PatchError:
        event("refused while planning")
        assert snapshot(outer) == before
        return
    assert snapshot(outer) == before, "planning wrote to the disk"
    try:
        apply_changes(changes)
    except PatchError:
        event("rolled back while writing")
        assert snapshot(outer) == before, "a failed patch left changes behind"
        return
    event("applied")
    after = snapshot(outer)
    outside = {rel: entry for rel, entry in before.items() if not rel.startswith("root/")}
    assert {rel: entry for rel, entry in after.items() if not rel.startswith("root/")} == outside
    for path, text_after in _planned_end_state(changes).items():
        assert path.is_relative_to(root)
        if text_after is None:  # gone, or a folder now holds what later hunks added under its name
            assert not path.is_symlink() and not path.is_file()
        else:
            assert path.read_bytes() == text_after.encode("utf-8", "surrogateescape")


# ------------------------------------------------------------------------------- tool arguments
#
# Whatever the model sends as a call, the router answers with a ToolResult the next request can
# carry. Policy `never` with danger-full-access, in a fresh folder per example; the shell is only
# ever handed harmless programs (`true`, `echo`, `printf`, the apply_patch forms), so fuzzing
# the argument *shapes* can do no harm.

_HARMLESS = ["true", "echo", "printf", "apply_patch", "applypatch"]
# Characters that trip up encoders: NUL, lone surrogates (JSON `\udcff` escapes decode to them),
# a non-BMP emoji, a bidi override.
_odd_text = st.text(st.sampled_from(["a", " ", "\n", "\x00", "é", "\udcff", "\ud800", "😀", "\u202e", "\\", '"']), max_size=8)
_str = st.text(max_size=12) | _odd_text
_json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _str,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_argv = st.builds(
    lambda program, args: [program, *args],
    st.sampled_from(_HARMLESS),
    st.lists(_str | _patch_text, max_size=2),
)
# Anything but a list of strings, which would be a command line.
_not_argv = _json_value.filter(lambda v: not (isinstance(v, list) and all(isinstance(x, str) for x in v)))
_workdir = st.sampled_from([".", "sub", "/", "..", "missing", "a.txt"]) | _str
_shell_args = st.one_of(
    st.fixed_dictionaries(
        {"command": _argv},
        optional={
            "workdir": _workdir,
            "timeout_ms": st.integers(min_value=1, max_value=2**70),
            "sandbox_permissions": st.sampled_from(["use_default", "require_escalated"]),
            "justification": _str,
        },
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "command": _argv | _not_argv,
            "workdir": _workdir | _json_value,
            "timeout_ms": st.integers(min_value=-5, max_value=2**70) | _json_value,
            "sandbox_permissions": _json_value,
            "justification": _json_value,
            "extra": _json_value,
        },
    ),
)
_plan_step = st.fixed_dictionaries(
    {"step": _str, "status": st.sampled_from(["pending", "in_progress", "completed", "done"])}
)
_plan_args = st.one_of(
    st.fixed_dictionaries({"plan": st.lists(_plan_step, max_size=4)}, optional={"explanation": _str}),
    st.fixed_dictionaries(
        {},
        optional={
            "plan": st.lists(_plan_step | _json_value, max_size=3) | _json_value,
            "explanation": _json_value,
        },
    ),
)
_patch_args = st.fixed_dictionaries({"input": _patch_text}) | st.fixed_dictionaries({}, optional={"input": _json_value, "x": _json_value})
_ARGUMENTS = {"shell": _shell_args, "update_plan": _plan_args, "apply_patch": _patch_args}


def _garbled(arguments: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[str]:
    text = arguments.map(json.dumps)
    cut_short = text.flatmap(lambda t: st.integers(0, len(t)).map(lambda cut: t[:cut]))
    not_json = st.one_of(_patch_text, st.text(max_size=40), st.integers(1, 50_000).map("[".__mul__))
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
    for emitted in events:  # as the rollout and `exec --json` write them
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


@pytest.mark.parametrize("arguments", _fixed(_SHELL_BUGS))
def test_shell_arguments_the_os_refuses_get_a_result(arguments: dict[str, Any]) -> None:
    assert_answers(ToolCall("call_bug", "shell", "function", json.dumps(arguments)))


# ---------------------------------------------------------------------------------- SSE streams
#
# Whatever the server streams, the REAL client (SDK and all, against the fake server's exact
# bytes) yields well-typed events and ends at `Completed`, or raises ModelError: never another
# exception (the turn loop retries only ModelError) and never a hang.

PROMPT = Prompt(
    model=fe.DEFAULT_MODEL,
    instructions="fuzz",
    input=[{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
    tools=[],
    parallel_tool_calls=True,
    prompt_cache_key="fuzz",
)
STREAM_TIMEOUT_S = 15.0


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


async def _drain(base_url: str, chat: bool) -> tuple[list[ModelEvent], ModelError | None]:
    client: ResponsesClient | ChatClient
    if chat:
        client = ChatClient(base_url=base_url, api_key="test-key", request_max_retries=0, idle_timeout_s=5)
    else:
        client = ResponsesClient(base_url=base_url, api_key="test-key", request_max_retries=0, idle_timeout_s=5)
    events: list[ModelEvent] = []
    try:
        async with asyncio.timeout(STREAM_TIMEOUT_S):
            async for model_event in client.stream(PROMPT):
                events.append(model_event)
    except ModelError as e:
        return events, e
    finally:
        await client.aclose()
    return events, None


def stream_body(fake: FakeOpenAI, body: str, *, chat: bool = False) -> tuple[list[ModelEvent], ModelError | None]:
    """Serve `body` as the SSE stream and drain the client; any exception but ModelError escapes."""
    endpoint = "chat" if chat else "responses"
    fake.queue_sse_raw(body, endpoint=endpoint)
    try:
        return asyncio.run(_drain(fake.base_url, chat))
    finally:
        assert fake.remaining(endpoint) == 0, "the request never reached the stream"


def assert_well_formed(events: list[ModelEvent], error: ModelError | None) -> None:
    if error is None:
        assert events and isinstance(events[-1], Completed), "ended without Completed or ModelError"
    assert not any(isinstance(e, Completed) for e in events[:-1]), "events after Completed"
    for e in events:
        if isinstance(e, TextDelta | ReasoningSummaryDelta):
            assert isinstance(e.delta, str), e
            e.delta.encode("utf-8")
        elif isinstance(e, OutputItemDone):
            assert isinstance(e.item, dict), e
            json.dumps(e.item).encode("utf-8")
        else:
            assert isinstance(e, Completed)
            assert e.response_id is None or isinstance(e.response_id, str)


_text = st.text(st.characters(codec="utf-8"), max_size=12)
_items = st.lists(
    st.one_of(
        st.builds(fe.message_item, _text),
        st.builds(lambda a: fe.function_call_item("call_1", "shell", a), _text),
        st.builds(lambda i: fe.custom_tool_call_item("call_2", "apply_patch", i), _text),
        st.builds(fe.reasoning_item, _text),
    ),
    max_size=3,
)
_BENIGN_NOISE = [
    ": keep-alive\n\n", "\n", "foo: bar\n\n", "not a field\n\n", "data: [1, 2]\n\n", "data: 5\n\n",
    "data: null\n\n", 'data: "text"\n\n', "data: {}\n\n", 'data: {"type": 5}\n\n', "data: [DONE]\n\n",
    sse_frame({"type": "response.future_event", "payload": {"x": 1}}).decode(),
    sse_frame({"type": "response.output_text.annotation.added", "annotation": {}}).decode(),
]  # fmt: skip


def _shuffled(frames: list[str]) -> st.SearchStrategy[list[str]]:
    """Frames in order, or reordered, with some dropped and some sent twice."""
    indexes = st.lists(st.integers(0, max(len(frames) - 1, 0)), max_size=len(frames) + 3) if frames else st.just([])
    return st.one_of(st.just(frames), st.permutations(frames), indexes.map(lambda picks: [frames[i] for i in picks]))


def _with_noise(frames: st.SearchStrategy[list[str]], noise: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda kept, extra: "".join(_interleave(kept, extra)),
        frames,
        st.lists(st.tuples(st.integers(0, 10_000), noise), max_size=4),
    )


def _interleave(frames: list[str], extra: list[tuple[int, str]]) -> list[str]:
    out = list(frames)
    for at, frame in extra:
        out.insert(at % (len(out) + 1), frame)
    return out


_turn_frames = st.builds(lambda items: [sse_frame(e).decode() for e in fe.turn(*items)], _items)
_responses_benign = _with_noise(_turn_frames.flatmap(_shuffled), st.sampled_from(_BENIGN_NOISE))


@FUZZ
@given(body=_responses_benign)
def test_responses_stream_of_reordered_dropped_and_unknown_events_ends_cleanly(server: FakeOpenAI, body: str) -> None:
    events, error = stream_body(server, body)
    assert_well_formed(events, error)
    event("completed" if error is None else "ModelError")


# Everything above, plus what breaks the event objects themselves: keys removed, values of the
# wrong type, JSON cut mid-frame, SSE fields the API never sends. It finds the bugs listed below.
def _mutated(value: Any) -> st.SearchStrategy[Any]:
    if isinstance(value, dict) and value:
        key = st.sampled_from(sorted(value))
        return st.one_of(
            key.map(lambda k: {x: v for x, v in value.items() if x != k}),
            st.tuples(key, _json_value).map(lambda kv: {**value, kv[0]: kv[1]}),
            key.flatmap(lambda k: _mutated(value[k]).map(lambda v: {**value, k: v})),
        )
    return _json_value


_broken_frame = st.one_of(
    st.builds(lambda e: e, st.sampled_from(fe.turn(fe.message_item("hi"), fe.function_call_item("c", "shell", "{}"))))
    .flatmap(_mutated)
    .map(lambda e: f"data: {json.dumps(e)}\n\n"),
    _turn_frames.flatmap(lambda frames: st.sampled_from(frames)).flatmap(
        lambda f: st.integers(0, len(f)).map(lambda cut: f[:cut] + "\n\n")
    ),
    st.sampled_from(["event: response.created\n\n", "id: 7\n\n", "retry: 10\n\n", "data: {\n\n", "data:\n\n"]),
)
_responses_chaos = _with_noise(_turn_frames.flatmap(_shuffled), st.sampled_from(_BENIGN_NOISE) | _broken_frame)
_SDK_JSON = "the SDK's json.loads of the frame raises JSONDecodeError, which `except openai.OpenAIError` misses"
_RESPONSES_BUGS = {
    "half-json": ('data: {"type": "response.output_text.delta"\n\n', _SDK_JSON),
    "event-without-data": ("event: response.created\n\n", _SDK_JSON + ' (data "")'),
    "id-only-frame": ("id: 7\n\n", _SDK_JSON + ' (data "")'),
    "delta-missing": ('data: {"type":"response.output_text.delta"}\n\n', "_translate yields TextDelta(None)"),
    "delta-not-a-string": ('data: {"type":"response.output_text.delta","delta":5}\n\n', "_translate yields TextDelta(5)"),
    "delta-lone-surrogate": (
        'data: {"type":"response.output_text.delta","delta":"\\udcff"}\n\n',
        "_translate yields '\\udcff'; once in the history every later request raises UnicodeEncodeError",
    ),
    "item-missing": ('data: {"type":"response.output_item.done"}\n\n', "_translate: None.to_dict() AttributeError"),
    "item-not-an-object": ('data: {"type":"response.output_item.done","item":"x"}\n\n', "_translate: 'x'.to_dict() AttributeError"),
    "completed-without-response": ('data: {"type":"response.completed"}\n\n', "_translate: None.to_dict() AttributeError"),
    "completed-usage-not-numbers": (
        'data: {"type":"response.completed","response":{"id":"r","usage":{"input_tokens":"abc"}}}\n\n',
        "Usage.from_responses: int('abc') ValueError",
    ),
    "completed-usage-not-an-object": (
        'data: {"type":"response.completed","response":{"id":"r","usage":"abc"}}\n\n',
        "Usage.from_responses: 'abc'.get AttributeError",
    ),
    "completed-id-not-a-string": ('data: {"type":"response.completed","response":{"id":5}}\n\n', "Completed(response_id=5)"),
    "failed-without-response": ('data: {"type":"response.failed"}\n\n', "_translate: None.to_dict() AttributeError"),
    "failed-error-not-an-object": (
        'data: {"type":"response.failed","response":{"error":"boom"}}\n\n', "_translate: 'boom'.get AttributeError"
    ),
    "incomplete-details-not-an-object": (
        'data: {"type":"response.incomplete","response":{"incomplete_details":"x"}}\n\n', "_translate: 'x'.get AttributeError"
    ),
    "error-code-not-a-string": (
        'data: {"type":"error","code":5,"message":7}\n\n', "classify_error → retry_hint_seconds: re.search(7) TypeError"
    ),
}  # fmt: skip


@FUZZ
@given(body=_responses_chaos)
@example(body=_RESPONSES_BUGS["half-json"][0])
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_responses_stream_of_broken_events_ends_cleanly(server: FakeOpenAI, body: str) -> None:
    assert_well_formed(*stream_body(server, body))


@pytest.mark.parametrize("body", _fixed(_RESPONSES_BUGS))
@pytest.mark.filterwarnings("ignore::UserWarning")  # pydantic's, on serialising the odd types
def test_responses_stream_known_bad_frame_ends_cleanly(server: FakeOpenAI, body: str) -> None:
    assert_well_formed(*stream_body(server, body))


def _chat_frame(chunk: dict[str, Any]) -> str:
    return f"data: {json.dumps(chunk)}\n\n"


_chat_chunks = st.builds(
    lambda text, calls, finish, usage: [
        *(fe.chat_text_chunks(text, finish_reason=None) if text is not None else []),
        *(fe.chat_tool_call_chunks(calls, finish_reason=None) if calls else []),
        *([fe.chat_chunk({}, finish_reason=finish)] if finish else []),
        *([fe.chat_usage_chunk()] if usage else []),
    ],
    st.none() | _text,
    st.lists(st.tuples(st.sampled_from(["call_1", "call_2"]), st.just("shell"), _text), max_size=2),
    st.sampled_from([None, "stop", "tool_calls", "length"]),
    st.booleans(),
)
_chat_noise = st.sampled_from(
    [
        ": keep-alive\n\n", "\n", "not a field\n\n", "data: [DONE]\n\n",
        _chat_frame({"choices": []}), _chat_frame({"id": "x", "choices": [], "usage": None}),
        _chat_frame({"choices": [{"index": 0, "delta": {"content": None, "tool_calls": None}}]}),
        _chat_frame({"choices": [{"index": 0, "delta": {"role": "assistant", "refusal": None}, "x": 1}]}),
    ]
)  # fmt: skip
_chat_benign = _with_noise(
    _chat_chunks.map(lambda chunks: [_chat_frame(c) for c in chunks] + ["data: [DONE]\n\n"]).flatmap(_shuffled),
    _chat_noise,
)


@FUZZ
@given(body=_chat_benign)
def test_chat_stream_of_reordered_dropped_and_unknown_chunks_ends_cleanly(server: FakeOpenAI, body: str) -> None:
    events, error = stream_body(server, body, chat=True)
    assert_well_formed(events, error)
    event("completed" if error is None else "ModelError")


_CHAT_BUGS = {
    "half-json": ('data: {"choices": [\n\n', _SDK_JSON),
    "chunk-not-an-object": ("data: [1]\n\n", "ChatClient.stream: [1].to_dict AttributeError"),
    "choices-not-a-list": ('data: {"choices": "x"}\n\ndata: [DONE]\n\n', "ChatClient.stream: 'x'.get AttributeError"),
    "choice-not-an-object": ('data: {"choices": ["x"]}\n\ndata: [DONE]\n\n', "ChatClient.stream: 'x'.get AttributeError"),
    "delta-not-an-object": ('data: {"choices": [{"delta": "x"}]}\n\ndata: [DONE]\n\n', "ChatClient.stream: 'x'.get AttributeError"),
    "tool-calls-not-a-list": (
        'data: {"choices": [{"delta": {"tool_calls": "ab"}, "finish_reason": "stop"}]}\n\ndata: [DONE]\n\n',
        "_accumulate: 'a'.get AttributeError",
    ),
    "tool-call-not-an-object": (
        'data: {"choices": [{"delta": {"tool_calls": [5]}, "finish_reason": "stop"}]}\n\ndata: [DONE]\n\n',
        "_accumulate: (5).get AttributeError",
    ),
    "function-not-an-object": (
        'data: {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": "x"}]}, "finish_reason": "stop"}]}\n\n'
        "data: [DONE]\n\n",
        "_accumulate: 'x'.get AttributeError",
    ),
    "index-of-mixed-types": (
        'data: {"choices": [{"delta": {"tool_calls": [{"index": "a", "id": "c"}, {"index": 1, "id": "d"}]}, '
        '"finish_reason": "stop"}]}\n\ndata: [DONE]\n\n',
        "sorted(calls) TypeError: '<' between int and str",
    ),
    "name-and-arguments-not-strings": (
        'data: {"choices": [{"delta": {"tool_calls": [{"index": 0, "id": 5, "function": {"name": 5, "arguments": 5}}]}, '
        '"finish_reason": "stop"}]}\n\ndata: [DONE]\n\n',
        "''.join(arguments) TypeError",
    ),
    "content-not-a-string": (
        'data: {"choices": [{"delta": {"content": 5}, "finish_reason": "stop"}]}\n\ndata: [DONE]\n\n',
        "TextDelta(5) yielded, then ''.join(text) TypeError",
    ),
    "usage-not-an-object": (
        'data: {"choices": [], "usage": "x"}\n\ndata: {"choices": [{"delta": {}, "finish_reason": "stop"}]}\n\ndata: [DONE]\n\n',
        "_usage: 'x'.get AttributeError",
    ),
    "usage-not-numbers": (
        'data: {"choices": [], "usage": {"prompt_tokens": "x"}}\n\ndata: {"choices": [{"delta": {}, "finish_reason": "stop"}]}\n\n'
        "data: [DONE]\n\n",
        "_usage: int('x') ValueError",
    ),
}  # fmt: skip


@pytest.mark.parametrize("body", _fixed(_CHAT_BUGS))
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_chat_stream_known_bad_chunk_ends_cleanly(server: FakeOpenAI, body: str) -> None:
    assert_well_formed(*stream_body(server, body, chat=True))


_chat_chaos = _with_noise(
    _chat_chunks.map(lambda chunks: [_chat_frame(c) for c in chunks] + ["data: [DONE]\n\n"]).flatmap(_shuffled),
    _chat_noise
    | _chat_chunks.filter(bool).flatmap(st.sampled_from).flatmap(_mutated).map(_chat_frame)
    | st.sampled_from(["data: {\n\n", "event: x\n\n", "data: 5\n\n"]),
)


@FUZZ
@given(body=_chat_chaos)
@example(body=_CHAT_BUGS["chunk-not-an-object"][0])
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_chat_stream_of_broken_chunks_ends_cleanly(server: FakeOpenAI, body: str) -> None:
    assert_well_formed(*stream_body(server, body, chat=True))


# `history_item` turns what the stream delivered into what the next request replays: whatever it
# keeps must be something the API accepts (the fake server's validator stands in for it).
_DONE_ITEMS = [
    e["item"]
    for e in fe.turn(
        fe.message_item("hi", phase="final_answer"),
        fe.function_call_item("call_1", "shell", '{"command": ["ls"]}'),
        fe.custom_tool_call_item("call_2", "apply_patch", "*** Begin Patch"),
        fe.reasoning_item("thinking"),
        fe.compaction_item(),
        fe.web_search_call_item("weather in Lyon"),
        fe.web_search_call_item(action={"type": "find_in_page", "url": "https://x.org", "pattern": "py"}),
    )
    if e["type"] == "response.output_item.done"
]
_HISTORY_BUGS = {
    "content-not-a-list": ({"type": "message", "content": "x"}, "history_item: 'x'.get AttributeError"),
    "text-not-a-string": (
        {"type": "message", "content": [{"type": "output_text", "text": 5}]},
        "history_item keeps text 5; the API refuses every later request",
    ),
    "summary-not-a-list": ({"type": "reasoning", "summary": "s"}, "history_item keeps summary 's'; refused"),
}


def assert_replayable(raw: dict[str, Any]) -> None:
    from tui.fakeserver.validate import validate_responses
    from tui.model.items import history_item

    item = history_item(raw)
    if item is None:
        return
    items = [item]
    if item.get("type") in ("function_call", "custom_tool_call"):
        kind = "function_call_output" if item["type"] == "function_call" else "custom_tool_call_output"
        items.append({"type": kind, "call_id": item.get("call_id"), "output": "ok"})
    refusal = validate_responses({"model": fe.DEFAULT_MODEL, "input": items, "stream": True, "store": False})
    assert refusal is None, refusal.body()
    json.dumps(items, ensure_ascii=False).encode("utf-8")


@FUZZ
@given(raw=st.sampled_from(_DONE_ITEMS).flatmap(lambda item: st.just(item) | _mutated(item)).filter(lambda v: isinstance(v, dict)))
@example(raw=_HISTORY_BUGS["content-not-a-list"][0])
def test_any_output_item_is_replayed_in_a_form_the_api_accepts(raw: dict[str, Any]) -> None:
    assert_replayable(raw)


@pytest.mark.parametrize("raw", _fixed(_HISTORY_BUGS))
def test_known_bad_output_item_is_replayed_in_a_form_the_api_accepts(raw: dict[str, Any]) -> None:
    assert_replayable(raw)


def test_well_formed_output_items_are_replayed_as_the_api_accepts() -> None:
    for raw in _DONE_ITEMS:
        assert_replayable(raw)


# ---------------------------------------------------------------------------------------- config
#
# Whatever config.toml holds and whatever `-c` says, load_config gives a valid config or a
# ConfigError that names the problem: never a traceback.


def _config_fields(model: type[Any] | None = None, prefix: str = "") -> dict[str, Any]:
    """Every key of the config with its type; tables of user-named entries get a sample name."""
    from pydantic import BaseModel

    from tui.config import Config, _unwrap

    out: dict[str, Any] = {}
    for name, field in (model or Config).model_fields.items():
        key = f"{prefix}{name}"
        tp = out[key] = _unwrap(field.annotation)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            out.update(_config_fields(tp, key + "."))
        elif getattr(tp, "__origin__", None) is dict:
            value = _unwrap(tp.__args__[1])
            if isinstance(value, type) and issubclass(value, BaseModel):
                out.update(_config_fields(value, f"{key}.p."))
            else:
                out[f"{key}.p"] = value
    return out


def _plausible(tp: Any) -> st.SearchStrategy[str]:
    """TOML text of a value that the key's type would likely accept."""
    from typing import Literal, get_args, get_origin

    if get_origin(tp) is Literal:
        return st.sampled_from(get_args(tp)).map(json.dumps)
    if tp is bool:
        return st.sampled_from(["true", "false"])
    if tp is int:
        return st.integers(1, 10**6).map(str)
    if tp is float:
        return st.floats(0, 100).map(repr)
    if tp is Path:
        return st.sampled_from(['"config.toml"', '"."', '"sub/dir"', '"/tmp"'])
    if get_origin(tp) is list:
        return st.lists(_plausible(get_args(tp)[0]), max_size=2).map(lambda xs: f"[{', '.join(xs)}]")
    if tp is str:
        return st.sampled_from(["p", "x", "m"]).map(json.dumps) | st.text(max_size=8).map(json.dumps)
    return st.just("{}")


_FIELDS = _config_fields()
_plausible_line = st.sampled_from(sorted(_FIELDS)).flatmap(
    lambda key: _plausible(_FIELDS[key]).map(lambda value: f"{key} = {value}")
)


_toml_scalar = st.one_of(
    st.text(max_size=10).map(json.dumps),
    st.integers(-(2**70), 2**70).map(str),
    st.floats().map(lambda f: "nan" if f != f else "inf" if f == float("inf") else "-inf" if f == -float("inf") else repr(f)),
    st.sampled_from(["true", "false", '"never"', '"high"', '"chat"', '"danger-full-access"', '"."', '"sub/dir"', '"x"']),
)
_toml_value = st.recursive(
    _toml_scalar,
    lambda inner: st.lists(inner, max_size=3).map(lambda xs: f"[{', '.join(xs)}]")
    | st.lists(st.tuples(st.sampled_from(["a", "model", "base_url", "input", "x"]), inner), max_size=3).map(
        lambda kvs: "{" + ", ".join(f"{k} = {v}" for k, v in dict(kvs).items()) + "}"
    ),
    max_leaves=6,
)
_key = st.sampled_from(sorted(_FIELDS)) | st.text(max_size=8)
_toml_line = st.one_of(
    _plausible_line,
    _plausible_line,
    st.builds("{} = {}".format, _key, _toml_value),
    _key.map("[{}]".format),
    st.text(max_size=20),
)
_config_text = st.one_of(st.lists(_toml_line, max_size=6).map("\n".join), st.binary(max_size=40).map(lambda b: b.decode("latin-1")))
_override = _plausible_line.map(lambda line: line.replace(" = ", "=", 1)) | st.one_of(
    st.builds("{}={}".format, _key, _toml_value | st.text(max_size=10)), st.text(max_size=12)
)
_flags = st.fixed_dictionaries(
    {},
    optional={
        "model": st.text(max_size=6),
        "approval_policy": st.sampled_from(["never", "untrusted", "sometimes"]),
        "sandbox_mode": st.sampled_from(["read-only", "danger-full-access", "nope"]),
        "full_auto": st.booleans(),
        "yolo": st.booleans(),
        "profile": st.sampled_from(["x", "p"]) | st.text(max_size=4),
        "theme": st.text(max_size=6),
    },
)
_CONFIG_BUGS = {
    "tilde-user-in-a-path": (
        ('instructions_file = "~nosuchuser/x"\n', []),
        "_anchor_paths: Path('~nosuchuser/x').expanduser() raises RuntimeError",
    ),
    "tilde-user-in-writable-roots": (
        ("", ['sandbox_workspace_write.writable_roots=["~0"]']),
        "_anchor_paths: Path('~0').expanduser() raises RuntimeError",
    ),
    "nul-in-instructions-file": (
        ("", ['instructions_file="a\\u0000b"']),
        "load_config: read_text of a path with a NUL raises ValueError (catches OSError, UnicodeDecodeError)",
    ),
}


@pytest.fixture(scope="module")
def config_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("codeloop_home")


def load(home: Path, text: str, overrides: list[str], flags: dict[str, Any] | None = None) -> ResolvedConfig | ConfigError:
    (home / "config.toml").write_text(text, encoding="utf-8", errors="surrogateescape")
    args = argparse.Namespace(config=overrides, **(flags or {}))
    try:
        return load_config(args, env={"CODELOOP_HOME": str(home), "HOME": str(home)})
    except ConfigError as e:
        return e


@FUZZ
@given(text=_config_text, overrides=st.lists(_override, max_size=3), flags=_flags)
@example(text='model = "m"\n[profiles.p]\nmodel = "n"\n', overrides=["profile=p"], flags={})
def test_any_config_loads_or_says_what_is_wrong(config_home: Path, text: str, overrides: list[str], flags: dict[str, Any]) -> None:
    loaded = load(config_home, text, overrides, flags)
    if isinstance(loaded, ConfigError):
        assert str(loaded), "an empty message"
        event("ConfigError")
    else:
        assert isinstance(loaded, ResolvedConfig)
        event("loaded")


@pytest.mark.parametrize("case", _fixed(_CONFIG_BUGS))
def test_known_bad_config_says_what_is_wrong(config_home: Path, case: tuple[str, list[str]]) -> None:
    text, overrides = case
    assert isinstance(load(config_home, text, overrides), ConfigError | ResolvedConfig)
