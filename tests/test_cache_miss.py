"""Every request that reads less from the prompt cache than the previous request's input is
explained: each cause scripted through the real engine against the local fake server, which
reports the usage (`cached_tokens`) the provider would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.engine_support import collect, make_session, of_type, run_turn, shell_call
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui import protocol as ev
from tui.engine.cache_miss import CacheWatch, Fingerprint, cacheable, explain
from tui.engine.context import message
from tui.engine.rollout import RolloutWriter
from tui.engine.session import Session
from tui.model.chat import ChatClient
from tui.model.types import Prompt, Usage

FIRST_INPUT = 5_000
FULL_HIT = cacheable(FIRST_INPUT)  # 4,992: what a second request can read of a 5,000-token prompt


def reply(fake: FakeOpenAI, input_tokens: int, cached: int) -> None:
    fake.queue_response(fe.turn(fe.message_item("ok"), usage=fe.usage(input_tokens, 20, cached_tokens=cached)))


async def second_turn(
    fake: FakeOpenAI, sess: Session, between: Callable[[Session], Any], cached: int, first_cached: int = 1_024
) -> list[ev.Event]:
    """A first turn, then `between` (a change to the session), then a second turn whose response
    reports `cached` tokens read from the cache. The first reads `first_cached`: by default the
    instructions and tools, which every session sends first, cached by an earlier one."""
    reply(fake, FIRST_INPUT, first_cached)
    first = await run_turn(sess, "first")
    assert not of_type(first, ev.CacheMissed), "a session's first request has nothing to read"
    result = between(sess)
    if hasattr(result, "__await__"):
        await result
    reply(fake, FIRST_INPUT + 300, cached)
    return await run_turn(sess, "second")


def the_miss(events: list[ev.Event]) -> ev.CacheMissed:
    [miss] = of_type(events, ev.CacheMissed)
    return miss


def nothing(sess: Session) -> None:
    return None


async def test_a_first_request_is_never_reported(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    reply(fake_openai, 50_000, 0)
    events = await run_turn(make_session(fake_openai, tmp_path), "go")
    assert of_type(events, ev.TokenUsage) and not of_type(events, ev.CacheMissed)


@pytest.mark.parametrize("cached", [FULL_HIT, FULL_HIT - 128])
async def test_a_normal_second_turn_raises_no_alarm(fake_openai: FakeOpenAI, tmp_path: Path, cached: int) -> None:
    """A full hit, and one a block short of it (block boundaries are the provider's), are fine."""
    events = await second_turn(fake_openai, make_session(fake_openai, tmp_path), nothing, cached)
    assert of_type(events, ev.TokenUsage) and not of_type(events, ev.CacheMissed)


async def test_a_prompt_under_1024_tokens_is_never_expected_to_hit(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    sess = make_session(fake_openai, tmp_path)
    reply(fake_openai, 1_000, 0)
    await run_turn(sess, "first")
    reply(fake_openai, 1_100, 0)
    assert not of_type(await run_turn(sess, "second"), ev.CacheMissed)


async def test_an_intact_prefix_that_missed_is_put_down_to_the_provider(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    rollout = RolloutWriter(tmp_path / "rollout.jsonl")
    sess = make_session(fake_openai, tmp_path, rollout=rollout)
    events = await second_turn(fake_openai, sess, nothing, 0)
    miss = the_miss(events)
    assert (miss.reason, miss.expected_cached_tokens, miss.cached_input_tokens, miss.request) == (
        "provider_evicted", FULL_HIT, 0, 2)
    first, second = fake_openai.responses_bodies()
    assert second["input"][: len(first["input"])] == first["input"]  # the claim the reason makes
    # Right after its usage, and in the rollout as it happened.
    kinds = [type(e) for e in events]
    assert kinds[kinds.index(ev.CacheMissed) - 1] is ev.TokenUsage
    lines = [json.loads(line) for line in (tmp_path / "rollout.jsonl").read_text().splitlines()]
    recorded = [ln["payload"] for ln in lines if ln["type"] == "event_msg" and ln["payload"]["type"] == "cache_missed"]
    assert recorded == [miss.to_json()]
    assert list(sess.cache_watch.recent) == [miss]


async def test_no_eviction_is_claimed_of_a_provider_that_never_reported_a_cached_token(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    """Many local servers report no cached tokens at all: silence, not a miss per request. A
    cause the engine sees (here the model) is still named."""
    sess = make_session(fake_openai, tmp_path)
    assert not of_type(await second_turn(fake_openai, sess, nothing, 0, first_cached=0), ev.CacheMissed)
    assert not sess.cache_watch.provider_caches
    change = ev.OverrideSettings(model="gpt-5-mini")
    events = await second_turn(fake_openai, make_session(fake_openai, tmp_path), lambda s: s.submit(change), 0, 0)
    assert the_miss(events).reason == "model"


async def test_a_model_change_is_named_with_both_models(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    sess = make_session(fake_openai, tmp_path)
    events = await second_turn(fake_openai, sess, lambda s: s.submit(ev.OverrideSettings(model="gpt-5-mini")), 0)
    miss = the_miss(events)
    assert miss.reason == "model" and miss.detail == "gpt-5.4 → gpt-5-mini"


async def test_an_appended_settings_message_keeps_the_prefix(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """/approvals appends its message after the history: a full hit is no miss, and a miss
    despite it is not blamed on the settings."""
    change = ev.OverrideSettings(approval_policy="on-request")
    events = await second_turn(fake_openai, make_session(fake_openai, tmp_path), lambda s: s.submit(change), FULL_HIT)
    assert not of_type(events, ev.CacheMissed)
    body = fake_openai.responses_bodies()[-1]["input"]
    assert body[-2]["role"] == "developer", "the settings message goes after the history"
    fake_openai.requests.clear()
    events = await second_turn(fake_openai, make_session(fake_openai, tmp_path), lambda s: s.submit(change), 0)
    assert the_miss(events).reason == "provider_evicted"


async def test_a_settings_message_put_before_the_history_is_named(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    def insert(sess: Session) -> None:
        sess.history.insert(2, message("developer", "<permissions instructions>changed</permissions instructions>"))

    miss = the_miss(await second_turn(fake_openai, make_session(fake_openai, tmp_path), insert, 0))
    assert miss.reason == "items_inserted"
    # The first request held 3 items: the developer message, the context, "first".
    assert miss.detail == "1 item (settings message) put before item 3 of 3"


async def test_changed_instructions_are_named(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    def change(sess: Session) -> None:
        sess.instructions = "OTHER INSTRUCTIONS"

    miss = the_miss(await second_turn(fake_openai, make_session(fake_openai, tmp_path), change, 0))
    assert (miss.reason, miss.detail) == ("instructions", "17 → 18 characters")


async def test_an_added_tool_is_named(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    extra = {"type": "function", "name": "mcp__docs__search", "description": "d", "parameters": {"type": "object", "properties": {}}}

    def add(sess: Session) -> None:
        sess.tools.specs = [*sess.tools.specs, extra]

    miss = the_miss(await second_turn(fake_openai, make_session(fake_openai, tmp_path), add, 128))
    assert (miss.reason, miss.detail, miss.cached_input_tokens) == ("tools", "added mcp__docs__search", 128)


async def test_another_prompt_cache_key_is_named(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    def rekey(sess: Session) -> None:
        sess.session_id = "0f1e2d3c-another-session"

    sess = make_session(fake_openai, tmp_path)
    first_key = sess.session_id
    miss = the_miss(await second_turn(fake_openai, sess, rekey, 0))
    assert (miss.reason, miss.detail) == ("cache_key", f"{first_key[:8]}… → 0f1e2d3c…")
    assert fake_openai.responses_bodies()[-1]["prompt_cache_key"] == "0f1e2d3c-another-session"


async def test_a_compaction_is_named(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    async def compact(sess: Session) -> None:
        fake_openai.queue_compact(fe.compacted(["first"]))
        await sess.submit(ev.Compact())
        assert of_type(await collect(sess), ev.CompactionDone)

    miss = the_miss(await second_turn(fake_openai, make_session(fake_openai, tmp_path), compact, 0))
    assert miss.reason == "compaction" and miss.detail.startswith("the history was replaced from item 1 of ")


async def test_a_rewritten_history_says_compaction_or_fork_until_a_fork_is_marked(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    def rewind(sess: Session) -> None:
        del sess.history[-2:]  # the first answer and its question gone, as a backtrack would

    miss = the_miss(await second_turn(fake_openai, make_session(fake_openai, tmp_path), rewind, 0))
    assert miss.reason == "history_rewritten" and miss.detail.endswith("(compaction or fork)")

    def fork(sess: Session) -> None:
        rewind(sess)
        sess.cache_watch.forked()

    miss = the_miss(await second_turn(fake_openai, make_session(fake_openai, tmp_path), fork, 0))
    assert miss.reason == "fork"


async def test_misses_inside_one_turn_are_counted_per_request(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(shell_call("c1", ["true"]), usage=fe.usage(6_000, 20)))
    fake_openai.queue_response(fe.turn(shell_call("c2", ["true"]), usage=fe.usage(6_200, 20, cached_tokens=5_888)))
    reply(fake_openai, 6_400, 1_024)
    misses = of_type(await run_turn(make_session(fake_openai, tmp_path), "go"), ev.CacheMissed)
    assert [(m.request, m.reason, m.expected_cached_tokens, m.cached_input_tokens) for m in misses] == [
        (3, "provider_evicted", cacheable(6_200), 1_024)]


async def test_a_chat_completions_provider_is_explained_the_same(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    client = ChatClient(base_url=fake_openai.base_url, api_key="k", request_max_retries=0)
    sess = make_session(fake_openai, tmp_path, client=client, apply_patch_kind="function")
    fake_openai.queue_chat(fe.chat_text_chunks("a1") + [fe.chat_usage_chunk(3_000, 10, cached_tokens=1_024)])
    fake_openai.queue_chat(fe.chat_text_chunks("a2") + [fe.chat_usage_chunk(3_200, 10, cached_tokens=2_944)])
    fake_openai.queue_chat(fe.chat_text_chunks("a3") + [fe.chat_usage_chunk(3_400, 10, cached_tokens=1_024)])
    events: list[ev.Event] = []
    for text in ("one", "two", "three"):
        events += await run_turn(sess, text)
    miss = the_miss(events)  # the only one: the second request read what it should
    assert (miss.reason, miss.expected_cached_tokens, miss.cached_input_tokens, miss.request) == (
        "provider_evicted", cacheable(3_200), 1_024, 3)


def _prompt(**changes: Any) -> Prompt:
    fields: dict[str, Any] = {
        "model": "m", "instructions": "i", "tools": [{"type": "function", "name": "a"}], "parallel_tool_calls": True,
        "prompt_cache_key": "k", "reasoning": {"effort": "medium"},
        "input": [message("developer", "d"), message("user", "u1"), message("assistant", "a1")],
    }  # fmt: skip
    fields.update(changes)
    return Prompt(**fields)


def test_the_first_difference_in_prompt_order_is_the_reason() -> None:
    base = Fingerprint.of(_prompt())
    cases = {
        "reasoning": _prompt(reasoning={"effort": "high"}),
        "tools": _prompt(tools=[{"type": "function", "name": "a", "strict": True}]),
        "model": _prompt(model="n", instructions="other"),
        "history_rewritten": _prompt(input=[message("developer", "d"), message("user", "u2")]),
    }
    found = {want: explain(base, Fingerprint.of(p), compacted=False, forked=False) for want, p in cases.items()}
    assert {want: got[0] for want, got in found.items()} == {want: want for want in cases}
    assert found["tools"][1] == "changed a"
    assert found["history_rewritten"][1] == "item 2 of 3 (user message) differs (compaction or fork)"
    assert explain(base, Fingerprint.of(_prompt(input=[message("developer", "d")])), compacted=False, forked=False) == (
        "history_rewritten", "the history ends before item 2 of 3 (compaction or fork)")


def test_a_request_that_never_reported_usage_is_replaced_by_the_next() -> None:
    watch = CacheWatch()
    watch.sent(_prompt())
    assert watch.measured(Usage(input_tokens=3_000)) is None
    watch.sent(_prompt(model="other"))  # retried or interrupted: no usage
    watch.sent(_prompt())
    assert watch.measured(Usage(input_tokens=3_100, cached_input_tokens=2_944)) is None
    assert watch.measured(Usage(input_tokens=3_100)) is None, "usage with nothing sent is not compared"


def test_an_eviction_after_a_pause_says_how_long_it_was() -> None:
    now = [1_000.0]
    watch = CacheWatch(clock=lambda: now[0])
    for input_tokens, cached, pause in ((3_000, 1_024, 0.0), (3_100, 0, 30.0), (3_200, 0, 14 * 60.0), (3_300, 0, 3 * 3600.0 + 5 * 60)):
        now[0] += pause
        watch.sent(_prompt(input=[message("user", "same")]))
        watch.measured(Usage(input_tokens=input_tokens, cached_input_tokens=cached))
    assert [m.detail for m in watch.recent] == [
        "the prefix was sent unchanged",
        "the prefix was sent unchanged, 14 min after the previous request",
        "the prefix was sent unchanged, 3 h 5 min after the previous request",
    ]


async def test_a_backtrack_fork_is_named_as_the_cause(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """The real op: Esc Esc's `Backtrack` cuts the history before the second message, so the forked
    turn's request shares less with the previous one than that request's input; the fork says so."""
    sess = make_session(fake_openai, tmp_path)
    reply(fake_openai, FIRST_INPUT, 1_024)
    await run_turn(sess, "first")
    reply(fake_openai, FIRST_INPUT + 300, FULL_HIT)
    assert not of_type(await run_turn(sess, "second"), ev.CacheMissed)
    reply(fake_openai, FIRST_INPUT + 200, 1_024)
    await sess.submit(ev.Backtrack(1, "second, edited"))
    events = await collect(sess)
    assert of_type(events, ev.HistoryForked)
    assert the_miss(events).reason == "fork"
