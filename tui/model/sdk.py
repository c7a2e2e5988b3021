"""What both provider clients share: the SDK client and the mapping of its errors."""

from __future__ import annotations

import re

import openai

from tui.model.types import ContextWindowExceeded, ModelError


def sdk_client(
    base_url: str, api_key: str, idle_timeout_s: float, max_retries: int, headers: dict[str, str]
) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url=base_url,
        api_key=api_key or "unused",
        max_retries=max_retries,
        # The read timeout applies per chunk, so it is the stream's idle timeout.
        timeout=openai.Timeout(idle_timeout_s, connect=10.0),
        default_headers=headers,
    )


def sdk_error(e: openai.OpenAIError) -> ModelError:
    """Map an SDK exception to what the turn loop should do with it."""
    if isinstance(e, openai.APIStatusError):
        return status_error(e)
    if isinstance(e, (openai.APIConnectionError, openai.APITimeoutError)):
        return ModelError(f"connection problem: {e}", retryable=True)
    if isinstance(e, openai.APIError):
        return classify_error(e.code, e.message)
    return ModelError(f"{type(e).__name__}: {e}", retryable=False)


# Codes the live service sends that must not be retried (retrying only burns quota or time).
FATAL_CODES = frozenset(
    {"insufficient_quota", "usage_not_included", "invalid_prompt", "cyber_policy", "invalid_api_key"}
)
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
    retry_after = _retry_after(e)
    if status == 429 and code not in FATAL_CODES:
        return ModelError(f"rate limited: {message}", retryable=True, code=code, retry_after_s=retry_after)
    if status >= 500:
        return ModelError(f"server error {status}: {message}", retryable=True, code=code, retry_after_s=retry_after)
    return ModelError(f"HTTP {status}: {message}", retryable=False, code=code)


def _retry_after(e: openai.APIStatusError) -> float | None:
    raw = e.response.headers.get("retry-after") if e.response is not None else None
    try:
        return float(raw) if raw is not None else retry_hint_seconds(str(e.message))
    except ValueError:
        return None


