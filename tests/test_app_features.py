"""App features driven by keyboard: completion popup, help, narrow tabs, themes, keymap."""

from __future__ import annotations

from pathlib import Path

from tests.app_support import idle, type_text, until, until_approval_ready
from tests.engine_support import make_session
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui.app.app import CodeloopApp
from tui.app.screens.help import HelpScreen
from tui.app.widgets.composer import Composer
from tui.app.widgets.conversation import AnswerCell, NoticeCell, PanelCell
from tui.app.widgets.slash_popup import SlashPopup
from tui.config import TuiSettings


def _notices(app: CodeloopApp) -> list[str]:
    return [str(n.render()) for n in app.query(NoticeCell)]


async def test_slash_popup_lists_matches_and_tab_completes(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=(140, 40)) as pilot:
        await type_text(pilot, "/")
        popup = app.query_one(SlashPopup)
        assert popup.is_open and len(popup.matches) > 10
        await type_text(pilot, "app")
        assert [c.name for c in popup.matches] == ["/approvals"]
        await pilot.press("tab")
        assert app.query_one(Composer).text == "/approvals "
        assert not popup.is_open
        await type_text(pilot, "never")
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert app.session.settings.approval_policy == "never"


async def test_enter_on_a_partial_command_completes_and_runs_it(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=(140, 40)) as pilot:
        await type_text(pilot, "/sta")
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert app.query(PanelCell) and "approvals" in str(app.query_one(PanelCell).render())
        assert app.query_one(Composer).text == ""


async def test_escape_closes_the_popup_without_interrupting(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=(140, 40)) as pilot:
        await type_text(pilot, "/")
        await pilot.press("escape")
        assert not app.query_one(SlashPopup).is_open
        assert app.query_one(Composer).text == "/"


async def test_f1_shows_help_for_the_focused_pane(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=(140, 40)) as pilot:
        app.query_one("#diff").focus()
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen) and app.screen.pane == "diff"
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_f2_to_f5_maximize_a_pane_and_the_same_key_restores(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=(140, 40)) as pilot:
        for key, pane in (("f2", "conversation"), ("f3", "plan"), ("f4", "diff"), ("f5", "budget")):
            await pilot.press(key)
            await pilot.pause()
            maximized = app.screen.maximized
            assert maximized is not None and maximized.id == pane, key
            assert maximized.region.width == 140 and maximized.region.height >= 35, "it fills the screen"
            await pilot.press(key)
            await pilot.pause()
            assert app.screen.maximized is None
        await pilot.press("f3", "f4")  # another pane's key switches to that pane
        await pilot.pause()
        assert app.screen.maximized is not None and app.screen.maximized.id == "diff"
        await pilot.press("f4")
        await pilot.resize_terminal(90, 30)  # narrow: the side panes are tabs, one shown
        await pilot.pause()
        await pilot.press("f5")
        await pilot.pause()
        budget = app.screen.maximized
        assert budget is not None and budget.id == "budget" and budget.display
        assert budget.region.width == 90 and budget.region.height >= 25


async def test_narrow_terminal_turns_side_panes_into_tabs(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(fe.custom_tool_call_item("p1", "apply_patch", "*** Begin Patch\n*** Add File: a.txt\n+a\n*** End Patch\n")))
    fake_openai.queue_response(fe.turn(fe.message_item("added")))
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=(90, 40)) as pilot:
        assert app.screen.has_class("-narrow")
        assert app.query_one("#side-tabs").display
        assert app.query_one("#plan").has_class("-active") and not app.query_one("#diff").has_class("-active")
        await type_text(pilot, "add a file")
        await pilot.press("enter")
        await until(pilot, lambda: idle(app) and [a for a in app.query(AnswerCell) if a.done])
        assert app.query_one("#diff").has_class("-active"), "an applied patch brings the diff tab forward"
        await pilot.resize_terminal(150, 40)
        await pilot.pause(0.1)
        assert not app.screen.has_class("-narrow")
        assert all(app.query_one(f"#{p}").display for p in ("plan", "diff", "budget"))


async def test_theme_from_settings_and_switching_with_slash_theme(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path), tui=TuiSettings(theme="codeloop-light"))
    async with app.run_test(size=(140, 40)) as pilot:
        assert app.theme == "codeloop-light"
        await type_text(pilot, "/theme codeloop-high-contrast")
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert app.theme == "codeloop-high-contrast"


async def test_bad_user_theme_and_unknown_theme_get_a_message_and_the_default(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "themes").mkdir(parents=True)
    (home / "themes" / "broken.toml").write_text("name = [\n")
    app = CodeloopApp(make_session(fake_openai, tmp_path), tui=TuiSettings(theme="nope"), home=home)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause(0.1)
        notes = _notices(app)
        assert app.theme == "codeloop-dark"
        assert any("broken.toml" in n for n in notes) and any("'nope'" in n for n in notes)


async def test_keymap_from_settings_remaps_a_binding_by_id(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path), tui=TuiSettings(keymap={"app.help": "f9", "no.such": "f8"}))
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("f9")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert any("no.such" in n for n in _notices(app))


async def test_composer_keys_are_bindings_that_can_be_remapped(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(fe.message_item("got both lines")))
    app = CodeloopApp(make_session(fake_openai, tmp_path), tui=TuiSettings(keymap={"composer.submit": "ctrl+s", "composer.newline": "enter"}))
    async with app.run_test(size=(140, 40)) as pilot:
        await type_text(pilot, "one")
        await pilot.press("enter")
        await type_text(pilot, "two")
        assert app.query_one(Composer).text == "one\ntwo"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: idle(app) and [a for a in app.query(AnswerCell) if a.done])
    assert fake_openai.responses_bodies()[0]["input"][-1]["content"][0]["text"] == "one\ntwo"


async def test_approval_modal_works_with_arrows_and_enter(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    from tests.engine_support import outputs_by_call, shell_call

    fake_openai.queue_response(fe.turn(shell_call("c1", ["python3", "-c", "print('ran')"])))
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    app = CodeloopApp(make_session(fake_openai, tmp_path, policy="untrusted", sandbox="workspace-write"))
    async with app.run_test(size=(140, 40)) as pilot:
        await type_text(pilot, "go")
        await pilot.press("enter")
        await until_approval_ready(pilot, app)
        await pilot.press("down", "down", "enter")  # the third choice: deny
        await until(pilot, lambda: idle(app))
    assert "declined" in outputs_by_call(fake_openai.responses_bodies()[1])["c1"]


async def test_slash_diff_shows_the_working_tree_including_untracked(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    from tests.git_support import ScratchRepo
    from tui.app.widgets.diff_view import DiffView

    ScratchRepo(tmp_path).commit(**{"a.py": "x = 1\n"})
    (tmp_path / "a.py").write_text("x = 2\n")
    (tmp_path / "new.md").write_text("# new\n")
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=(140, 40)) as pilot:
        await type_text(pilot, "/diff")
        await pilot.press("enter")
        view = app.query_one(DiffView)
        await until(pilot, lambda: len(view.files) == 2)
        assert [f.title for f in view.files] == ["a.py", "new.md"]
        assert view.label.startswith("git diff")


async def test_slash_diff_outside_a_repository_says_so(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=(140, 40)) as pilot:
        await type_text(pilot, "/diff")
        await pilot.press("enter")
        await until(pilot, lambda: any("not inside a git repository" in n for n in _notices(app)))


async def test_tool_cell_expands_to_all_output_lines(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    from tests.engine_support import shell_call
    from tui.app.widgets.conversation import ToolCell

    fake_openai.queue_response(fe.turn(shell_call("c1", ["seq", "1", "20"])))
    fake_openai.queue_response(fe.turn(fe.message_item("counted")))
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=(140, 40)) as pilot:
        await type_text(pilot, "count")
        await pilot.press("enter")
        await until(pilot, lambda: idle(app) and [a for a in app.query(AnswerCell) if a.done])
        cell = app.query_one(ToolCell)
        assert cell.result is not None and "14 more lines" in cell.result and "\n  20" in cell.result and "  3\n" not in cell.result
        cell.focus()
        await pilot.press("enter")
        assert cell.expanded and "more lines" not in (cell.result or "") and "  1\n" in (cell.result or "")


async def test_slash_new_and_slash_resume_switch_sessions(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    from tui.app.app import SessionFactory
    from tui.app.screens.resume import ResumeScreen
    from tui.app.widgets.conversation import UserCell
    from tui.engine.rollout import RolloutWriter, rollout_path

    home = tmp_path / "home"
    made: list = []

    def new_session():  # type: ignore[no-untyped-def]
        import datetime as dt
        import uuid

        sid = str(uuid.uuid4())
        sess = make_session(fake_openai, tmp_path, session_id=sid, rollout=RolloutWriter(rollout_path(home, sid, dt.datetime.now())))
        made.append(sess)
        return sess

    def resume(path: Path):  # type: ignore[no-untyped-def]
        from tui.engine.resume import load_rollout

        r = load_rollout(path)
        return make_session(fake_openai, tmp_path, session_id=r.meta["id"], history=r.history)

    fake_openai.queue_response(fe.turn(fe.message_item("answer one")))
    fake_openai.queue_response(fe.turn(fe.message_item("answer two")))
    app = CodeloopApp(new_session(), sessions=SessionFactory(home=home, new=new_session, resume=resume))
    async with app.run_test(size=(140, 40)) as pilot:
        await type_text(pilot, "first session task")
        await pilot.press("enter")
        await until(pilot, lambda: idle(app) and [a for a in app.query(AnswerCell) if a.done])
        first_id = app.session.session_id
        await type_text(pilot, "/new")
        await pilot.press("enter")
        await until(pilot, lambda: app.session.session_id != first_id)
        assert not app.query(UserCell) and len(made) == 2
        await type_text(pilot, "/resume")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ResumeScreen))
        assert [s.session_id for s in app.screen.sessions] == [first_id]  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(pilot, lambda: app.session.session_id == first_id)
        await pilot.pause(0.1)
        assert [str(c.render()) for c in app.query(UserCell)] == ["first session task"]
        await type_text(pilot, "more")
        await pilot.press("enter")
        await until(pilot, lambda: idle(app) and len(fake_openai.responses_bodies()) == 2)
    body = fake_openai.responses_bodies()[1]
    assert body["prompt_cache_key"] == first_id and "first session task" in str(body["input"])


async def test_a_retried_stream_does_not_leave_its_partial_answer_on_screen(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    full = fe.turn(fe.message_item("PARTIAL-ATTEMPT text that never completed"))
    fake_openai.queue_cut_stream(full[:-1])
    fake_openai.queue_response(fe.turn(fe.message_item("the real answer")))
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=(140, 40)) as pilot:
        await type_text(pilot, "go")
        await pilot.press("enter")
        await until(pilot, lambda: idle(app) and [a for a in app.query(AnswerCell) if a.done])
        assert [a.text for a in app.query(AnswerCell)] == ["the real answer"]
        assert any(" · retry 1/" in n for n in _notices(app))


async def test_typing_defers_the_answer_paint_and_the_answer_still_ends_whole(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """Keystrokes come first: right after a key, a due paint of the streamed answer waits (the
    frame that shows the key is not held up by a relayout); the finished answer is complete."""
    from textual.app import App

    from tui.app.widgets import answer

    class Host(App[None]):
        def compose(self):  # type: ignore[no-untyped-def]
            yield AnswerCell()

    async with Host().run_test(size=(80, 20)) as pilot:
        cell = pilot.app.query_one(AnswerCell)
        cell.append("first words ")
        await cell._flush()
        cell.append("typed over")
        answer.note_typing()
        await cell._paced_flush()  # due, but a key was just pressed and a paint just happened
        assert cell._live.content.markup == "first words ", "deferred while typing"
        await cell.finish("first words typed over")
        assert cell._live.content.markup == "first words typed over"


def test_start_up_garbage_is_settled_once_and_collection_is_back_on() -> None:
    """run_app turns the collector off for the start; the warm-up turns it back on, freezing what
    start-up made only the first time (a later freeze would keep an old session's garbage)."""
    import gc

    from tui.app.startup import settle_startup_garbage

    gc.disable()
    settle_startup_garbage()
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    gc.disable()
    settle_startup_garbage()
    assert gc.isenabled() and gc.get_freeze_count() == frozen


async def test_the_session_is_built_after_the_first_frame_and_what_came_before_waits(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """`codeloop` paints from the configuration, then builds the session (the engine's imports
    stay off the first frame); a message sent before the session existed is sent once it does."""
    from tui.app.app import SessionPreview
    from tui.app.widgets.status import StatusLine

    fake_openai.queue_response(fe.turn(fe.message_item("hello back")))
    seen_at_start: list[dict[str, str]] = []

    def start():  # type: ignore[no-untyped-def]
        seen_at_start.append(dict(app.query_one(StatusLine).fields))
        app._early.append("sent before the session existed")
        return make_session(fake_openai, tmp_path)

    preview = SessionPreview("gpt-preview", tmp_path, "never", "danger-full-access", 272_000, start=start)
    app = CodeloopApp(None, preview=preview)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: app.session is not None and idle(app))
        assert seen_at_start and seen_at_start[0]["model"] == "gpt-preview" and seen_at_start[0]["cwd"] == str(tmp_path)
        [body] = fake_openai.responses_bodies()
        assert body["input"][-1]["content"][0]["text"] == "sent before the session existed"
        await until(pilot, lambda: any(a.done for a in app.query(AnswerCell)))


async def test_a_session_that_cannot_start_ends_the_app_with_the_reason(tmp_path: Path) -> None:
    from tui.app.app import SessionPreview

    def start():  # type: ignore[no-untyped-def]
        raise OSError("the sessions folder is read-only")

    app = CodeloopApp(None, preview=SessionPreview("m", tmp_path, "never", "danger-full-access", None, start=start))
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: app.return_code is not None)
    assert app.return_code == 2
