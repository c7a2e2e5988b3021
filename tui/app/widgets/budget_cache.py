"""The budget pane's rows about the prompt cache and money: why requests missed the cache (the
engine's `CacheMissed`), what the last turn and the session cost, and what the cache saved.

Plain functions over the pane's records, returning `(label, value)` rows the pane lays out; kept
apart from budget.py so that module stays about the window and the gauge.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual.content import Content

from tui import wording
from tui.protocol import CacheMissed

if TYPE_CHECKING:
    from tui.app.widgets.budget import RequestRecord

MISS_LINES = 3
"""Misses listed, newest first; older ones are counted on one line."""
_MUTED = "$foreground-muted"


def plural(n: int, noun: str) -> str:
    """`1 request`, `2 requests`: every count in the pane agrees with its noun."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def cache_rows(misses: Sequence[CacheMissed], colour: str) -> list[tuple[str, Content]]:
    """A row per recent miss, newest first: the request, the reason, what the engine saw, and how
    much of what it expected the request read from the cache."""
    rows: list[tuple[str, Content]] = []
    for number, miss in enumerate(reversed(misses[-MISS_LINES:])):
        reason = wording.CACHE_MISS_REASONS.get(miss.reason, miss.reason)
        value = Content.assemble(
            (f"#{miss.request} ", _MUTED),
            (reason, colour),
            f": {miss.detail}",
            (f" · read {miss.cached_input_tokens:,} of {miss.expected_cached_tokens:,}", _MUTED),
        )
        rows.append(("Missed" if number == 0 else "", value))
    if len(misses) > MISS_LINES:
        more = len(misses) - MISS_LINES
        rows.append(("", Content.styled(f"+{more:,} earlier {'miss' if more == 1 else 'misses'}", _MUTED)))
    return rows


def cost_rows(requests: Sequence[RequestRecord], turns: int) -> list[tuple[str, Content]]:
    """The last turn's cost and the session's, each with what the prompt cache saved. The costs
    already bill cached input at its own price; "≈": prices are the configured list prices."""
    priced = [r for r in requests if r.cost is not None]
    if not priced:
        return [("Cost", Content.styled("no prices for this model", _MUTED))]
    rows: list[tuple[str, Content]] = []
    last_turn = requests[-1].turn if requests else 0
    if turns and last_turn:
        in_turn = [r for r in requests if r.turn == last_turn]
        rows += _money("Last turn", in_turn, f" · {plural(len(in_turn), 'request')}")
    unpriced = len(requests) - len(priced)
    rows += _money("Cost", requests, f" ({plural(unpriced, 'request')} unpriced)" if unpriced else "")
    return rows


def _money(label: str, requests: Sequence[RequestRecord], note: str) -> list[tuple[str, Content]]:
    cost = sum(r.cost for r in requests if r.cost is not None)
    saved = sum(r.saved for r in requests if r.saved is not None)
    return [
        (label, Content(f"≈ ${cost:,.4f}") + Content.styled(note, _MUTED)),
        ("", Content.styled(f"cache saved ≈ ${saved:,.4f}", _MUTED)),
    ]
