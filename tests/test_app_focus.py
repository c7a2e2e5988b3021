"""Focus bookkeeping (Pilot, beside the tmux tests in test_tmux_input.py): wherever the focus
was — a pane, a closed modal — text typed next lands in the composer."""

from __future__ import annotations

from pathlib import Path

from tests.app_support import SIZE, type_text, until
from tests.engine_support import make_session
from tests.fakeopenai import FakeOpenAI
from tui.app.app import CodeloopApp
from tui.app.screens.help import HelpScreen
from tui.app.widgets.composer import Composer
from tui.app.widgets.conversation import Conversation
from tui.app.widgets.diff_view import DiffView


async def test_escape_from_a_pane_gives_the_keys_back_to_the_composer(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        for pane in (Conversation, DiffView):
            app.screen.set_focus(app.query_one(pane))
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.focused, Composer))
        await type_text(pilot, "np jk")  # the diff pane's navigation letters: text here
        assert app.query_one(Composer).text == "np jk"


async def test_letters_typed_in_a_focused_pane_go_to_the_composer(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        app.screen.set_focus(app.query_one(Conversation))
        await type_text(pilot, "hello")
        assert app.query_one(Composer).text == "hello" and isinstance(app.focused, Composer)


async def test_closing_help_gives_the_keys_back_to_the_composer(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4", "f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert app.screen.pane == "diff"  # help for the pane on screen
        await pilot.press("escape", "f4")
        await until(pilot, lambda: isinstance(app.focused, Composer) and app.screen.maximized is None)
        await type_text(pilot, "typed")
        assert app.query_one(Composer).text == "typed"
