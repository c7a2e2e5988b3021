"""The settings pickers in the real binary (tmux, real timing): `/model` typed at a typist's pace,
Enter opens the picker at once, the model and its effort are chosen with keys, and the next
request carries them; Ctrl+S in the /sandbox picker saves the default to config.toml."""

from __future__ import annotations

import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app_tmux_support import LiveApp, live_app
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe

pytestmark = pytest.mark.timeout(300)
PACE_S = 0.06  # a typist's pace is the condition under test


@pytest.fixture
def app(tmp_path: Path, fake_openai: FakeOpenAI) -> Iterator[LiveApp]:
    yield from live_app(tmp_path, fake_openai)


def _typed(app: LiveApp, text: str) -> None:
    for ch in text:
        app.tmux.type_text(ch)
        time.sleep(PACE_S)


def test_model_picker_by_keys_then_the_next_request_uses_the_choice(app: LiveApp) -> None:
    app.fake.queue_response(fe.turn(fe.message_item("answer one")))
    _typed(app, "/model")
    app.tmux.press("Enter")
    app.tmux.wait_for_text("Model (now ", timeout_s=30)
    _typed(app, "o3")
    app.tmux.press("Enter")
    app.tmux.wait_for_text("Reasoning effort for o3", timeout_s=30)
    app.tmux.press("Down")
    time.sleep(PACE_S)
    app.tmux.press("Enter")
    app.tmux.wait_for_text("model set to o3 with high reasoning effort;", timeout_s=30)
    assert "Ask codeloop" in app.composer(), "the keys are back in the composer"
    _typed(app, "which model?")
    app.tmux.press("Enter")
    app.tmux.wait_for_text("answer one", timeout_s=30)
    body = app.fake.responses_bodies()[-1]
    assert body["model"] == "o3"
    assert body["reasoning"]["effort"] == "high"


def test_ctrl_s_in_the_sandbox_picker_saves_the_default(app: LiveApp) -> None:
    config = app.home / "config.toml"
    config.write_text("# mine\n[tui]\nbell = false\n")
    _typed(app, "/sandbox")
    app.tmux.press("Enter")
    app.tmux.wait_for_text("Sandbox (now ", timeout_s=30)
    _typed(app, "read")
    app.tmux.press("C-s")
    app.tmux.wait_for_text("Saved as the default", timeout_s=30)
    assert config.read_text() == '# mine\nsandbox_mode = "read-only"\n\n[tui]\nbell = false\n'
    assert tomllib.loads(config.read_text())["sandbox_mode"] == "read-only"
    app.tmux.wait_for_text("sandbox read-only", timeout_s=30)  # the status line
