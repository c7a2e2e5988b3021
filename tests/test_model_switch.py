"""A change of model or effort mid-session (`OverrideSettings`): the request's `reasoning`
follows the new model, the window and compaction limit follow it unless configured, and the
history only grows."""

from __future__ import annotations

from pathlib import Path

from tests.engine_support import make_session, run_turn
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui import protocol as ev
from tui.engine.model_switch import effort_of, switched_options
from tui.engine.models import listed_models, model_info
from tui.engine.options import SessionOptions

TABLE_GPT5 = SessionOptions(reasoning={"effort": "high", "summary": "auto"}, context_window=272_000, auto_compact_limit=244_800)


def test_a_model_without_reasoning_gets_none_and_its_own_window() -> None:
    out = switched_options(TABLE_GPT5, "gpt-5", "gpt-4o", None)
    assert out.reasoning is None
    assert (out.context_window, out.auto_compact_limit) == (128_000, 115_200)


def test_back_to_a_reasoning_model_reasoning_returns_with_the_chosen_effort() -> None:
    plain = switched_options(TABLE_GPT5, "gpt-5", "gpt-4o", None)
    back = switched_options(plain, "gpt-4o", "o3", "low")
    assert back.reasoning == {"summary": "auto", "effort": "low"}
    assert effort_of(back) == "low" and back.context_window == 200_000


def test_configured_window_and_limit_stay() -> None:
    configured = SessionOptions(context_window=50_000, auto_compact_limit=40_000)
    out = switched_options(configured, "gpt-5", "o3", None)
    assert (out.context_window, out.auto_compact_limit) == (50_000, 40_000)


def test_every_listed_model_name_finds_its_own_family() -> None:
    for info in listed_models():
        assert model_info(info.name) == info, info.name
    assert all(info.name != "gpt-6" for info in listed_models())


async def test_effort_change_reaches_the_next_request_and_history_only_grows(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(fe.message_item("one")))
    fake_openai.queue_response(fe.turn(fe.message_item("two")))
    sess = make_session(fake_openai, tmp_path, reasoning={"summary": "auto"}, context_window=272_000, auto_compact_limit=244_800)
    await run_turn(sess, "first")
    before = list(sess.history)
    await sess.submit(ev.OverrideSettings(model="gpt-4.1"))
    assert sess.meter.auto_compact_limit == 1_047_576 * 90 // 100
    await sess.submit(ev.OverrideSettings(model="o4-mini", effort="xhigh"))
    await run_turn(sess, "second")
    body = fake_openai.responses_bodies()[1]
    assert body["model"] == "o4-mini" and body["reasoning"] == {"summary": "auto", "effort": "xhigh"}
    assert sess.history[: len(before)] == before
    switches = [i for i in sess.history[len(before) :] if "<model_switch>" in str(i)]
    assert len(switches) == 1 and "`gpt-5.4` to `o4-mini`" in str(switches[0])
