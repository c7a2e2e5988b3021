"""Compaction: the one rewrite of the history, to stay inside the context window.

Remote (OpenAI Responses providers): `POST /responses/compact`; the history becomes its output
(the user's messages and an encrypted `compaction` item), followed by the initial context again.
Local (Chat Completions providers, or when the endpoint fails): the model writes a handoff note
with our prompt; the new history is the initial context, the original request and the latest
user messages verbatim (up to a token budget), then the note.

Either way the pre-compaction items stay in the rollout (they were written as they happened) and
a `compacted` line records the replacement, so resume rebuilds exactly what the model sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Literal

from tui.engine.context import message
from tui.model.items import message_text
from tui.model.types import ModelError, OutputItemDone, Prompt
from tui.protocol import CompactionDone, CompactionReason, CompactionStarted, WarningIssued
from tui.tools.specs import prompt_text

if TYPE_CHECKING:
    from tui.engine.session import Session

# Recent user messages kept verbatim by the local path (Codex keeps ~20k tokens of them).
KEEP_USER_TOKENS = 20_000
# Initial-context user messages are rebuilt fresh after compaction, never carried over.
_CONTEXT_PREFIXES = ("# AGENTS.md instructions", "<environment_context>")


@dataclass(frozen=True)
class Compacted:
    history: list[dict[str, Any]]
    method: Literal["remote", "local"]


async def compact_history(sess: Session, reason: CompactionReason) -> None:
    """Replace the session's history with its compacted form: remotely where the provider can,
    else (or when that fails) locally."""
    before, _ = sess.meter.context_tokens(sess.history)
    sess.emit(CompactionStarted(reason, before))
    initial = sess.initial_context()
    try:
        result = await compact_remote(sess, initial)
    except ModelError as e:
        if sess.client.supports_compact:
            sess.emit(WarningIssued(f"Remote compaction failed ({e}); summarising locally instead."))
        result = await compact_local(sess, initial, sess.meter.count_item)
    sess.history = result.history
    sess.meter.reset()
    sess.cache_watch.compacted()
    sess.forks.reset(len(sess.history))  # what came before is summarised: no fork goes back there
    after, _ = sess.meter.context_tokens(sess.history)
    sess.persist("compacted", {
        "replacement_history": sess.history, "before_tokens": before,
        "after_tokens": after, "method": result.method, "reason": reason,
    })
    sess.set_reference(sess.settings)  # the fresh initial context describes these settings
    sess.emit(CompactionDone(before, after, result.method, reason))


async def run_manual_compaction(sess: Session, turn_id: str) -> str | None:
    """The task behind a `Compact` op (/compact)."""
    await sess.ensure_tools()  # the compaction request carries the session's tools too
    if not any(i.get("type") != "message" or i.get("role") == "assistant" for i in sess.history):
        sess.emit(WarningIssued("Nothing to compact yet."))
        return None
    await compact_history(sess, "manual")
    return None


def is_real_user_message(item: dict[str, Any]) -> bool:
    if item.get("type") != "message" or item.get("role") != "user":
        return False
    text = message_text(item)
    return not text.startswith(_CONTEXT_PREFIXES)


def _clean_remote_item(item: Any) -> dict[str, Any] | None:
    """Keep what the endpoint returns for the model (messages, compaction), without ids.
    Anything of the wrong shape (not an object, a compaction without a text blob, an unknown
    type) is dropped: the provider's answer is untrusted input."""
    if not isinstance(item, dict):
        return None
    kind = item.get("type")
    if kind in ("compaction", "compaction_summary"):
        blob = item.get("encrypted_content")
        return {"type": "compaction", "encrypted_content": blob} if isinstance(blob, str) and blob else None
    if kind == "message" and item.get("role") in ("user", "assistant"):
        if item.get("role") == "user" and not is_real_user_message(item):
            return None
        part = "input_text" if item["role"] == "user" else "output_text"
        return {"type": "message", "role": item["role"], "content": [{"type": part, "text": message_text(item)}]}
    return None


async def compact_remote(sess: Session, initial: list[dict[str, Any]]) -> Compacted:
    output = await sess.client.compact(sess.build_prompt())
    if not isinstance(output, list):
        raise ModelError("the compaction endpoint returned no list of items", retryable=False)
    kept = [c for c in (_clean_remote_item(i) for i in output) if c is not None]
    if not any(i["type"] == "compaction" for i in kept):
        raise ModelError("the compaction endpoint returned no compaction item", retryable=False)
    return Compacted(kept + initial, "remote")


async def compact_local(sess: Session, initial: list[dict[str, Any]], count: Callable[[dict[str, Any]], int]) -> Compacted:
    # Same instructions and tools as every request, so even this one reads the cached prefix.
    base = sess.build_prompt()
    prompt = Prompt(
        model=base.model, instructions=base.instructions,
        input=[*base.input, message("user", prompt_text("compact.md"))],
        tools=base.tools, parallel_tool_calls=base.parallel_tool_calls,
        prompt_cache_key=base.prompt_cache_key, reasoning=base.reasoning,
    )
    summary = ""
    async for event in sess.client.stream(prompt):
        if isinstance(event, OutputItemDone) and event.item.get("type") == "message":
            summary = message_text(event.item) or summary
    if not summary.strip():
        raise ModelError("the model wrote no summary for the compaction", retryable=False)
    users = [i for i in sess.history if is_real_user_message(i)]
    kept = _keep_user_messages(users, count)
    note = message("user", prompt_text("summary_prefix.md").strip() + "\n\n" + summary.strip())
    return Compacted(initial + kept + [note], "local")


def _keep_user_messages(users: list[dict[str, Any]], count: Callable[[dict[str, Any]], int]) -> list[dict[str, Any]]:
    """The original request, then the newest messages that fit the budget, in their order."""
    if not users:
        return []
    first, rest = users[0], users[1:]
    budget = KEEP_USER_TOKENS - count(first)
    recent: list[dict[str, Any]] = []
    for item in reversed(rest):
        cost = count(item)
        if cost > budget:
            break
        recent.append(item)
        budget -= cost
    return [first, *reversed(recent)]
