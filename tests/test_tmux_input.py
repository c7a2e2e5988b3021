"""Input integrity in the real binary (tmux, real timing): every key typed is applied, in the
order it was typed, whatever the app is busy with, and what the model is sent and the rollout
records is exactly what was typed.

Races are shown gone by repetition inside each test (the counts are in the names' docstrings);
the machine is shared and loaded, which is what shakes such races out.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app_tmux_support import LiveApp, live_app, poll
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui.fakeserver.server import Paced

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def app(tmp_path: Path, fake_openai: FakeOpenAI) -> Iterator[LiveApp]:
    yield from live_app(tmp_path, fake_openai)


def _answers(fake: FakeOpenAI, count: int) -> None:
    for i in range(count):
        fake.queue_response(fe.turn(fe.message_item(f"answer {i + 1}")))


# Start-up: the session is built a beat after the first frame; a message sent at any moment after
# that frame must be sent (it once lost the Enter 0.4-0.9 s in). 12 start-ups, 0 to 1.1 s.
@pytest.mark.parametrize("delay_s", [i / 10 for i in range(12)])
def test_message_and_enter_typed_at_any_moment_after_the_first_frame_is_sent(
    tmp_path: Path, fake_openai: FakeOpenAI, delay_s: float
) -> None:
    _answers(fake_openai, 1)
    started = LiveApp.start(tmp_path, fake_openai)
    try:
        wait = started.first_frame_at + delay_s - time.monotonic()
        if wait > 0:
            time.sleep(wait)  # the moment under test, not a wait for a state
        started.tmux.type_text("hello from the first second\r")
        assert started.wait_sent(1) == ["hello from the first second"]
        started.tmux.wait_for_text("answer 1", timeout_s=30)
        assert "hello from the first second" not in started.composer()
    finally:
        started.close()


def test_bursts_of_text_and_enter_are_sent_whole_and_in_order(app: LiveApp) -> None:
    """Ten bursts, each one write of `burst test N abcdefghij` and Enter; and ten more, each
    sent before the previous one was answered (they queue)."""
    typed = [f"burst test {n} abcdefghij" for n in range(1, 21)]
    _answers(app.fake, len(typed))
    for n, text in enumerate(typed[:10], 1):
        app.tmux.type_text(text + "\r")
        app.wait_sent(n)
        app.tmux.wait_for_text(f"answer {n}", timeout_s=30)
    app.tmux.type_text("".join(text + "\r" for text in typed[10:]))
    assert app.wait_sent(20, timeout_s=90) == typed
    poll("the rollout to hold every message", lambda: len(app.recorded_messages()) >= 20)
    assert app.recorded_messages() == typed


def test_keys_typed_one_by_one_while_an_answer_streams_are_sent_whole(app: LiveApp) -> None:
    """A key every 35 ms while a long Markdown answer streams: three messages typed that way."""
    markdown = "".join(f"## Part {i}\n\nSome `code` and **bold** text, a list:\n\n- one\n- two\n\n" for i in range(60))
    app.fake.queue_handler(lambda body: Paced(fe.turn(fe.message_item(markdown)), delay=0.01))
    _answers(app.fake, 3)
    app.tmux.type_text("stream please\r")
    app.wait_sent(1)
    typed = [f"typed-while-streaming-number-{n}" for n in (1, 2, 3)]
    for text in typed:
        for ch in text:
            app.tmux.type_text(ch)
            time.sleep(0.035)  # the typist's pace is the condition under test
        app.tmux.press("Enter")
    assert app.wait_sent(4, timeout_s=90) == ["stream please", *typed]


def test_bracketed_paste_then_enter_sends_the_paste(app: LiveApp) -> None:
    """Five pastes, each followed at once by Enter."""
    _answers(app.fake, 5)
    pasted = [f"pasted line {n} with  two spaces and a $dollar" for n in range(1, 6)]
    for n, text in enumerate(pasted, 1):
        app.tmux._run("set-buffer", "-b", "t", text)
        app.tmux._run("paste-buffer", "-p", "-b", "t", "-t", app.tmux.session)
        app.tmux.press("Enter")
        assert app.wait_sent(n)[-1] == text
        app.tmux.wait_for_text(f"answer {n}", timeout_s=30)
