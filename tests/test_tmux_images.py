"""Images in the real binary (tmux): `-i` and a bracketed paste of a path become chips, and the
image is what the model is sent."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.app_tmux_support import LiveApp
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tests.image_support import write_png

pytestmark = pytest.mark.timeout(300)


def _last_user_parts(fake: FakeOpenAI) -> list[dict[str, Any]]:
    body = fake.responses_bodies()[-1]
    return [i for i in body["input"] if i.get("role") == "user"][-1]["content"]


def _paste(app: LiveApp, text: str) -> None:
    app.tmux._run("set-buffer", "-b", "img", text)
    app.tmux._run("paste-buffer", "-p", "-b", "img", "-t", app.tmux.session)


def test_dash_i_and_a_pasted_path_attach_images_in_the_real_binary(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    write_png(workspace / "first.png")
    write_png(workspace / "second shot.png", shade=50)
    key = workspace / "id_rsa"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    fake_openai.queue_response(fe.turn(fe.message_item("answer 1")))
    fake_openai.queue_response(fe.turn(fe.message_item("answer 2")))
    app = LiveApp.start(tmp_path, fake_openai, "-i", "first.png", ready="[image: first.png")
    try:
        app.tmux.type_text("what is it?\r")
        app.tmux.wait_for_text("answer 1", timeout_s=60)
        parts = _last_user_parts(fake_openai)
        assert [p["type"] for p in parts] == ["input_text", "input_image"]
        assert parts[0]["text"].startswith("[image: first.png") and parts[0]["text"].endswith("what is it?")
        # A dropped file (quoted, with a space) then typed text and Enter at once: chip, text, image.
        _paste(app, f"'{workspace / 'second shot.png'}'")
        app.tmux.type_text("and this, not ")
        _paste(app, str(key))
        app.tmux.type_text("\r")
        app.tmux.wait_for_text("answer 2", timeout_s=60)
        parts = _last_user_parts(fake_openai)
        assert [p["type"] for p in parts] == ["input_text", "input_image"]
        assert re.fullmatch(r"\[image: second shot\.png \d+ B\] and this, not " + re.escape(str(key)), parts[0]["text"])
        assert "OPENSSH" not in str(fake_openai.responses_bodies())
        # Backspace takes a chip whole (the space after it first).
        _paste(app, "first.png")
        app.tmux.wait_for("the pasted chip", lambda s: "[image: first.png" in app.composer_of(s), timeout_s=30)
        app.tmux.press("BSpace", "BSpace")
        app.tmux.wait_for("the chip gone", lambda s: "image" not in app.composer_of(s), timeout_s=30)
    finally:
        app.close()
