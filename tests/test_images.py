"""Images attached to a user's message: checked by content, sent inline, recorded by reference."""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
from pathlib import Path

import pytest

from tests.engine_support import collect, make_session, of_type, run_turn
from tests.exec_support import run_exec
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tests.image_support import GIF, JPEG, WEBP, png_bytes, write_png
from tui import protocol as ev
from tui.config import load_config, resolve_provider
from tui.engine.bootstrap import build_session, resume_session
from tui.engine.images import ImageError, chip, load_image
from tui.fakeserver.validate import validate_chat, validate_responses
from tui.model.chat import ChatClient


def _user_items(body: dict) -> list[dict]:
    return [i for i in body["input"] if i.get("role") == "user"]


# ------------------------------------------------------------------ what may be attached


@pytest.mark.parametrize("data,mime", [(png_bytes(), "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (WEBP, "image/webp")])
def test_images_are_recognised_by_their_bytes_not_their_name(tmp_path: Path, data: bytes, mime: str) -> None:
    (tmp_path / "picture.txt").write_bytes(data)
    image = load_image("picture.txt", tmp_path)
    assert image.mime == mime and image.size == len(data)
    assert image.sha256 == hashlib.sha256(data).hexdigest()
    assert image.data_url() == f"data:{mime};base64,{base64.b64encode(data).decode()}"


def test_a_private_key_named_png_is_not_attached(tmp_path: Path) -> None:
    key = tmp_path / ".ssh" / "id_rsa"
    key.parent.mkdir()
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n")
    (tmp_path / "shot.png").write_bytes(key.read_bytes())
    for name in (str(key), "shot.png"):
        with pytest.raises(ImageError, match="is not a PNG, JPEG, GIF or WebP image") as caught:
            load_image(name, tmp_path)
        assert "OPENSSH" not in str(caught.value)  # the message never shows the content


def test_a_symlink_is_refused_even_to_a_real_image(tmp_path: Path) -> None:
    write_png(tmp_path / "real.png")
    (tmp_path / "link.png").symlink_to(tmp_path / "real.png")
    (tmp_path / "key.png").symlink_to("/etc/passwd")
    for name in ("link.png", "key.png"):
        with pytest.raises(ImageError, match="is a symbolic link"):
            load_image(name, tmp_path)


def test_fifos_devices_folders_empty_and_missing_files_are_named_and_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.png")  # opening it must not block
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "dir.png").mkdir()
    cases = {
        "pipe.png": "is not a regular file", "/dev/zero": "is not a regular file", "empty.png": "is empty",
        "dir.png": "is a folder", "gone.png": "no such file",
    }
    for name, why in cases.items():
        with pytest.raises(ImageError, match=why) as caught:
            load_image(name, tmp_path)
        assert os.path.basename(name) in str(caught.value)


def test_an_image_over_the_cap_is_refused_with_its_size(tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    big.write_bytes(png_bytes() + b"\x00" * 3000)
    with pytest.raises(ImageError, match=r"big.png: is 3 KB; an image may be at most 2 KB"):
        load_image(str(big), tmp_path, max_bytes=2048)


def test_a_path_with_control_characters_is_refused_without_echoing_them(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="control characters") as caught:
        load_image("shot\x1b]0;pwned\x07.png", tmp_path)
    assert "\x1b" not in str(caught.value) and "\x07" not in str(caught.value)


def test_the_chip_names_the_file_and_its_size() -> None:
    assert chip("name.png", 120 * 1024) == "[image: name.png 120 KB]"
    assert chip("a.gif", 900) == "[image: a.gif 900 B]"
    assert chip("b.jpg", 3 * 1024 * 1024) == "[image: b.jpg 3.0 MB]"


# ------------------------------------------------------------------ the request


async def test_an_attached_image_is_sent_as_an_input_image_part(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    data = png_bytes()
    (tmp_path / "shot.png").write_bytes(data)
    fake_openai.queue_response(fe.turn(fe.message_item("A blue square.")))
    sess = make_session(fake_openai, tmp_path)
    await sess.submit(ev.UserInput("what is this?", images=["shot.png"]))
    events = await collect(sess)
    assert of_type(events, ev.TurnCompleted)[0].last_agent_message == "A blue square."
    [recorded] = of_type(events, ev.UserMessageRecorded)
    assert recorded.images == [chip("shot.png", len(data))]
    [body] = fake_openai.responses_bodies()
    assert _user_items(body)[-1]["content"] == [
        {"type": "input_text", "text": "what is this?"},
        {"type": "input_image", "image_url": "data:image/png;base64," + base64.b64encode(data).decode()},
    ]


async def test_an_image_that_fails_at_send_time_is_a_warning_and_a_note(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "notes.png").write_text("not an image")
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    sess = make_session(fake_openai, tmp_path)
    await sess.submit(ev.UserInput("look", images=["notes.png", "gone.png"]))
    events = await collect(sess)
    warnings = [w.message for w in of_type(events, ev.WarningIssued)]
    assert any("notes.png" in w and "not a PNG" in w for w in warnings)
    assert any("gone.png" in w and "no such file" in w for w in warnings)
    [body] = fake_openai.responses_bodies()
    parts = _user_items(body)[-1]["content"]
    assert parts[0] == {"type": "input_text", "text": "look"}
    assert [p["type"] for p in parts] == ["input_text", "input_text", "input_text"]
    assert "could not be read" in parts[1]["text"] and "gone.png" in parts[2]["text"]


async def test_a_message_queued_during_a_turn_keeps_its_image(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    write_png(tmp_path / "later.png")
    fake_openai.queue_response(fe.turn(fe.message_item("first")), delay=0.3)
    fake_openai.queue_response(fe.turn(fe.message_item("second")))
    sess = make_session(fake_openai, tmp_path)
    await sess.submit(ev.UserInput("one"))
    await sess.submit(ev.UserInput("two", images=["later.png"]))
    await collect(sess)
    last = _user_items(fake_openai.responses_bodies()[-1])[-1]
    assert [p["type"] for p in last["content"]] == ["input_text", "input_image"]


async def test_chat_completions_gets_image_url_parts(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    data = png_bytes()
    (tmp_path / "shot.png").write_bytes(data)
    fake_openai.queue_chat(fe.chat_text_chunks("seen"))
    client = ChatClient(base_url=fake_openai.base_url, api_key="k", request_max_retries=0)
    sess = make_session(fake_openai, tmp_path, client=client)
    await sess.submit(ev.UserInput("what?", images=["shot.png"]))
    events = await collect(sess)
    assert of_type(events, ev.TurnCompleted)
    [body] = fake_openai.chat_bodies()
    assert body["messages"][-1]["content"] == [
        {"type": "text", "text": "what?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(data).decode()}},
    ]


# ------------------------------------------------------------------ the fake server checks as the API does


def _responses_with(part: dict) -> dict:
    return {"model": "m", "input": [{"type": "message", "role": "user", "content": [part]}]}


def test_the_fake_server_checks_input_image_parts() -> None:
    good = "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
    assert validate_responses(_responses_with({"type": "input_image", "image_url": good})) is None
    assert validate_responses(_responses_with({"type": "input_image", "image_url": "https://x/y.png", "detail": "low"})) is None
    bad = {
        "data:text/plain;base64,aGVsbG8=": "unsupported MIME type 'text/plain'",
        "data:image/png;base64,!!!not base64": "does not represent a valid image",
        "data:image/jpeg;base64," + base64.b64encode(png_bytes()).decode(): "does not represent a valid image",
        "file:///etc/passwd": "Expected a valid URL",
    }
    for url, message in bad.items():
        refusal = validate_responses(_responses_with({"type": "input_image", "image_url": url}))
        assert refusal is not None and message in refusal.message, url
    missing = validate_responses(_responses_with({"type": "input_image"}))
    assert missing is not None and "input[0].content[0].image_url" in missing.message
    detail = validate_responses(_responses_with({"type": "input_image", "image_url": good, "detail": "huge"}))
    assert detail is not None and detail.param == "input[0].content[0].detail"
    chat = {"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/gif;base64,AAAA"}}]}]}
    refusal = validate_chat(chat)
    assert refusal is not None and "valid image" in refusal.message


# ------------------------------------------------------------------ rollout and resume


def _configure(fake: FakeOpenAI, cwd: Path, home: Path):  # type: ignore[no-untyped-def]
    env = {"CODELOOP_HOME": str(home), "OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": fake.base_url, "HOME": str(home)}
    rc = load_config(argparse.Namespace(cd=str(cwd), yolo=True), env=env)
    return rc, resolve_provider(rc, env)


async def _session_with_an_image(fake: FakeOpenAI, ws: Path, home: Path) -> Path:
    write_png(ws / "shot.png")
    fake.queue_response(fe.turn(fe.message_item("A square.")))
    rc, provider = _configure(fake, ws, home)
    sess = build_session(rc, provider, interactive=False)
    await sess.submit(ev.UserInput("what is it?", images=["shot.png"]))
    await collect(sess)
    await sess.submit(ev.Shutdown())
    assert sess.rollout is not None
    return sess.rollout.path


async def test_the_rollout_keeps_a_reference_not_the_blob(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    path = await _session_with_an_image(fake_openai, ws, tmp_path / "home")
    text = path.read_text()
    assert base64.b64encode(png_bytes()).decode()[:40] not in text and "data:image" not in text
    refs = [
        p["image_ref"] for line in map(json.loads, text.splitlines()) if line["type"] == "response_item"
        for p in line["payload"].get("content", []) if p.get("type") == "input_image"
    ]
    assert refs == [{"path": str((ws / "shot.png").resolve()), "sha256": hashlib.sha256(png_bytes()).hexdigest(), "mime": "image/png", "size": len(png_bytes())}]


async def test_resume_with_the_file_intact_sends_the_same_bytes(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    home = tmp_path / "home"
    path = await _session_with_an_image(fake_openai, ws, home)
    first = fake_openai.responses_bodies()[0]["input"]
    fake_openai.queue_response(fe.turn(fe.message_item("Still a square.")))
    rc, provider = _configure(fake_openai, ws, home)
    sess = resume_session(rc, provider, path, interactive=False)
    events = await run_turn(sess, "and now?")
    assert not of_type(events, ev.WarningIssued)
    second = fake_openai.responses_bodies()[1]["input"]
    prefix = json.dumps(first, separators=(",", ":"))
    assert json.dumps(second[: len(first)], separators=(",", ":")) == prefix
    await sess.submit(ev.Shutdown())
    assert "data:image" not in path.read_text()  # the resumed session records references too


@pytest.mark.parametrize("change", ["edited", "deleted"])
async def test_resume_after_the_image_changed_sends_a_note_and_warns(fake_openai: FakeOpenAI, tmp_path: Path, change: str) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    home = tmp_path / "home"
    path = await _session_with_an_image(fake_openai, ws, home)
    if change == "edited":
        write_png(ws / "shot.png", shade=200)
    else:
        (ws / "shot.png").unlink()
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    rc, provider = _configure(fake_openai, ws, home)
    sess = resume_session(rc, provider, path, interactive=False)
    events = await run_turn(sess, "and now?")
    [warning] = [w.message for w in of_type(events, ev.WarningIssued) if "shot.png" in w.message]
    assert ("changed since" in warning) if change == "edited" else ("no such file" in warning)
    user = [i for i in _user_items(fake_openai.responses_bodies()[1]) if "what is it?" in json.dumps(i)][0]
    assert [p["type"] for p in user["content"]] == ["input_text", "input_text"]
    assert "shot.png was attached here" in user["content"][1]["text"]


# ------------------------------------------------------------------ codeloop exec -i


def test_exec_dash_i_sends_each_image(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    write_png(tmp_path / "a.png")
    (tmp_path / "b.gif").write_bytes(GIF)
    fake_openai.queue_response(fe.turn(fe.message_item("Two images.")))
    done = run_exec(fake_openai, tmp_path, tmp_path / "home", "-i", "a.png", "--image", "b.gif", "compare them")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Two images."
    assert "attached [image: a.png 72 B] [image: b.gif 14 B]" in done.stderr
    parts = _user_items(fake_openai.responses_bodies()[0])[-1]["content"]
    assert [p["type"] for p in parts] == ["input_text", "input_image", "input_image"]
    assert parts[1]["image_url"].startswith("data:image/png;base64,") and parts[2]["image_url"].startswith("data:image/gif;base64,")


@pytest.mark.parametrize("make,why", [
    (lambda d: None, "missing.png: no such file"),
    (lambda d: (d / "missing.png").write_text("-----BEGIN OPENSSH PRIVATE KEY-----"), "missing.png: is not a PNG, JPEG, GIF or WebP image"),
    (lambda d: (d / "missing.png").symlink_to("/etc/hostname"), "missing.png: is a symbolic link"),
])
def test_exec_refuses_a_bad_image_before_sending_anything(fake_openai: FakeOpenAI, tmp_path: Path, make, why) -> None:  # type: ignore[no-untyped-def]
    make(tmp_path)
    done = run_exec(fake_openai, tmp_path, tmp_path / "home", "-i", "missing.png", "describe it")
    assert done.returncode == 2
    assert why in done.stderr and "OPENSSH" not in done.stderr
    assert fake_openai.responses_bodies() == []


async def test_a_compacted_history_keeps_references_too_and_restores_byte_for_byte(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    from tui.engine.images import restore
    from tui.engine.resume import load_rollout
    from tui.engine.rollout import RolloutWriter

    write_png(tmp_path / "shot.png")
    fake_openai.queue_response(fe.turn(fe.message_item("ok")))
    sess = make_session(fake_openai, tmp_path, rollout=RolloutWriter(tmp_path / "home" / "r.jsonl", home=tmp_path / "home"), meta={"id": "s"})
    await sess.submit(ev.UserInput("look", images=["shot.png"]))
    await collect(sess)
    sess.persist("compacted", {"replacement_history": sess.history})  # as a local compaction keeps user messages
    await sess.submit(ev.Shutdown())
    text = (tmp_path / "home" / "r.jsonl").read_text()
    assert "data:image" not in text and text.count('"image_ref"') == 2
    restored = restore(load_rollout(tmp_path / "home" / "r.jsonl").history)
    assert restored.warnings == [] and json.dumps(restored.history) == json.dumps(sess.history)
