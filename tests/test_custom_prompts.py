"""Custom prompts: `$CODELOOP_HOME/prompts/NAME.md` is `/prompts:NAME`, placeholders filled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.app_support import SIZE, calm, idle, type_text, until
from tests.engine_support import make_session
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui.app.app import CodeloopApp
from tui.app.widgets.composer import Composer
from tui.app.widgets.conversation import NoticeCell, UserCell
from tui.app.widgets.slash_popup import SlashPopup
from tui.config import TuiSettings
from tui.engine.custom_prompts import MAX_PROMPT_BYTES, CustomPrompt, PromptArgsError, load_prompts

SNAP_HOME = Path("/tmp/codeloop-snapshots/prompts-home")


def _prompts(home: Path, files: dict[str, str | bytes]) -> Path:
    folder = home / "prompts"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    return home


# ------------------------------------------------------------------ expansion


def test_positional_placeholders_and_arguments() -> None:
    p = CustomPrompt("fix", "Fix issue #$1 with priority $2 ($3). All: $ARGUMENTS")
    assert p.expand('42 high') == "Fix issue #42 with priority high (). All: 42 high"
    assert p.expand('42 "very high" x') == "Fix issue #42 with priority very high (x). All: 42 very high x"


def test_double_dollar_is_a_literal_dollar_and_values_are_not_expanded_again() -> None:
    p = CustomPrompt("cost", "Costs $$5; say $1 and $TOPIC")
    assert p.expand('TOPIC=\'$1 and $ARGUMENTS\' "$$HOME"') == "Costs $5; say $$HOME and $1 and $ARGUMENTS"


def test_named_placeholders_come_from_name_equals_value() -> None:
    p = CustomPrompt("review", "Review $FILE for $FOCUS. Extra: $ARGUMENTS")
    assert p.named == ["FILE", "FOCUS"]
    assert p.expand('FILE=src/app.py FOCUS="error handling" quickly') == "Review src/app.py for error handling. Extra: quickly"


def test_a_missing_named_value_is_an_error_that_names_it() -> None:
    p = CustomPrompt("review", "Review $FILE for $FOCUS")
    with pytest.raises(PromptArgsError, match=r"/prompts:review needs FOCUS: give them as NAME=value"):
        p.expand("FILE=a.py")
    with pytest.raises(PromptArgsError, match="cannot read the arguments"):
        p.expand('FILE="a.py')


def test_summary_is_the_description_else_the_first_words() -> None:
    assert CustomPrompt("a", "x", description="Do the thing").summary == "Do the thing"
    long = CustomPrompt("b", "\n# Review `this` file carefully for $1 bugs and then a b c d e f\n")
    assert long.summary == "Review this file carefully for bugs and then …"


# ------------------------------------------------------------------ loading


def test_front_matter_gives_the_description_and_is_not_sent(tmp_path: Path) -> None:
    home = _prompts(tmp_path, {"review-pr.md": '---\ndescription: "Review a PR"\nargument-hint: "[pr] [priority]"\n---\nReview PR #$1.\n'})
    [p], problems = load_prompts(home)
    assert problems == []
    assert (p.command, p.description, p.argument_hint, p.body) == ("/prompts:review-pr", "Review a PR", "[pr] [priority]", "Review PR #$1.\n")


def test_bad_files_are_named_and_skipped_and_the_others_load(tmp_path: Path) -> None:
    home = _prompts(tmp_path, {
        "good.md": "Say hi.\n",
        "latin1.md": "caf\xe9".encode("latin-1"),
        "open.md": "---\ndescription: x\n",
        "junk.md": "---\nthis is not a key value\n---\nbody\n",
        "huge.md": "x" * (MAX_PROMPT_BYTES + 1),
        "empty.md": "---\ndescription: nothing\n---\n",
        "two words.md": "hi\n",
        "escape.md": "Say \x1b]0;pwned\x07 hi\n",
        "notes.txt": "not a prompt\n",
    })
    (home / "prompts" / "dir.md").mkdir()
    prompts, problems = load_prompts(home)
    assert [p.name for p in prompts] == ["good"]
    text = "\n".join(problems)
    for name, why in {
        "latin1.md": "not UTF-8", "open.md": "no closing `---`", "junk.md": "not `key: value`",
        "huge.md": "at most 64 KB", "empty.md": "no prompt text", "two words.md": "a name is letters",
        "dir.md": "not a regular file", "escape.md": "control characters",
    }.items():
        assert f"'{name}' skipped: " in text and why in text, name
    assert "notes.txt" not in text
    assert len(problems) == 8


def test_no_prompts_folder_is_no_prompts_and_no_problem(tmp_path: Path) -> None:
    assert load_prompts(tmp_path) == ([], [])


# ------------------------------------------------------------------ in the app


def _app(fake: FakeOpenAI, cwd: Path, home: Path) -> CodeloopApp:
    return CodeloopApp(make_session(fake, cwd), home=home)


async def test_prompts_are_offered_in_the_slash_popup(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    home = _prompts(tmp_path / "home", {"fix.md": "---\ndescription: Fix [bold]an[/] issue\n---\nFix #$1\n", "hello.md": "Say hello to the team\n"})
    app = _app(fake_openai, tmp_path, home)
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "/pro")
        popup = app.query_one(SlashPopup)
        await until(pilot, lambda: popup.is_open)
        assert [c.name for c in popup.matches] == ["/prompts:fix", "/prompts:hello"]
        assert [c.help for c in popup.matches] == ["Fix [bold]an[/] issue", "Say hello to the team"]
        assert str(popup.get_option_at_index(0).prompt).endswith("Fix [bold]an[/] issue")  # markup shown, not applied


async def test_a_prompt_is_sent_expanded(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    home = _prompts(tmp_path / "home", {"fix.md": "---\ndescription: Fix an issue\n---\nFix issue #$1 ($ARGUMENTS), cost $$0.\n"})
    fake_openai.queue_response(fe.turn(fe.message_item("On it.")))
    app = _app(fake_openai, tmp_path, home)
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "/prompts:fix")
        await pilot.press("tab")  # completes, with a space: it takes arguments
        assert app.query_one(Composer).text == "/prompts:fix "
        await type_text(pilot, '42 "the login page"')
        await pilot.press("enter")
        await until(pilot, lambda: idle(app) and fake_openai.responses_bodies())
        assert [str(c.render()) for c in app.query(UserCell)] == ["Fix issue #42 (42 the login page), cost $0."]
    user = [i for i in fake_openai.responses_bodies()[0]["input"] if i.get("role") == "user"][-1]
    assert user["content"] == [{"type": "input_text", "text": "Fix issue #42 (42 the login page), cost $0."}]


async def test_a_missing_value_warns_and_gives_the_line_back(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    home = _prompts(tmp_path / "home", {"review.md": "Review $FILE\n"})
    app = _app(fake_openai, tmp_path, home)
    async with app.run_test(size=SIZE) as pilot:
        composer = app.query_one(Composer)
        composer.text = "/prompts:review please"
        await pilot.press("enter")
        await until(pilot, lambda: app.query(NoticeCell))
        assert "/prompts:review needs FILE" in str(app.query(NoticeCell).last().render())
        assert composer.text == "/prompts:review please"
        composer.text = "/prompts:nope"
        await pilot.press("enter")
        await until(pilot, lambda: len(app.query(NoticeCell)) == 2)
        assert "Unknown custom prompt '/prompts:nope'" in str(app.query(NoticeCell).last().render())
    assert fake_openai.responses_bodies() == []


async def test_a_bad_prompt_file_is_a_startup_notice_not_a_crash(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    home = _prompts(tmp_path / "home", {"bad\x1b]0;x\x07.md": "hi\n", "ok.md": b"\xff\xfe nope"})
    app = _app(fake_openai, tmp_path, home)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(app.query(NoticeCell)) >= 2)
        notes = [str(c.render()) for c in app.query(NoticeCell)]
        assert any("'ok.md' skipped: it is not UTF-8" in n for n in notes)
        assert any("skipped: a name is letters" in n for n in notes)
        assert not any("\x1b" in n or "\x07" in n for n in notes)


def test_snapshot_prompts_in_the_slash_popup(snap_compare: Any, fake_openai: FakeOpenAI) -> None:
    _prompts(SNAP_HOME, {
        "fix-issue.md": '---\ndescription: "Fix a GitHub issue"\nargument-hint: "[number]"\n---\nFix issue #$1.\n',
        "explain.md": "Explain what this repository does, for a newcomer\n",
    })
    workspace = SNAP_HOME.parent / "workspace"
    workspace.mkdir(parents=True, exist_ok=True)
    session = make_session(fake_openai, workspace, policy="untrusted", sandbox="workspace-write", context_window=272_000)
    app = CodeloopApp(session, auto_compact_limit=244_800, branch="main", tui=TuiSettings(), home=SNAP_HOME)

    async def before(pilot: Any) -> None:
        calm(app)
        await type_text(pilot, "/pr")
        await until(pilot, lambda: app.query_one(SlashPopup).is_open)
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(120, 30), run_before=before)
