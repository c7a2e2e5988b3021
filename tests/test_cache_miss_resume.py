"""A resumed session's first request is compared with the last request its rollout measured, so
the miss a resume can cost (another model, the cache expired meanwhile) is explained too."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tests.engine_support import of_type, run_turn
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui import protocol as ev
from tui.config import load_config, resolve_provider
from tui.engine.bootstrap import build_session, resume_session
from tui.engine.session import Session


def _session(fake: FakeOpenAI, tmp_path: Path, path: Path | None = None, **flags: Any) -> Session:
    """A new session in tmp_path/ws (or `path` resumed), configured as the CLI would with `flags`."""
    home, ws = tmp_path / "home", tmp_path / "ws"
    ws.mkdir(exist_ok=True)
    env = {"CODELOOP_HOME": str(home), "OPENAI_API_KEY": "k", "OPENAI_BASE_URL": fake.base_url, "HOME": str(home)}
    rc = load_config(argparse.Namespace(cd=str(ws), yolo=True, **flags), env=env)
    provider = resolve_provider(rc, env)
    if path is None:
        return build_session(rc, provider, interactive=False)
    return resume_session(rc, provider, path, interactive=False)


async def _recorded(fake: FakeOpenAI, tmp_path: Path, *more: ev.Op) -> Path:
    """A session of one turn that read 1,024 tokens from the cache, then `more` ops, then ended."""
    fake.queue_response(fe.turn(fe.message_item("one"), usage=fe.usage(5_000, 20, cached_tokens=1_024)))
    sess = _session(fake, tmp_path)
    await run_turn(sess, "first")
    for op in more:
        await sess.submit(op)
    await sess.wait_idle()
    await sess.submit(ev.Shutdown())
    assert sess.rollout is not None
    return sess.rollout.path


async def _resumed_turn(fake: FakeOpenAI, tmp_path: Path, path: Path, cached: int, **flags: Any) -> list[ev.Event]:
    fake.queue_response(fe.turn(fe.message_item("two"), usage=fe.usage(5_300, 20, cached_tokens=cached)))
    sess = _session(fake, tmp_path, path, **flags)
    events = await run_turn(sess, "second")
    await sess.submit(ev.Shutdown())
    return events


async def test_a_resumed_session_that_missed_with_its_prefix_intact_names_the_provider(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    path = await _recorded(fake_openai, tmp_path)
    [miss] = of_type(await _resumed_turn(fake_openai, tmp_path, path, 0), ev.CacheMissed)
    assert (miss.reason, miss.expected_cached_tokens, miss.request) == ("provider_evicted", 4_992, 1)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [ln["payload"]["reason"] for ln in lines if ln["payload"].get("type") == "cache_missed"] == ["provider_evicted"]


async def test_a_resumed_session_that_read_its_prefix_raises_no_alarm(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    path = await _recorded(fake_openai, tmp_path)
    assert not of_type(await _resumed_turn(fake_openai, tmp_path, path, 4_992), ev.CacheMissed)


async def test_resuming_with_another_model_names_both(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    path = await _recorded(fake_openai, tmp_path)
    first_model = fake_openai.responses_bodies()[0]["model"]
    [miss] = of_type(await _resumed_turn(fake_openai, tmp_path, path, 0, model="gpt-5-mini"), ev.CacheMissed)
    assert (miss.reason, miss.detail) == ("model", f"{first_model} → gpt-5-mini")


async def test_a_compaction_after_the_last_usage_leaves_nothing_to_compare(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """What was measured is not what the compacted history sends: no claim either way."""
    fake_openai.queue_compact(fe.compacted(["first"]))
    path = await _recorded(fake_openai, tmp_path, ev.Compact())
    assert "compacted" in path.read_text()
    assert not of_type(await _resumed_turn(fake_openai, tmp_path, path, 0), ev.CacheMissed)


async def test_a_tampered_usage_line_is_not_compared_and_breaks_nothing(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    path = await _recorded(fake_openai, tmp_path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    for ln in lines:
        if ln["payload"].get("type") == "token_usage":
            ln["payload"].update(input_tokens="5000", cached_input_tokens=-1)
    path.write_text("".join(json.dumps(ln) + "\n" for ln in lines))
    events = await _resumed_turn(fake_openai, tmp_path, path, 0)
    assert of_type(events, ev.TurnCompleted) and not of_type(events, ev.CacheMissed)
