"""One turn of the agent loop: sample, run the calls, append their outputs, repeat.

Only a response that reached `response.completed` is acted on: a stream that fails part-way is
retried from scratch and its partial items are dropped, so no call runs from an incomplete
response and nothing is recorded twice.
"""

from __future__ import annotations

import asyncio
import random
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from tui.engine.compact import compact_history
from tui.engine.images import load_images, user_message
from tui.engine.retry_text import given_up
from tui.model.items import history_item, message_text
from tui.model.types import (
    Completed,
    ContextWindowExceeded,
    ModelError,
    OutputItemDone,
    Prompt,
    ReasoningSummaryDelta,
    SampledResponse,
    TextDelta,
    malformed,
)
from tui.protocol import (
    ABORTED_BY_USER,
    AgentMessage,
    AgentMessageDelta,
    ContextEstimated,
    ReasoningDelta,
    ReasoningSummary,
    StreamRetrying,
    ToolCallEnded,
    ToolCallProposed,
    UserInput,
    UserMessageRecorded,
    WarningIssued,
    WebSearchEnded,
    failing,
)
from tui.tools.base import ToolCall, ToolContext, ToolResult, TurnAbortRequested
from tui.tools.registry import call_from_item
from tui.tools.shell import is_parallel_safe

if TYPE_CHECKING:
    from tui.engine.session import Session


async def run_turn(sess: Session, op: UserInput) -> str | None:
    """Run one user turn to its end; returns the last assistant message."""
    sess.record_context_updates()
    await record_user_input(sess, op)
    ctx = sess.tool_context()
    last_message: str | None = None
    overflowed = False
    while True:
        for queued in sess.drain_pending_input():
            await record_user_input(sess, queued)
        # Checked before every request, so it fires before a turn and inside one alike.
        if await sess.needs_compaction():
            await compact_history(sess, "auto")
        sess.emit(ContextEstimated(*sess.pending_estimate()))
        try:
            response = await sample_with_retries(sess)
        except ContextWindowExceeded:
            if overflowed:
                raise
            overflowed = True  # the provider says it is too long after all: compact, retry once
            await compact_history(sess, "overflow")
            continue
        overflowed = False
        for item in response.items:
            sess.record(item)
            if item.get("type") == "message":
                last_message = message_text(item)
        if response.usage is not None:
            sess.account_usage(response.usage)
        calls = [c for c in (call_from_item(i) for i in response.items) if c is not None]
        if calls:
            await run_calls(sess, calls, ctx)
        elif not sess.has_pending_input():
            return last_message


async def record_user_input(sess: Session, op: UserInput) -> None:
    """Record a user's message with its images, read now (an image that fails to load is left
    out with a warning, and a note in the message says so to the model)."""
    images, failures = await asyncio.to_thread(load_images, op.images, sess.settings.cwd)
    item = await asyncio.to_thread(user_message, op.text, images)  # base64 of up to 20 MB each
    for image, part in zip(images, item["content"][-len(images):] if images else []):
        sess.images.add(image, part["image_url"])
    for failure in failures:
        sess.emit(WarningIssued(f"Image not attached: {failure}"))
        item["content"].append({"type": "input_text", "text": f"[an image the user attached could not be read: {failure}]"})
    sess.record(item)
    sess.emit(UserMessageRecorded(op.text, [image.chip for image in images]))


# A server-requested wait longer than this fails the turn with the wait in the message instead
# of leaving the user staring at a spinner (the SDK's own limit is 120 s).
MAX_RETRY_WAIT_S = 60.0
MAX_BACKOFF_S = 30.0


async def sample_with_retries(sess: Session, prompt: Prompt | None = None) -> SampledResponse:
    """Sample until a response completes, retrying what may succeed on a second try.

    This loop is the only place a sampling request is retried (the SDK's retries are off, see
    model/sdk.py), so `stream_max_retries` counts every extra request and each one is announced
    by a `StreamRetrying` event. A failed attempt leaves nothing behind: `sample` hands over
    its items only once the response completed. A `prompt` of its own (the review turn's)
    is sampled quietly: its text is not streamed to the faces as the conversation's answer.
    """
    retries = 0
    url = sess.client.base_url
    while True:
        try:
            return await sample(sess, prompt)
        except ModelError as e:
            if not e.retryable:
                if e.kind in ("unreachable", "auth", "rate_limit", "server"):
                    # Say where and what to check (a ContextWindowExceeded, "other", passes as is).
                    raise ModelError(given_up(e, url, retries + 1), retryable=False, code=e.code, kind=e.kind) from e
                raise
            if retries >= sess.options.stream_max_retries:
                raise ModelError(given_up(e, url, retries + 1), retryable=False, code=e.code, kind=e.kind) from e
            if e.retry_after_s is not None and e.retry_after_s > MAX_RETRY_WAIT_S:
                raise ModelError(
                    f"{failing(e.kind, url)}: {e} (the server asks to wait {e.retry_after_s:.0f}s before "
                    "retrying; not waiting that long, try again later)",
                    retryable=False, code=e.code, kind=e.kind,
                ) from e
            retries += 1
            delay = e.retry_after_s if e.retry_after_s is not None else backoff_s(sess.retry_base_delay_s, retries)
            sess.emit(StreamRetrying(retries, sess.options.stream_max_retries, delay, str(e), e.kind, url))
            await asyncio.sleep(delay)


def backoff_s(base_s: float, retry: int) -> float:
    """Exponential, capped, with ±20% jitter so many clients cut off at once do not return in step."""
    return min(base_s * 2.0 ** (retry - 1), MAX_BACKOFF_S) * random.uniform(0.8, 1.2)


async def sample(sess: Session, prompt: Prompt | None = None) -> SampledResponse:
    response = SampledResponse()
    quiet = prompt is not None  # a review's own request: not streamed, not the conversation's prefix
    if prompt is None:
        prompt = sess.build_prompt()
        sess.cache_watch.sent(prompt)
    # aclosing: leaving the loop at `Completed` must close the HTTP stream now, not at GC time.
    async with aclosing(sess.client.stream(prompt)) as stream:
        async for event in stream:
            if isinstance(event, TextDelta):
                if not quiet:
                    sess.emit(AgentMessageDelta(event.delta))
            elif isinstance(event, ReasoningSummaryDelta):
                if not quiet:
                    sess.emit(ReasoningDelta(event.delta))
            elif isinstance(event, OutputItemDone):
                item = history_item(event.item)
                if item is None:
                    if event.item.get("type") in ("function_call", "custom_tool_call"):
                        raise malformed("a tool call without a call_id")
                    continue
                if item["type"] in ("function_call", "custom_tool_call") and _call_id_taken(sess, response, item["call_id"]):
                    # Two outputs under one id: the API refuses the next request, and an approval
                    # or an output could be matched to the wrong call.
                    raise malformed(f"the call_id {item['call_id']!r} was already used")
                response.items.append(item)
                if not quiet:
                    _announce(sess, item)
            elif isinstance(event, Completed):
                response.usage = event.usage
                response.response_id = event.response_id
                return response
    raise ModelError("stream closed before response.completed", retryable=True, kind="stream")


def _call_id_taken(sess: Session, response: SampledResponse, call_id: str) -> bool:
    calls = ("function_call", "custom_tool_call")
    return any(i.get("type") in calls and i.get("call_id") == call_id for i in (*sess.history, *response.items))


def _announce(sess: Session, item: dict[str, Any]) -> None:
    kind = item["type"]
    if kind == "message":
        sess.emit(AgentMessage(message_text(item), item.get("phase")))
    elif kind == "reasoning":
        text = "\n\n".join(p.get("text", "") for p in item.get("summary", []))
        if text:
            sess.emit(ReasoningSummary(text))
    elif kind == "web_search_call":
        action = item["action"]  # history_item keeps only calls with a known action
        query = action.get("query") or "; ".join(action.get("queries") or []) or None
        sess.emit(WebSearchEnded(action["type"], item.get("status"), query, action.get("url"), action.get("pattern")))
    else:
        call = call_from_item(item)
        if call is not None:
            sess.emit(ToolCallProposed(call.call_id, call.name, call.payload))


def _batches(calls: list[ToolCall]) -> list[list[ToolCall]]:
    """Consecutive read-only calls share a batch and run together; anything else runs alone."""
    batches: list[list[ToolCall]] = []
    for call in calls:
        if is_parallel_safe(call) and batches and is_parallel_safe(batches[-1][0]):
            batches[-1].append(call)
        else:
            batches.append([call])
    return batches


async def run_calls(sess: Session, calls: list[ToolCall], ctx: ToolContext) -> None:
    """Every call gets exactly one output, appended in call order, whatever happens."""
    answered: set[str] = set()
    try:
        for batch in _batches(calls):
            results = await _run_batch(sess, batch, ctx)
            for call, result in zip(batch, results):
                _record_output(sess, call, result)
                answered.add(call.call_id)
    except (asyncio.CancelledError, TurnAbortRequested):
        for call in calls:
            if call.call_id not in answered:
                aborted = ctx.interrupted_outputs.pop(call.call_id, ABORTED_BY_USER)
                _record_output(sess, call, ToolResult(aborted, False))
        raise


async def _run_batch(sess: Session, batch: list[ToolCall], ctx: ToolContext) -> list[ToolResult]:
    tasks = [asyncio.ensure_future(execute(sess, c, ctx)) for c in batch]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        # gather leaves siblings running when one raises: stop them (their processes die too).
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _record_output(sess: Session, call: ToolCall, result: ToolResult) -> None:
    sess.record(call.output_item(result.model_output))
    sess.emit(ToolCallEnded(call.call_id, call.name, result.output, result.success))


async def execute(sess: Session, call: ToolCall, ctx: ToolContext) -> ToolResult:
    try:
        return await sess.tools.dispatch(call, ctx)
    except (asyncio.CancelledError, TurnAbortRequested):
        raise
    except Exception as e:  # a bug in a handler must still give the model an output
        return ToolResult(f"the tool failed unexpectedly: {type(e).__name__}: {e}", False)
