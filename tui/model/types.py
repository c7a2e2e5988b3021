"""One internal stream shape for every provider.

A provider client turns its wire stream into these events; the turn loop never sees SDK types.
Items are plain dicts in the Responses API's input-item shape, so the history can be sent back
byte for byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, AsyncGenerator, overload


@dataclass(frozen=True)
class Prompt:
    model: str
    instructions: str
    input: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    parallel_tool_calls: bool
    prompt_cache_key: str
    reasoning: dict[str, Any] | None = None
    text_format: dict[str, Any] | None = None
    """The Responses API's `text.format` (structured output); None: plain text."""


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    total_tokens: int = 0

    @classmethod
    def from_responses(cls, raw: dict[str, Any] | None) -> Usage | None:
        if not raw or not isinstance(raw, dict):
            return None
        inp = raw.get("input_tokens_details")
        out = raw.get("output_tokens_details")
        inp = inp if isinstance(inp, dict) else {}
        out = out if isinstance(out, dict) else {}
        return cls(
            input_tokens=_count(raw.get("input_tokens")),
            cached_input_tokens=_count(inp.get("cached_tokens")),
            output_tokens=_count(raw.get("output_tokens")),
            reasoning_tokens=_count(out.get("reasoning_tokens")),
            total_tokens=_count(raw.get("total_tokens")),
        )


# No model's context comes near this; a larger "count" is garbage, and taken at its word it
# would trigger compaction after every turn.
MAX_TOKEN_COUNT = 1 << 32


def _count(value: Any) -> int:
    """A token count from the wire; anything that is not an integer in 0..MAX_TOKEN_COUNT
    (a string, a float, a negative or absurd number, a bool) counts as 0."""
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TOKEN_COUNT
    return value if ok else 0


@dataclass(frozen=True)
class TextDelta:
    delta: str


@dataclass(frozen=True)
class ReasoningSummaryDelta:
    delta: str


@dataclass(frozen=True)
class OutputItemDone:
    item: dict[str, Any]


@dataclass(frozen=True)
class Completed:
    response_id: str | None
    usage: Usage | None


ModelEvent = TextDelta | ReasoningSummaryDelta | OutputItemDone | Completed


class ModelError(Exception):
    """A failed sampling request. `retryable` decides whether the turn loop tries again."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        code: str | None = None,
        retry_after_s: float | None = None,
        kind: str = "other",
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.code = code
        self.retry_after_s = retry_after_s
        self.kind = kind
        """What went wrong, for telling the user what to check: "unreachable" (no connection),
        "auth" (HTTP 401/403), "rate_limit" (429), "server" (5xx), "stream" (a broken or idle
        stream, malformed data) or "other"."""


def malformed(what: str) -> ModelError:
    """The provider sent something that is not the protocol: treat it like a broken stream."""
    return ModelError(f"malformed data from the provider: {what}", retryable=True, code="malformed", kind="stream")


_SURROGATES = re.compile("[\ud800-\udfff]")


@overload
def clean(value: str) -> str: ...
@overload
def clean(value: dict[str, Any]) -> dict[str, Any]: ...
@overload
def clean(value: Any) -> Any: ...
def clean(value: Any) -> Any:
    """JSON-like data with lone surrogates replaced (they would make every later request fail)."""
    if isinstance(value, str):
        return value if value.isascii() else _SURROGATES.sub("\ufffd", value)
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, dict):
        return {clean(k) if isinstance(k, str) else k: clean(v) for k, v in value.items()}
    return value


class ContextWindowExceeded(ModelError):
    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False, code="context_length_exceeded")


class ModelClient:
    """A provider's client. `stream` is what every provider does; the other methods are
    abilities some have, declared here with their defaults so callers never probe with getattr."""

    base_url: str
    """Where requests go: named in retry and failure messages."""

    supports_compact: bool = False
    """Whether `compact` asks the provider (`/responses/compact`) rather than failing."""

    def stream(self, prompt: Prompt) -> AsyncGenerator[ModelEvent, None]:
        raise NotImplementedError

    async def compact(self, prompt: Prompt) -> list[dict[str, Any]]:
        """The history in `prompt` compacted by the provider: its replacement items, unchecked."""
        raise ModelError("this provider has no remote compaction", retryable=False)

    def warm(self) -> None:
        """Blocking set-up (importing the SDK, building the client) done ahead of the first
        request; called from a thread. Nothing to do by default."""

    async def aclose(self) -> None:
        """Release pooled connections; called while the event loop still runs."""

    def rate_limits(self) -> dict[str, str]:
        """The `x-ratelimit-*` headers of the provider's last answer (sdk.rate_limit_headers),
        untrusted text; empty when none came (yet)."""
        return {}


@dataclass
class SampledResponse:
    """A response that reached its terminal event: only these items are acted on."""

    items: list[dict[str, Any]] = field(default_factory=list)
    usage: Usage | None = None
    response_id: str | None = None
