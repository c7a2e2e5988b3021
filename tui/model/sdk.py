"""What both provider clients share: the SDK client and the mapping of its errors.

Who retries what: the SDK's own retries are off for sampling requests (`max_retries=0`). They
are silent and happen only before a stream's body starts, so on top of the turn loop's
reconnects they would multiply the attempts unseen (5 reconnects × 5 SDK attempts = 25 requests,
none shown to the user). The turn loop (`engine/turn.py:sample_with_retries`) alone retries a
sampling request, HTTP 429/5xx and connection errors included, honouring `retry-after`, so every
attempt is a `StreamRetrying` event and `stream_max_retries` is the true number of extra
requests. Only `/responses/compact`, a plain JSON request the turn loop does not retry, keeps the
SDK's retries (`request_max_retries`).
"""

from __future__ import annotations

import datetime as _dt
import email.utils
import re
from collections.abc import Mapping

import openai

from tui.model.types import ContextWindowExceeded, ModelError, malformed


def sdk_client(base_url: str, api_key: str, idle_timeout_s: float, headers: dict[str, str]) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url=base_url,
        api_key=api_key or "unused",
        max_retries=0,
        # The read timeout applies per chunk read, so it is the stream's idle timeout; it also
        # bounds the wait for the response headers.
        timeout=openai.Timeout(idle_timeout_s, connect=10.0),
        default_headers=headers,
    )


def sdk_error(e: openai.OpenAIError, *, idle_timeout_s: float | None = None) -> ModelError:
    """Map an SDK exception to what the turn loop should do with it."""
    if isinstance(e, openai.APIStatusError):
        return status_error(e)
    if isinstance(e, openai.APITimeoutError):
        cause = type(e.__cause__).__name__ if e.__cause__ is not None else ""
        if "Connect" in cause or idle_timeout_s is None:
            return ModelError(f"connection problem: {e}", retryable=True, kind="unreachable")
        return ModelError(
            f"stream idle: no data from the server for {idle_timeout_s:g}s (stream_idle_timeout_ms)",
            retryable=True, kind="stream",
        )
    if isinstance(e, openai.APIConnectionError):
        # The SDK's own message is a bare "Connection error."; the cause says what happened.
        detail = str(e.__cause__) if e.__cause__ is not None and str(e.__cause__) else str(e)
        return ModelError(f"connection problem: {detail}", retryable=True, kind="unreachable")
    if isinstance(e, openai.APIError):
        return classify_error(e.code, e.message)
    return ModelError(f"{type(e).__name__}: {e}", retryable=False)


# Codes the live service sends that must not be retried (retrying only burns quota or time).
FATAL_CODES = frozenset(
    {"insufficient_quota", "usage_not_included", "invalid_prompt", "cyber_policy", "invalid_api_key"}
)
# Statuses retried as the SDK would: timeout, lock conflict, rate limit, server errors.
_RETRYABLE_STATUS = frozenset({408, 409, 429})
_RETRY_HINT = re.compile(r"(?i)try again in\s*(\d+(?:\.\d+)?)\s*(ms|s|seconds?)")


def retry_hint_seconds(message: str) -> float | None:
    m = _RETRY_HINT.search(message or "")
    if not m:
        return None
    value = float(m.group(1))
    return value / 1000 if m.group(2).lower() == "ms" else value


def classify_error(code: str | None, message: str) -> ModelError:
    """Map a provider error code (an open string) to what the turn loop should do."""
    if code == "context_length_exceeded":
        return ContextWindowExceeded(message)
    retryable = code not in FATAL_CODES
    return ModelError(
        message, retryable=retryable, code=code, retry_after_s=retry_hint_seconds(message)
    )


def status_error(e: openai.APIStatusError) -> ModelError:
    body = e.body if isinstance(e.body, dict) else {}
    code = body.get("code") or e.code
    message = body.get("message") or e.message
    status = e.status_code
    if code == "context_length_exceeded":
        return ContextWindowExceeded(message)
    headers: Mapping[str, str] = e.response.headers if e.response is not None else {}
    # The server's word wins, as in the SDK (the fake server sends `false` on its refusals).
    refused = headers.get("x-should-retry", "").lower() == "false"
    retryable = not refused and code not in FATAL_CODES and (status in _RETRYABLE_STATUS or status >= 500)
    retry_after = retry_after_seconds(headers) if retryable else None
    if retry_after is None and retryable:
        retry_after = retry_hint_seconds(str(message))
    kind = "other"
    if status == 429:
        text = f"rate limited: {message}" if retryable else f"HTTP 429: {message}"
        kind = "rate_limit"
    elif status >= 500:
        text = f"server error {status}: {message}"
        kind = "server"
    else:
        text = f"HTTP {status}: {message}"
        kind = "auth" if status in (401, 403) else "other"
    if status == 429 and retry_after is None:
        retry_after = retry_after_seconds(headers)  # said even when not retried: the user waits instead
    return ModelError(text, retryable=retryable, code=code, retry_after_s=retry_after, kind=kind)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The server's requested wait: `retry-after-ms`, else `retry-after` (seconds or an HTTP date)."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return max(float(raw_ms) / 1000, 0.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.timezone.utc)
    return max((when - _dt.datetime.now(_dt.timezone.utc)).total_seconds(), 0.0)


RATE_LIMIT_PREFIX = "x-ratelimit-"
MAX_RATE_LIMIT_HEADERS = 16  # a provider's answer is untrusted: a bounded copy, whatever it sends
MAX_RATE_LIMIT_VALUE = 120


def rate_limit_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The `x-ratelimit-*` headers of a response (names lower-cased, sorted), at most
    MAX_RATE_LIMIT_HEADERS of them, each value cut to MAX_RATE_LIMIT_VALUE characters. The
    values are the provider's, unchecked: whoever shows them neutralizes them."""
    found = sorted(
        (k.lower(), v[:MAX_RATE_LIMIT_VALUE]) for k, v in headers.items() if k.lower().startswith(RATE_LIMIT_PREFIX)
    )
    return dict(found[:MAX_RATE_LIMIT_HEADERS])


def rate_limits_of(e: BaseException) -> dict[str, str] | None:
    """The rate-limit headers of a refused request (a 429 carries them too); None for an error
    without an HTTP response."""
    if isinstance(e, openai.APIStatusError) and e.response is not None:
        return rate_limit_headers(e.response.headers)
    return None


# What a broken stream raises out of the SDK: its own errors, and bare parsing errors for half
# JSON or a frame without data (its SSE parser does not wrap them).
STREAM_ERRORS = (openai.OpenAIError, ValueError, TypeError, AttributeError, KeyError)


def stream_error(e: BaseException, *, idle_timeout_s: float | None = None) -> ModelError:
    """Any of STREAM_ERRORS as the turn loop's ModelError."""
    if isinstance(e, openai.OpenAIError):
        return sdk_error(e, idle_timeout_s=idle_timeout_s)
    return malformed(f"{type(e).__name__}: {e}")
