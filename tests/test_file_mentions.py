"""`@` mentions: the file finder over the repository, its listing and its ranking."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.app_support import SIZE, type_text, until
from tests.engine_support import make_session
from tests.fakeopenai import FakeOpenAI
from tui.app.app import CodeloopApp
from tui.app.file_index import SKIPPED_DIRS, list_files, rank
from tui.app.widgets.composer import Composer
from tui.app.widgets.file_popup import FilePopup


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Tracked, untracked and ignored files."""
    for name, text in {
        "README.md": "# demo\n", "src/app.py": "x = 1\n", "src/util/strings.py": "y = 2\n",
        ".gitignore": "build/\n*.log\n", "notes/todo.md": "- a\n", "build/out.txt": "junk\n",
        "debug.log": "noise\n", "my notes.txt": "spaced\n",
    }.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "README.md", "src", ".gitignore")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    return tmp_path


# ------------------------------------------------------------------ listing


def test_git_listing_has_tracked_and_untracked_but_not_ignored(repo: Path) -> None:
    (repo / "src" / "app.py").unlink()  # deleted but still in the index: not offered
    listing = list_files(repo)
    assert listing.from_git and not listing.truncated
    assert sorted(listing.paths) == [".gitignore", "README.md", "my notes.txt", "notes/todo.md", "src/util/strings.py"]


def test_listing_from_a_subfolder_is_relative_to_it(repo: Path) -> None:
    assert sorted(list_files(repo / "src").paths) == ["app.py", "util/strings.py"]


def test_walk_outside_git_skips_hidden_and_junk_and_stops_at_the_cap(tmp_path: Path) -> None:
    for name in ("a.py", "pkg/b.py", ".hidden/c.py", ".env", "node_modules/x/d.js", "__pycache__/e.pyc"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    listing = list_files(tmp_path)
    assert not listing.from_git and sorted(listing.paths) == ["a.py", "pkg/b.py"]
    assert {"node_modules", "__pycache__"} <= SKIPPED_DIRS
    capped = list_files(tmp_path, limit=1)
    assert capped.truncated and len(capped.paths) == 1


# ------------------------------------------------------------------ ranking


PATHS = ["src/app.py", "src/apple/core.py", "docs/api/application.md", "tests/test_app.py", "app.py", "lib/a/p/p.py"]


def test_file_name_matches_come_before_folder_matches() -> None:
    assert rank(["src/apple/core.py", "tests/zap.py"], "ap")[0] == "tests/zap.py"


def test_name_prefix_then_containing_then_scattered_then_shorter_paths() -> None:
    assert rank(PATHS, "app") == [
        "app.py", "src/app.py", "docs/api/application.md", "tests/test_app.py", "src/apple/core.py", "lib/a/p/p.py",
    ]


def test_tighter_subsequence_wins_and_case_is_ignored() -> None:
    assert rank(["x/s_t_r.py", "x/str.py", "x/sxxxtxxxr.py"], "STR") == ["x/str.py", "x/s_t_r.py", "x/sxxxtxxxr.py"]


def test_letters_out_of_order_do_not_match() -> None:
    assert rank(["ab.py", "x/ab"], "ba") == [] and rank(PATHS, "pyx") == []


def test_empty_query_lists_shallow_files_first_and_limit_applies() -> None:
    assert rank(PATHS, "", limit=2) == ["app.py", "src/app.py"]


# ------------------------------------------------------------------ the finder in the app


async def _open_finder(pilot, app: CodeloopApp) -> FilePopup:  # type: ignore[no-untyped-def]
    await type_text(pilot, "look at @")
    popup = app.query_one(FilePopup)
    await until(pilot, lambda: popup.is_open and popup.paths is not None)
    return popup


async def test_at_opens_the_finder_and_tab_inserts_the_path(fake_openai: FakeOpenAI, repo: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, repo))
    async with app.run_test(size=SIZE) as pilot:
        popup = await _open_finder(pilot, app)
        assert "build/out.txt" not in popup.paths and "debug.log" not in popup.paths
        await type_text(pilot, "todo")
        assert popup.matches == ["notes/todo.md"]
        await pilot.press("tab")
        composer = app.query_one(Composer)
        assert composer.text == "look at notes/todo.md " and not popup.is_open
        assert composer.cursor_location == (0, len("look at notes/todo.md "))


async def test_ignored_files_are_not_offered(fake_openai: FakeOpenAI, repo: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, repo))
    async with app.run_test(size=SIZE) as pilot:
        popup = await _open_finder(pilot, app)
        await type_text(pilot, "out")
        assert popup.matches == [] and popup.is_open  # says "no file matches"
        await pilot.press("backspace", "backspace", "backspace", "l", "o", "g")
        assert "debug.log" not in popup.matches


async def test_down_and_enter_choose_without_sending(fake_openai: FakeOpenAI, repo: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, repo))
    async with app.run_test(size=SIZE) as pilot:
        popup = await _open_finder(pilot, app)
        await type_text(pilot, "py")
        assert popup.matches[:2] == ["src/app.py", "src/util/strings.py"]
        await pilot.press("down", "enter")
        assert app.query_one(Composer).text == "look at src/util/strings.py "
        assert fake_openai.responses_bodies() == [] and not app.session.history


async def test_a_path_with_spaces_is_quoted(fake_openai: FakeOpenAI, repo: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, repo))
    async with app.run_test(size=SIZE) as pilot:
        await _open_finder(pilot, app)
        await type_text(pilot, "mynot")
        await pilot.press("tab")
        assert app.query_one(Composer).text == 'look at "my notes.txt" '


async def test_escape_closes_the_finder_and_it_stays_closed_for_that_mention(fake_openai: FakeOpenAI, repo: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, repo))
    async with app.run_test(size=SIZE) as pilot:
        popup = await _open_finder(pilot, app)
        await pilot.press("escape")
        assert not popup.is_open
        await type_text(pilot, "src")
        assert not popup.is_open and app.query_one(Composer).text == "look at @src"
        await type_text(pilot, " and @")
        assert popup.is_open  # a new mention opens it again


async def test_an_email_address_is_not_a_mention(fake_openai: FakeOpenAI, repo: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, repo))
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "mail me@host")
        await pilot.pause(0.1)
        assert not app.query_one(FilePopup).is_open


async def test_new_files_show_up_once_the_listing_is_stale(fake_openai: FakeOpenAI, repo: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, repo))
    async with app.run_test(size=SIZE) as pilot:
        popup = await _open_finder(pilot, app)
        await pilot.press("escape")
        (repo / "fresh.py").write_text("")
        app._files_listed_at = -1e9  # stands for time passing: the cache is stale
        await type_text(pilot, " @fre")
        await until(pilot, lambda: popup.matches == ["fresh.py"])
