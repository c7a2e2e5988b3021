"""Prompt history across sessions (`$CODELOOP_HOME/history.jsonl`): what is stored, Up/Down
recall after this session's own messages, Ctrl+R search, a bounded, private, shared file."""

from __future__ import annotations

import json
import multiprocessing
import stat
from pathlib import Path
from typing import Any

from tests.app_support import SIZE, calm, idle, type_text, until
from tests.engine_support import make_session
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui.app.app import CodeloopApp
from tui.app.widgets.composer import Composer
from tui.app.widgets.history_popup import HistoryPopup
from tui.engine.prompt_history import FILE_NAME, PromptHistory

KEY = "sk-proj-abcDEF1234567890ghijklmnopQRSTUV"


def _write(home: Path, *texts: str, session: str = "earlier") -> None:
    home.mkdir(parents=True, exist_ok=True)
    with open(home / FILE_NAME, "a", encoding="utf-8") as f:
        for n, text in enumerate(texts):
            f.write(json.dumps({"text": text, "time": 1_700_000_000 + n, "session": session}) + "\n")


def _app(fake: FakeOpenAI, tmp_path: Path, home: Path) -> CodeloopApp:
    workspace = tmp_path / "workspace"
    workspace.mkdir(exist_ok=True)
    return CodeloopApp(make_session(fake, workspace), home=home)


async def _ready(pilot: Any, app: CodeloopApp, count: int) -> Composer:
    composer = app.query_one(Composer)
    await until(pilot, lambda: len(composer.past) == count and composer.search is not None)
    return composer


async def test_sent_messages_are_stored_privately_and_recalled_in_the_next_session(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    for n in range(3):
        fake_openai.queue_response(fe.turn(fe.message_item(f"answer {n}")))
    first = _app(fake_openai, tmp_path, home)
    async with first.run_test(size=SIZE) as pilot:
        await _ready(pilot, first, 0)
        for n, text in enumerate(["first message", "second message"], 1):
            await type_text(pilot, text)
            await pilot.press("enter")
            await until(pilot, lambda n=n: idle(first) and len(fake_openai.responses_bodies()) == n)
        session_id = first.session.session_id
    lines = [json.loads(line) for line in (home / FILE_NAME).read_text(encoding="utf-8").splitlines()]
    assert [(r["text"], r["session"]) for r in lines] == [("first message", session_id), ("second message", session_id)]
    assert all(isinstance(r["time"], float) for r in lines)
    assert stat.S_IMODE((home / FILE_NAME).stat().st_mode) == 0o600

    second = _app(fake_openai, tmp_path, home)
    async with second.run_test(size=SIZE) as pilot:
        composer = await _ready(pilot, second, 2)
        await type_text(pilot, "third message")
        await pilot.press("enter")
        await until(pilot, lambda: idle(second))
        seen = []
        for _ in range(4):  # this session's first, newest first; past the oldest it stays there
            await pilot.press("up")
            seen.append(composer.text)
        assert seen == ["third message", "second message", "first message", "first message"]
        await pilot.press("down", "down")
        assert composer.text == "third message"
        await pilot.press("down")
        assert composer.text == ""


async def test_ctrl_r_filters_as_typed_and_enter_puts_the_entry_in_the_composer(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    _write(home, "run the unit tests", "fix the parser bug", "explain the parser", "write a README")
    app = _app(fake_openai, tmp_path, home)
    async with app.run_test(size=SIZE) as pilot:
        composer = await _ready(pilot, app, 4)
        await type_text(pilot, "draft")
        # Ctrl+R and the query in one go: nothing typed right after Ctrl+R is lost.
        await pilot.press("ctrl+r", *"parser")
        search = app.query_one(HistoryPopup)
        assert search.is_open and search.typed == "parser"
        assert search.matches == ["explain the parser", "fix the parser bug"]  # newest first
        assert composer.text == "draft"  # the query is not typed into the message
        await pilot.press("ctrl+r")  # again: the next older match
        await pilot.press("enter")
        assert not search.is_open
        assert composer.text == "fix the parser bug"
        assert fake_openai.responses_bodies() == []  # Enter took the entry, it did not send

        await pilot.press("ctrl+r", *"zzz")
        assert search.matches == [] and "no match" in str(search.border_title)
        await pilot.press("backspace", "backspace", "backspace", *"READ", "escape")
        assert not search.is_open
        assert composer.text == "fix the parser bug"  # Esc cancels: the composer is as it was
        await pilot.press("x")
        assert composer.text == "fix the parser bugx"


async def test_a_message_holding_an_api_key_is_stored_redacted(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    home = tmp_path / "home"
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    app = _app(fake_openai, tmp_path, home)
    async with app.run_test(size=SIZE) as pilot:
        await _ready(pilot, app, 0)
        composer = app.query_one(Composer)
        composer.text = f"use the key {KEY} for the test"
        await pilot.press("enter")
        await until(pilot, lambda: (home / FILE_NAME).exists() and idle(app))
    stored = (home / FILE_NAME).read_text(encoding="utf-8")
    assert KEY not in stored
    assert json.loads(stored)["text"] == "use the key [REDACTED] for the test"


async def test_a_corrupt_line_is_skipped_and_the_rest_recalled(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    home = tmp_path / "home"
    _write(home, "older entry")
    with open(home / FILE_NAME, "a", encoding="utf-8") as f:
        f.write('{"text": "torn wri\n')  # a write cut short
        f.write("[1, 2]\n")  # JSON, but no entry
        f.write('{"text": 42}\n')
    _write(home, "newer entry")
    app = _app(fake_openai, tmp_path, home)
    async with app.run_test(size=SIZE) as pilot:
        composer = await _ready(pilot, app, 2)
        await pilot.press("up")
        assert composer.text == "newer entry"
        await pilot.press("up")
        assert composer.text == "older entry"


def test_the_file_is_trimmed_to_the_newest_entries(tmp_path: Path) -> None:
    history = PromptHistory(tmp_path, "s1", limit=10)
    for n in range(25):
        history.append(f"message {n}")
    entries = history.load()
    assert [e.text for e in entries] == [f"message {n}" for n in range(15, 25)]
    assert len((tmp_path / FILE_NAME).read_text(encoding="utf-8").splitlines()) == 10
    assert stat.S_IMODE((tmp_path / FILE_NAME).stat().st_mode) == 0o600
    history.append("after the trim")
    assert history.load()[-1].text == "after the trim"


def _append_many(home: str, who: int) -> None:
    history = PromptHistory(Path(home), f"session-{who}", limit=10_000)
    for n in range(200):
        history.append(f"{who}:{n} " + "x" * (n * 37 % 3000))  # some lines well past PIPE_BUF


def test_concurrent_sessions_appending_never_corrupt_the_file(tmp_path: Path) -> None:
    """Four processes append 200 lines each (and one trims meanwhile): every line parses and
    each writer's lines are all there, in its own order."""
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_append_many, args=(str(tmp_path), who)) for who in range(4)]
    for worker in workers:
        worker.start()
    PromptHistory(tmp_path, limit=10_000).load()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    raw = (tmp_path / FILE_NAME).read_text(encoding="utf-8").splitlines()
    entries = PromptHistory(tmp_path, limit=10_000).load()
    assert len(entries) == len(raw) == 800
    for who in range(4):
        mine = [int(e.text.split(" ")[0].split(":")[1]) for e in entries if e.session == f"session-{who}"]
        assert mine == list(range(200))


def test_history_search_snapshot(snap_compare: Any, fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    home = Path("/tmp/codeloop-snapshots/history-home")
    if (home / FILE_NAME).exists():
        (home / FILE_NAME).unlink()
    _write(home, "run the unit tests", "fix the parser bug\nand add a test", "explain the parser", "write a README")
    workspace = Path("/tmp/codeloop-snapshots/workspace")
    workspace.mkdir(parents=True, exist_ok=True)
    app = CodeloopApp(make_session(fake_openai, workspace), home=home, branch="main")

    async def run_before(pilot: Any) -> None:
        calm(app)
        await until(pilot, lambda: len(app.query_one(Composer).past) == 4)
        await pilot.press("ctrl+r", *"pars")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(120, 30), run_before=run_before)
