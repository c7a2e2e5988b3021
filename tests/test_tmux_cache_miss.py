"""The real `codeloop` binary in tmux: a `/model` switch typed between two turns costs the
prompt cache, and the budget pane (F5) and `/status` say so, as the user sees them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app_tmux_support import LiveApp, live_app
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tests.tmux_driver import panel


@pytest.fixture
def app(tmp_path: Path, fake_openai: FakeOpenAI) -> Iterator[LiveApp]:
    yield from live_app(tmp_path, fake_openai, width=140, height=44)


def test_a_model_switch_is_named_in_the_budget_pane_and_in_status(app: LiveApp) -> None:
    app.fake.queue_response(fe.turn(fe.message_item("first answer"), usage=fe.usage(5_000, 20, cached_tokens=1_024)))
    app.fake.queue_response(fe.turn(fe.message_item("second answer"), usage=fe.usage(5_300, 20)))
    app.tmux.type_text("first question\r")
    app.tmux.wait_for_text("first answer", timeout_s=60)
    app.tmux.type_text("/model gpt-5-mini\r")
    app.tmux.type_text("second question\r")
    app.tmux.wait_for_text("second answer", timeout_s=60)
    first_model, second_model = (b["model"] for b in app.fake.responses_bodies())
    assert second_model == "gpt-5-mini" != first_model
    app.tmux.press("F5")
    screen = app.tmux.wait_for(
        "the budget pane maximized", lambda s: panel(s, "Plan") is None and "Missed" in s, timeout_s=30
    )
    budget = panel(screen, "Token budget") or ""
    assert f"Missed    #2 model changed: {first_model} → gpt-5-mini · read 0 of 4,992" in budget, screen
    app.tmux.press("F5")
    app.tmux.wait_for("the layout restored", lambda s: panel(s, "Conversation") is not None, timeout_s=30)
    app.tmux.type_text("/status\r")
    screen = app.tmux.wait_for_text("Prompt cache", timeout_s=30)
    flat = " ".join((panel(screen, "Conversation") or screen).split())
    assert f"request 2 model changed: {first_model} → gpt-5-mini" in flat, screen
