"""/review in the app: hardened git's diff, a review turn, a findings list to move through."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.app_support import SIZE, calm, type_text, until
from tests.engine_support import make_session
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tests.git_support import ScratchRepo
from tui.app.app import CodeloopApp
from tui.app.gitdiff import UnknownRevision, working_tree_diff
from tui.app.widgets.composer import Composer
from tui.app.widgets.conversation import AnswerCell, NoticeCell
from tui.app.widgets.diff_view import DiffView, _DiffBody
from tui.app.widgets.review_list import ReviewList
from tui.config import TuiSettings

SNAP_REPO = Path("/tmp/codeloop-snapshots/review-repo")

CALC = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(30))
FINDINGS = {
    "findings": [
        {"title": "Typo in a comment", "body": "teh -> the", "priority": 3, "file": "notes.md", "line": 1},
        {"title": "f25 divides by zero", "body": "x / 0 raises ZeroDivisionError for every input.", "priority": 0, "file": "calc.py", "line": 77},
        {"title": "\x1b]0;pwned\x07Escape in a title", "body": "", "priority": 1, "file": "calc.py", "line": 4},
    ],
    "overall": "f25 is broken.",
}


def _repo(root: Path) -> ScratchRepo:
    repo = ScratchRepo(root)
    repo.commit(**{"calc.py": CALC, "notes.md": "notes\n"})
    repo.write("calc.py", CALC.replace("return x + 25", "return x / 0").replace("return x + 1\n", "return x + 1  # one\n"))
    repo.write("notes.md", "teh notes\n")
    return repo


def _review_list(app: CodeloopApp) -> ReviewList:
    return app.query_one(ReviewList)


async def _reviewed(pilot: Any, app: CodeloopApp) -> None:
    """Run `/review` and wait for its findings."""
    await type_text(pilot, "/review")
    await pilot.press("enter")
    await until(pilot, lambda: app.query(ReviewList) and _review_list(app).done)


async def test_review_sends_the_diff_and_lists_findings_by_priority(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    _repo(tmp_path)
    fake_openai.queue_response(fe.turn(fe.message_item(json.dumps(FINDINGS))))
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await _reviewed(pilot, app)
        cell = _review_list(app)
        assert [f.title for f in cell.findings] == ["f25 divides by zero", "Escape in a title", "Typo in a comment"]
        assert [f.priority for f in cell.findings] == [0, 1, 3]
        assert "\x1b" not in str(cell.get_option_at_index(1).prompt) and "\x07" not in str(cell.get_option_at_index(1).prompt)
        assert app.query_one(DiffView).label == "review: uncommitted changes"
        # Tab reaches the list (as it reaches a command's cell); Enter opens the first finding:
        # the diff pane shows calc.py around line 77.
        for _ in range(6):
            if app.focused is cell:
                break
            await pilot.press("tab")
        assert app.focused is cell
        await pilot.press("enter")
        view = app.query_one(DiffView)
        assert view.files[view.selected or 0].path == "calc.py"
        body = view.query_one(_DiffBody)
        shown = body.lines[int(body.scroll_y): int(body.scroll_y) + body.size.height]
        assert any(line.new_no == 77 for line in shown)
        # `f` asks for a fix: the composer holds it, with the keys.
        await pilot.press("f")
        composer = app.query_one(Composer)
        assert composer.text.startswith("fix finding 1: [P0] calc.py:77: f25 divides by zero.")
        assert app.focused is composer
    [body] = fake_openai.responses_bodies()
    sent = body["input"][0]["content"][0]["text"]
    assert "Review the uncommitted changes" in sent and "+    return x / 0" in sent and "+teh notes" in sent


async def test_down_then_enter_opens_the_second_finding(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    _repo(tmp_path)
    fake_openai.queue_response(fe.turn(fe.message_item(json.dumps(FINDINGS))))
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await _reviewed(pilot, app)
        app.query_one(DiffView).show_unified("", label="something else")  # replaced meanwhile
        _review_list(app).focus()
        await pilot.press("down", "down", "enter")
        view = app.query_one(DiffView)
        assert view.label == "review: uncommitted changes"  # the reviewed diff, shown again
        assert view.files[view.selected or 0].path == "notes.md"


async def test_review_since_a_branch_and_bad_revisions(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    repo.git.checkout("-q", "-b", "feature")
    repo.commit()
    fake_openai.queue_response(fe.turn(fe.message_item('{"findings": [], "overall": "Fine."}')))
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        for bad in (f"--output={tmp_path / 'evil'}", "nope"):
            app.query_one(Composer).text = f"/review {bad}"
            await pilot.press("enter")
        await until(pilot, lambda: len(app.query(NoticeCell)) == 2)
        notes = [str(c.render()) for c in app.query(NoticeCell)]
        assert "is not a branch or commit name" in notes[0] and "names no commit" in notes[1]
        assert not (tmp_path / "evil").exists()
        app.query_one(Composer).text = "/review main"
        await pilot.press("enter")
        await until(pilot, lambda: app.query(ReviewList) and _review_list(app).done)
        assert "No findings." in str(_review_list(app).get_option_at_index(0).prompt)
    [body] = fake_openai.responses_bodies()
    assert "Review the changes since main" in body["input"][0]["content"][0]["text"]


async def test_a_clean_tree_sends_nothing(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    ScratchRepo(tmp_path).commit(**{"a.txt": "one\n"})
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "/review")
        await pilot.press("enter")
        await until(pilot, lambda: app.query(NoticeCell))
        assert "no uncommitted changes to review" in str(app.query(NoticeCell).last().render())
    assert fake_openai.responses_bodies() == []


async def test_an_answer_without_findings_json_is_shown_as_text(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    _repo(tmp_path)
    fake_openai.queue_response(fe.turn(fe.message_item("The change looks **fine**.")))
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "/review")
        await pilot.press("enter")
        await until(pilot, lambda: app.query(ReviewList) and _review_list(app).done and app.query(AnswerCell))
        assert "not a list of findings" in str(_review_list(app).get_option_at_index(0).prompt)


def test_since_is_the_merge_base_and_never_an_option(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    repo.git.stash()
    repo.git.checkout("-q", "-b", "feature")
    repo.commit(**{"new.py": "x = 1\n"})
    diff = working_tree_diff(tmp_path, since="main")
    assert diff is not None and "+++ b/new.py" in diff and "calc.py" not in diff
    for bad in ("-p", "--output=/tmp/evil", "main two", "a\x1bb", ""):
        with pytest.raises(UnknownRevision):
            working_tree_diff(tmp_path, since=bad)


def test_snapshot_review_findings_list(snap_compare: Any, fake_openai: FakeOpenAI) -> None:
    import shutil

    shutil.rmtree(SNAP_REPO, ignore_errors=True)
    _repo(SNAP_REPO)
    fake_openai.queue_response(fe.turn(fe.message_item(json.dumps(FINDINGS))))
    session = make_session(fake_openai, SNAP_REPO, policy="untrusted", sandbox="workspace-write", context_window=272_000)
    app = CodeloopApp(session, auto_compact_limit=244_800, branch="main", tui=TuiSettings())

    async def before(pilot: Any) -> None:
        calm(app)
        await type_text(pilot, "/review")
        await pilot.press("enter")
        await until(pilot, lambda: app.query(ReviewList) and _review_list(app).done and not app.session.turn_running)
        _review_list(app).focus()
        await pilot.press("down")
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(130, 34), run_before=before)


async def test_an_interrupted_review_says_so(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    _repo(tmp_path)
    fake_openai.queue_response(fe.turn(fe.message_item("{}")), stall_after=1)
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "/review")
        await pilot.press("enter")
        await until(pilot, lambda: app.session.turn_running and fake_openai.responses_bodies())
        await pilot.press("escape")
        await until(pilot, lambda: app.query(ReviewList) and _review_list(app).done)
        assert "No findings: the review was interrupted." in str(_review_list(app).get_option_at_index(0).prompt)
