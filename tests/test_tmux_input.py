"""Input integrity in the real binary (tmux, real timing): every key typed is applied, in the
order it was typed, whatever the app is busy with, and what the model is sent and the rollout
records is exactly what was typed.

Races are shown gone by repetition inside each test (the counts are in the names' docstrings);
the machine is shared and loaded, which is what shakes such races out.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app_tmux_support import LiveApp, live_app, poll, touch_on_request
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tests.tmux_driver import panel
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


RUN_ASK = "Run this command?"
APPROVE_OPTION = "Yes, once (y)"


@pytest.fixture
def asking(tmp_path: Path, fake_openai: FakeOpenAI) -> Iterator[LiveApp]:
    """The app asking before every command; `go N` makes the model ask to `touch ran-N`."""
    touch_on_request(fake_openai, delay=lambda n: 0.01 * (n % 5))
    yield from live_app(tmp_path, fake_openai, "-a", "untrusted", "-s", "workspace-write")


def _ready(app: LiveApp) -> str:
    return app.tmux.wait_for("the approval's choices", lambda s: RUN_ASK in s and APPROVE_OPTION in s, timeout_s=30)


def _deny_and_settle(app: LiveApp, expected: list[str]) -> None:
    app.tmux.press("n")
    assert app.wait_sent(len(expected)) [: len(expected)] == expected
    app.tmux.wait_for("the turn over", lambda s: "esc to interrupt" not in s and RUN_ASK not in s, timeout_s=30)


def test_typing_on_while_an_approval_opens_never_decides_it(asking: LiveApp) -> None:
    """Eight times: `go N` and Enter, then at a typist's pace (30 ms a key) a message full of
    y's and its Enter, through the moment the modal opens. The modal decides nothing, the message
    reaches the model whole (queued behind the turn), and no command ran."""
    app, sent = asking, []
    for n in range(1, 9):
        typed = f"yes yyy typed ahead {n}"
        app.tmux.type_text(f"go {n}\r")
        for ch in typed + "\r":
            app.tmux.type_text(ch)
            time.sleep(0.03)  # a typist's pace is the condition under test
        _ready(app)
        assert not (app.workspace / f"ran-{n}").exists(), "type-ahead approved the command"
        sent += [f"go {n}", typed]
        _deny_and_settle(app, sent)
        assert not (app.workspace / f"ran-{n}").exists()
    poll("the rollout to hold every message", lambda: len(app.recorded_messages()) >= len(sent))
    assert app.recorded_messages() == sent


def test_a_held_key_across_the_opening_goes_to_the_composer(asking: LiveApp) -> None:
    """Five times: `y` auto-repeating every 30 ms from before the modal opens until well after
    it painted; every y lands in the composer and the command does not run."""
    app = asking
    for n in range(1, 6):
        app.tmux.type_text(f"go {n}\r")
        repeats = 0
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            app.tmux.type_text("y")
            repeats += 1
            time.sleep(0.03)
        _ready(app)
        assert not (app.workspace / f"ran-{n}").exists(), "a held key approved the command"
        assert app.composer() == "y" * repeats
        app.tmux.press("n")
        app.tmux.wait_for("the turn over", lambda s: "esc to interrupt" not in s and RUN_ASK not in s, timeout_s=30)
        app.tmux.press("C-u")
        app.tmux.wait_for("an empty composer", lambda s: "Ask codeloop" in s, timeout_s=30)


def test_y_in_the_burst_of_the_first_paint_does_not_decide(asking: LiveApp) -> None:
    """Eight times: `y` sent the moment the dialog's title shows (10 ms polls); then `y` once the
    choices show approves, as it should."""
    app = asking
    for n in range(1, 9):
        app.tmux.type_text(f"go {n}\r")
        app.tmux.wait_for("the dialog's first paint", lambda s: RUN_ASK in s, timeout_s=30, poll_s=0.01)
        app.tmux.type_text("y")
        _ready(app)
        assert not (app.workspace / f"ran-{n}").exists(), "y in the first paint's burst approved the command"
        app.tmux.press("C-u")  # nothing: the modal has the keys; the y waits in the composer
        app.tmux.press("y")
        poll(f"ran-{n} (approved once the choices showed)", lambda: (app.workspace / f"ran-{n}").exists())
        app.tmux.wait_for("the turn over", lambda s: "esc to interrupt" not in s and RUN_ASK not in s, timeout_s=30)
        assert app.composer() == "y"
        app.tmux.press("C-u")
        app.tmux.wait_for("an empty composer", lambda s: "Ask codeloop" in s, timeout_s=30)


def test_theme_and_model_with_their_argument_run_on_the_first_enter(app: LiveApp) -> None:
    """Each typed in one burst with its Enter, three times each: no Enter only completes."""
    app.fake.queue_response(fe.turn(fe.message_item("answer 1")))
    for n, theme in enumerate(["codeloop-light", "codeloop-dark", "codeloop-high-contrast"], 1):
        app.tmux.type_text(f"/theme {theme}\r")
        app.tmux.wait_for_text(f"theme set to {theme}.", timeout_s=30)
        app.tmux.type_text(f"/model gpt-test-{n}\r")
        app.tmux.wait_for_text(f"model set to gpt-test-{n};", timeout_s=30)
        assert "Ask codeloop" in app.composer()
    app.tmux.type_text("which model?\r")
    app.tmux.wait_for_text("answer 1", timeout_s=30)
    assert app.fake.responses_bodies()[-1]["model"] == "gpt-test-3"


def test_a_message_queued_during_a_turn_appears_once(app: LiveApp) -> None:
    app.fake.queue_handler(lambda body: Paced(fe.turn(fe.message_item("slow " * 300)), delay=0.01))
    app.fake.queue_response(fe.turn(fe.message_item("second answer")))
    app.tmux.type_text("first message\r")
    app.tmux.wait_for_text("slow slow", timeout_s=30)
    app.tmux.type_text("queued message\r")
    app.tmux.wait_for_text("second answer", timeout_s=60)
    assert app.wait_sent(2) == ["first message", "queued message"]
    conversation = panel(app.tmux.screen(), "Conversation") or ""
    assert conversation.count("queued message") == 1, conversation


FOCUS_KEYS = ["F2", "F3", "F4", "F5"]


def _all_panes(screen: str) -> bool:
    return all(panel(screen, title) is not None for title in ("Conversation", "Plan", "Diff preview", "Token budget"))


def _typed_lands_in_composer(app: LiveApp, text: str) -> None:
    app.tmux.type_text(text)
    app.tmux.wait_for(f"{text!r} in the composer", lambda s: app.composer_of(s) == text, timeout_s=30)
    app.tmux.press("C-u")
    app.tmux.wait_for("an empty composer", lambda s: "Ask codeloop" in app.composer_of(s), timeout_s=30)


@pytest.mark.parametrize("key", FOCUS_KEYS)
def test_after_maximize_and_restore_typing_goes_to_the_composer(app: LiveApp, key: str) -> None:
    """Each pane: F-key twice then typing (diff navigation letters included); F-key, Esc, typing;
    F-key then typing (the layout comes back and the letters land in the composer)."""
    for _ in range(2):
        app.tmux.press(key, key)
        _typed_lands_in_composer(app, "jkgG np hello")
        app.tmux.press(key, "Escape")
        # Typed once the layout is back: this checks where the keys go after a restore. Esc and
        # letters in one burst are test_esc_then_a_message_typed_at_once_interrupts_and_sends_it_whole.
        app.tmux.wait_for("the layout restored", _all_panes, timeout_s=30)
        _typed_lands_in_composer(app, "after escape")
        app.tmux.press(key)
        # Typed once the pane fills the screen: this checks typing while a pane is maximized.
        app.tmux.wait_for("the pane maximized", lambda s: not _all_panes(s), timeout_s=30)
        _typed_lands_in_composer(app, "xyz while maximized")


@pytest.mark.parametrize("key", FOCUS_KEYS)
def test_pane_keys_and_text_in_one_burst_keep_their_order(app: LiveApp, key: str) -> None:
    """One write each: F-key twice (maximize, restore) then text; F-key then text (the text
    restores the layout); F-key, Esc, text. Six rounds per pane: the keys that change the focus
    are settled before the text after them, so the text lands whole and in order (a key routed
    through the pane once arrived behind the ones typed after it: "after" became "aftre")."""
    for round_ in range(2):
        for keys, text in (((key, key), "quick fox one"), ((key,), "quick fox two"), ((key, "Escape"), "quick fox three")):
            app.tmux.burst(*keys, text)
            app.tmux.wait_for(f"{text!r} in the composer (round {round_ + 1})", lambda s, t=text: app.composer_of(s) == t, timeout_s=30)
            app.tmux.wait_for("the layout restored", _all_panes, timeout_s=30)
            app.tmux.press("C-u")
            app.tmux.wait_for("an empty composer", lambda s: "Ask codeloop" in app.composer_of(s), timeout_s=30)


def test_f1_shows_help_for_the_maximized_pane(app: LiveApp) -> None:
    app.tmux.press("F4")
    app.tmux.wait_for("the diff pane maximized", lambda s: panel(s, "Diff preview") is not None and panel(s, "Plan") is None, timeout_s=30)
    app.tmux.press("F1")
    app.tmux.wait_for_text("] or n: next file", timeout_s=30)
    app.tmux.press("Escape")
    app.tmux.wait_for("help closed", lambda s: "] or n: next file" not in s, timeout_s=30)
    app.tmux.press("F4")
    _typed_lands_in_composer(app, "back to typing")


def test_esc_then_a_message_typed_at_once_interrupts_and_sends_it_whole(app: LiveApp) -> None:
    """Esc and the next message in one burst (a terminal sends `ESC n…`, which Textual reads as
    Alt+n): the turn is interrupted and the message is sent whole, first letter included.
    5 rounds."""
    for n in range(5):
        app.fake.queue_handler(lambda body: Paced(fe.turn(fe.message_item("slow " * 400)), delay=0.01))
        app.fake.queue_response(fe.turn(fe.message_item(f"answer {n}")))
        app.tmux.type_text(f"long one {n}\r")
        app.tmux.wait_for_text("slow slow", timeout_s=30)
        app.tmux.type_text(f"\x1bnext message {n}\r")
        app.tmux.wait_for_text(f"answer {n}", timeout_s=60)
        sent = app.wait_sent(2 * (n + 1))
        assert sent[-2:] == [f"long one {n}", f"next message {n}"], sent


ESC_THEN = [
    "? and then a message longer than thirty-two characters, typed at once",
    " hello after a space",
    "? what changed",
    "/status",
    "! ls -la",
    "42 is the answer",
    "Upper case first",
]


def test_esc_then_a_space_digit_or_punctuation_typed_at_once_is_esc_then_that_text(app: LiveApp) -> None:
    """Esc and the next text in one burst (`ESC ?…`): Textual dropped the Esc when the
    character after it was no letter (and made it a `^` past 32 characters). The turn streaming
    is interrupted, and the composer holds exactly the text, first character included.
    7 rounds: a long burst, a space, `?`, `/`, `!`, a digit, an uppercase letter."""
    for n, text in enumerate(ESC_THEN):
        app.fake.queue_handler(lambda body: Paced(fe.turn(fe.message_item("slow " * 400)), delay=0.01))
        app.tmux.type_text(f"long one {n}\r")
        app.tmux.wait_for(
            f"turn {n} running",
            lambda s, m=f"long one {n}": m in (panel(s, "Conversation") or "") and "esc to interrupt" in s,
            timeout_s=30,
        )
        app.tmux.type_text("\x1b" + text)
        # Aborted: this round's message is followed by the marker (counting markers on the whole
        # screen failed once the first rounds had scrolled out of the conversation).
        screen = app.tmux.wait_for(
            f"the turn aborted and {text!r} in the composer",
            lambda s, want=text.strip(), m=f"long one {n}": app.composer_of(s).startswith(want[:40])
            and "Turn aborted" in (panel(s, "Conversation") or "").rpartition(m)[2]
            and "esc to interrupt" not in s,
            timeout_s=30,
        )
        assert "^" not in app.composer_of(screen)
        app.tmux.press("C-u")  # clear the composer for the next round (TextArea: delete to line start)
        app.tmux.wait_for("an empty composer", lambda s: "Ask codeloop" in app.composer_of(s), timeout_s=30)


def test_up_and_enter_in_fast_bursts_resend_from_the_prompt_history(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    """history.jsonl from an earlier session; Up+Enter in the first burst after start resends its
    newest entry; then 8 bursts of `round N` Enter Up Enter (one write each) send every round
    twice, in order, and the file holds every message sent."""
    home = tmp_path / "codeloop-home"
    home.mkdir()
    (home / "history.jsonl").write_text(
        "".join(json.dumps({"text": t, "time": 1.0, "session": "old"}) + "\n" for t in ("from yesterday 1", "from yesterday 2")),
        encoding="utf-8",
    )
    _answers(fake_openai, 17)
    started = LiveApp.start(tmp_path, fake_openai)
    try:
        started.tmux.burst("Up", "Enter")
        assert started.wait_sent(1) == ["from yesterday 2"]
        expected = ["from yesterday 2"]
        for n in range(1, 9):
            started.tmux.burst(f"round {n}", "Enter", "Up", "Enter")
            expected += [f"round {n}", f"round {n}"]
            assert started.wait_sent(len(expected), timeout_s=60) == expected
        stored = [json.loads(line)["text"] for line in (home / "history.jsonl").read_text(encoding="utf-8").splitlines()]
        assert stored == ["from yesterday 1", "from yesterday 2", *expected]
    finally:
        started.close()
