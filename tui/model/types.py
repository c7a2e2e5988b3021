"""One internal stream shape for every provider.

A provider client turns its wire stream into these events; the turn loop never sees SDK types.
Items are plain dicts in the Responses API's input-item shape, so the history can be sent back
byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, AsyncGenerator, Protocol


@dataclass(frozen=True)
class Prompt:
    model: str
    instructions: str
    input: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    parallel_tool_calls: bool
    prompt_cache_key: str
    reasoning: dict[str, Any] | None = None


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    total_tokens: int = 0

    @classmethod
    def from_responses(cls, raw: dict[str, Any] | None) -> Usage | None:
        if not raw:
            return None
        inp = raw.get("input_tokens_details") or {}
        out = raw.get("output_tokens_details") or {}
        return cls(
            input_tokens=int(raw.get("input_tokens") or 0),
            cached_input_tokens=int(inp.get("cached_tokens") or 0),
            output_tokens=int(raw.get("output_tokens") or 0),
            reasoning_tokens=int(out.get("reasoning_tokens") or 0),
            total_tokens=int(raw.get("total_tokens") or 0),
        )


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
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.code = code
        self.retry_after_s = retry_after_s


class ContextWindowExceeded(ModelError):
    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False, code="context_length_exceeded")


class ModelClient(Protocol):
    def stream(self, prompt: Prompt) -> AsyncGenerator[ModelEvent, None]: ...


@dataclass
class SampledResponse:
    """A response that reached its terminal event: only these items are acted on."""

    items: list[dict[str, Any]] = field(default_factory=list)
    usage: Usage | None = None
    response_id: str | None = None
