"""Esc Esc in the real binary (tmux, real timing): the picker opens only with an empty composer
and nothing running, keys typed right after it apply in order, and the fork sent is exactly
the edited text after the kept messages.

Repeated inside each test (rounds), at a typist's pace and in one-write bursts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.app_tmux_support import LiveApp, live_app, poll, user_texts
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tests.tmux_driver import panel

pytestmark = pytest.mark.timeout(300)

PICKER = "edit an earlier message"
EDITING = "editing a fork from message"
TYPIST_S = 0.15  # between two keys of a typist


def _answer_everything(fake: FakeOpenAI) -> None:
    def answer(body: dict[str, Any]) -> Any:
        return fe.turn(fe.message_item(f"answer to {user_texts(body)[-1]}"))

    for _ in range(60):
        fake.queue_handler(answer)


@pytest.fixture
def app(tmp_path: Path, fake_openai: FakeOpenAI) -> Iterator[LiveApp]:
    _answer_everything(fake_openai)
    yield from live_app(tmp_path, fake_openai)


def _send(app: LiveApp, text: str, expected: list[str]) -> None:
    app.tmux.type_text(text + "\r")
    assert app.wait_sent(len(expected)) == expected
    app.tmux.wait_for(f"the answer to {text!r}", lambda s: f"answer to {text}" in (panel(s, "Conversation") or ""), timeout_s=30)


def _picker_open(app: LiveApp) -> str:
    return app.tmux.wait_for("the picker", lambda s: PICKER in s, timeout_s=30)


def test_esc_esc_at_a_typists_pace_forks_at_the_chosen_message(app: LiveApp) -> None:
    """3 rounds: two messages, Esc … Esc, Down, Enter (the older one), edit, send: the model is
    sent the messages before it and the edited text, nothing of the old branch."""
    kept: list[str] = []
    for n in range(3):
        first, second = f"round {n} first", f"round {n} second"
        _send(app, first, [*kept, first])
        _send(app, second, [*kept, first, second])
        app.tmux.press("Escape")
        time.sleep(TYPIST_S)
        app.tmux.press("Escape")
        _picker_open(app)
        for key in ("Down", "Enter"):
            time.sleep(TYPIST_S)
            app.tmux.press(key)
        app.tmux.wait_for("the draft", lambda s, f=first: EDITING in s and app.composer_of(s).startswith(f), timeout_s=30)
        app.tmux.type_text(" edited\r")
        kept = [*kept, f"{first} edited"]
        app.tmux.wait_for(
            "the fork's answer", lambda s, k=kept[-1]: f"answer to {k}" in (panel(s, "Conversation") or ""), timeout_s=30
        )
        assert app.sent_messages() == kept
        assert PICKER not in app.tmux.screen() and EDITING not in app.tmux.screen()


def test_esc_esc_and_keys_in_one_burst_apply_in_order(app: LiveApp) -> None:
    """4 rounds of one write each: Esc Esc Enter (the newest) then an edit and Enter, all at
    once; then Esc Esc and text at once, which types the text (the picker closes for it)."""
    kept: list[str] = []
    for n in range(4):
        text = f"burst {n}"
        _send(app, text, [*kept, text])
        app.tmux.burst("Escape", "Escape", "Enter", " again", "Enter")
        kept = [*kept, f"{text} again"]
        app.tmux.wait_for(
            "the fork's answer", lambda s, k=kept[-1]: f"answer to {k}" in (panel(s, "Conversation") or ""), timeout_s=30
        )
        assert app.sent_messages() == kept
    app.tmux.burst("Escape", "Escape", "typed at once")
    screen = app.tmux.wait_for("the text in the composer", lambda s: app.composer_of(s).startswith("typed at once"), timeout_s=30)
    assert PICKER not in screen and EDITING not in screen


def test_esc_esc_with_text_in_the_composer_opens_nothing(app: LiveApp) -> None:
    _send(app, "hello", ["hello"])
    app.tmux.type_text("draft")
    app.tmux.wait_for("the draft", lambda s: app.composer_of(s).startswith("draft"), timeout_s=30)
    for _ in range(3):
        app.tmux.press("Escape")
        time.sleep(TYPIST_S)
    app.tmux.type_text(" kept")
    screen = app.tmux.wait_for("the text", lambda s: app.composer_of(s).startswith("draft kept"), timeout_s=30)
    assert PICKER not in screen
