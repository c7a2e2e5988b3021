"""The model client's abilities are declared on the client, with defaults, and the lazy client
forwards exactly those: nobody probes a client with getattr."""

from __future__ import annotations

import pytest

from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui.config import ModelProviderInfo, ProviderSettings
from tui.engine.bootstrap import LazyClient
from tui.model.chat import ChatClient
from tui.model.items import message_text
from tui.model.types import ModelClient, ModelError, Prompt


def _provider(base_url: str, wire_api: str) -> ProviderSettings:
    return ProviderSettings("local", base_url, "test-key", wire_api, ModelProviderInfo(wire_api=wire_api))  # type: ignore[arg-type]


def _prompt() -> Prompt:
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "fix the bug"}]}
    return Prompt("gpt-5.4", "BASE", [item], [], True, "session-1")


def test_the_lazy_client_knows_its_compaction_ability_without_building_the_client() -> None:
    responses = LazyClient(_provider("http://127.0.0.1:9/v1", "responses"), "s")
    chat = LazyClient(_provider("http://127.0.0.1:9/v1", "chat"), "s")
    assert responses.supports_compact and not chat.supports_compact
    assert responses._client is None and chat._client is None, "asking must not import the SDK"


async def test_the_lazy_client_forwards_compaction_to_the_provider(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue_compact(fe.compacted(["fix the bug"], "gAAAA-compacted"))
    client = LazyClient(_provider(fake_openai.base_url, "responses"), "s")
    try:
        output = await client.compact(_prompt())
    finally:
        await client.aclose()
    assert {"type": "compaction", "encrypted_content": "gAAAA-compacted"} in [
        {k: i[k] for k in ("type", "encrypted_content")} for i in output if i.get("type") == "compaction"
    ]
    assert fake_openai.compact_bodies()[0]["input"] == _prompt().input


async def test_a_client_without_remote_compaction_refuses_with_a_model_error(fake_openai: FakeOpenAI) -> None:
    client = ChatClient(base_url=fake_openai.base_url, api_key="test-key")
    try:
        with pytest.raises(ModelError, match="no remote compaction"):
            await client.compact(_prompt())
    finally:
        await client.aclose()
    assert fake_openai.compact_bodies() == [], "nothing was sent"


async def test_the_default_abilities_do_nothing() -> None:
    class StreamOnly(ModelClient):
        base_url = "http://example.invalid/v1"

    client = StreamOnly()
    client.warm()
    await client.aclose()
    assert not client.supports_compact


@pytest.mark.parametrize(
    ("item", "text"),
    [
        ({"type": "message", "content": [{"type": "output_text", "text": "a"}, {"type": "output_text", "text": "b"}]}, "ab"),
        ({"type": "message", "content": "plain"}, "plain"),
        ({"type": "message", "content": [{"type": "input_image", "image_url": "x"}, "junk", {"text": 3}]}, ""),
        ({"type": "message"}, ""),
    ],
)
def test_message_text_joins_the_text_parts_only(item: dict[str, object], text: str) -> None:
    assert message_text(item) == text
