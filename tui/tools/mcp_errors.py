"""How an MCP request can fail, in words for the model: the error it gets, and what the SDK's
exceptions mean (the server gone, a timeout)."""

from __future__ import annotations

import asyncio
import contextlib

_CONNECTION_CLOSED = -32000  # JSON-RPC code the SDK gives every request once the server is gone


class McpCallError(Exception):
    """A call that got no result; the message is what the model is told."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


def reschedule(deadline: asyncio.Timeout, when: float | None) -> None:
    """Move a request's deadline; one that has just expired stays expired (a report that comes
    as the clock runs out extends nothing)."""
    with contextlib.suppress(RuntimeError):
        deadline.reschedule(when)


def leaf(exc: BaseException) -> BaseException:
    """The first real error inside the exception groups anyio's task groups wrap errors in."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def connection_closed(exc: BaseException) -> bool:
    exc = leaf(exc)
    if getattr(exc, "code", None) == _CONNECTION_CLOSED:
        return True
    return type(exc).__name__ in ("ClosedResourceError", "BrokenResourceError", "EndOfStream")


def describe(exc: BaseException) -> str:
    exc = leaf(exc)
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
