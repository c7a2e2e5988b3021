"""Images in the app: a pasted path, an `@` mention or `-i` becomes a chip; the chip's image is sent."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from textual import events

from tests.app_support import SIZE, calm, idle, type_text, until
from tests.engine_support import make_session
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tests.image_support import png_bytes, write_png
from tui.app.app import CodeloopApp
from tui.app.attachments import pasted_paths
from tui.app.widgets.composer import Composer
from tui.app.widgets.conversation import UserCell
from tui.app.widgets.file_popup import FilePopup
from tui.config import TuiSettings

SNAP_WORKSPACE = Path("/tmp/codeloop-snapshots/images")


def _paste(app: CodeloopApp, text: str) -> None:
    app.post_message(events.Paste(text))  # as the driver does: the app forwards it to the focus


def _user_parts(fake: FakeOpenAI) -> list[dict[str, Any]]:
    return [i for i in fake.responses_bodies()[-1]["input"] if i.get("role") == "user"][-1]["content"]


async def test_a_pasted_image_path_becomes_a_chip_and_the_image_is_sent(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    write_png(tmp_path / "shot.png")
    fake_openai.queue_response(fe.turn(fe.message_item("A square.")))
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        composer = app.query_one(Composer)
        await type_text(pilot, "what is ")
        _paste(app, f"'{tmp_path / 'shot.png'}'")  # quoted, as a file manager drops it
        await until(pilot, lambda: "[image:" in composer.text)
        assert composer.text == "what is [image: shot.png 72 B] "
        await type_text(pilot, "?")
        await pilot.press("enter")
        await until(pilot, lambda: idle(app) and fake_openai.responses_bodies())
        assert "[image: shot.png 72 B]" in str(app.query(UserCell).first().render())
    parts = _user_parts(fake_openai)
    assert parts[0] == {"type": "input_text", "text": "what is [image: shot.png 72 B] ?"}
    assert parts[1] == {"type": "input_image", "image_url": "data:image/png;base64," + base64.b64encode(png_bytes()).decode()}


async def test_a_pasted_key_path_stays_text_and_nothing_is_attached(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    key = tmp_path / ".ssh" / "id_rsa"
    key.parent.mkdir()
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        composer = app.query_one(Composer)
        await type_text(pilot, "read ")
        _paste(app, str(key))
        await until(pilot, lambda: composer.text != "read ")
        assert composer.text == f"read {key}"
        await pilot.press("enter")
        await until(pilot, lambda: idle(app) and fake_openai.responses_bodies())
    assert [p["type"] for p in _user_parts(fake_openai)] == ["input_text"]
    assert "OPENSSH" not in str(fake_openai.responses_bodies())


async def test_a_png_named_file_that_is_no_image_warns_and_keeps_the_paste(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "fake.png").write_text("hello")
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        composer = app.query_one(Composer)
        _paste(app, "fake.png")
        await until(pilot, lambda: composer.text)
        assert composer.text == "fake.png"
        [note] = list(app._notifications)
        assert "Not attached" in note.message and "fake.png" in note.message and "not a PNG" in note.message


async def test_an_image_chosen_in_the_at_finder_is_attached(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    write_png(tmp_path / "docs" / "diagram.png")
    (tmp_path / "docs" / "notes.md").write_text("x\n")
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "see @")
        popup = app.query_one(FilePopup)
        await until(pilot, lambda: popup.is_open and popup.paths is not None)
        await type_text(pilot, "diagram")
        await pilot.press("tab")
        composer = app.query_one(Composer)
        assert composer.text == "see [image: diagram.png 72 B] "
        assert composer.attachments.paths_in(composer.text) == [str(tmp_path / "docs" / "diagram.png")]


async def test_deleting_the_chip_drops_the_image(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    write_png(tmp_path / "a.png")
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        composer = app.query_one(Composer)
        _paste(app, "./a.png")
        await until(pilot, lambda: composer.text)
        composer.text = "never mind"
        await pilot.press("enter")
        await until(pilot, lambda: idle(app) and fake_openai.responses_bodies())
    assert [p["type"] for p in _user_parts(fake_openai)] == ["input_text"]


async def test_dash_i_images_start_as_chips(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    write_png(tmp_path / "one.png")
    write_png(tmp_path / "two.png")
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    app.initial_images = [str(tmp_path / "one.png"), str(tmp_path / "two.png")]
    async with app.run_test(size=SIZE) as pilot:
        composer = app.query_one(Composer)
        await until(pilot, lambda: composer.text)
        assert composer.text == "[image: one.png 72 B] [image: two.png 72 B] "


def test_what_counts_as_a_pasted_path() -> None:
    assert pasted_paths("/tmp/a.png") == [["/tmp/a.png"]]
    assert pasted_paths("'/tmp/my shot.png'") == [["/tmp/my shot.png"]]
    assert pasted_paths("/tmp/my\\ shot.png") == [["/tmp/my shot.png"]]
    assert pasted_paths("file:///tmp/my%20shot.png") == [["/tmp/my shot.png"]]
    assert pasted_paths("shot.png") == [["shot.png"]]
    assert pasted_paths("/tmp/my shot.png") == [["/tmp/my shot.png"], ["/tmp/my", "shot.png"]]
    assert pasted_paths("'/tmp/a.png' /tmp/b.gif") == [["/tmp/a.png", "/tmp/b.gif"]]
    for text in ("hello world", "fix the bug", "fix a.png", "line one\n/tmp/a.png", "/tmp/a\x1b]0;x\x07.png", "", "'open"):
        assert pasted_paths(text) == [], text


async def test_several_dropped_images_attach_together(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    write_png(tmp_path / "a b.png")
    write_png(tmp_path / "c.png")
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        composer = app.query_one(Composer)
        _paste(app, f"'{tmp_path / 'a b.png'}' {tmp_path / 'c.png'}")
        await until(pilot, lambda: composer.text)
        assert composer.text == "[image: a b.png 72 B] [image: c.png 72 B] "
        assert composer.attachments.paths_in(composer.text) == [str(tmp_path / "a b.png"), str(tmp_path / "c.png")]


def test_snapshot_image_chips_in_the_composer_and_the_conversation(snap_compare: Any, fake_openai: FakeOpenAI) -> None:
    SNAP_WORKSPACE.mkdir(parents=True, exist_ok=True)
    write_png(SNAP_WORKSPACE / "screenshot.png")
    session = make_session(fake_openai, SNAP_WORKSPACE, policy="untrusted", sandbox="workspace-write", context_window=272_000)
    app = CodeloopApp(session, auto_compact_limit=244_800, branch="main", tui=TuiSettings())
    app.initial_images = [str(SNAP_WORKSPACE / "screenshot.png")]

    async def before(pilot: Any) -> None:
        calm(app)
        composer = app.query_one(Composer)
        await until(pilot, lambda: composer.text)
        await app.query_one("#conversation").add_user("Why is the button cut off? [image: before.png 118 KB]")  # type: ignore[attr-defined]
        await type_text(pilot, "and now?")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(120, 30), run_before=before)


async def test_backspace_takes_a_chip_whole(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    write_png(tmp_path / "a.png")
    app = CodeloopApp(make_session(fake_openai, tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        composer = app.query_one(Composer)
        await type_text(pilot, "see ")
        _paste(app, "./a.png")
        await until(pilot, lambda: composer.text != "see ")
        assert composer.text == "see [image: a.png 72 B] "
        await pilot.press("backspace")  # the space
        await pilot.press("backspace")  # the chip, whole
        assert composer.text == "see "
        await pilot.press("backspace")
        assert composer.text == "see"
