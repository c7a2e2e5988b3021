"""BudgetModel's arithmetic, without an app: what is used, what is left, what it cost."""

from __future__ import annotations

import pytest

from tui.app.widgets.budget import BudgetModel, Prices, human_tokens
from tui.app.widgets.budget_cache import MISS_LINES, cache_rows, cost_rows
from tui.protocol import CacheMissed, TokenUsage


def usage(
    input_tokens: int,
    cached: int = 0,
    output: int = 0,
    reasoning: int = 0,
    *,
    session: int | None = None,
    window: int | None = None,
) -> TokenUsage:
    total = input_tokens + output
    return TokenUsage(input_tokens, cached, output, reasoning, total, session or total, window)


def test_used_is_the_last_responses_total_not_a_running_sum() -> None:
    model = BudgetModel()
    model.set_limits(100_000, None)
    model.record_usage(usage(10_000, output=500))
    model.record_usage(usage(12_000, output=300))
    assert model.used == 12_300
    assert model.percent_left == 87  # (100,000 − 12,300) / 100,000, rounded down, no offsets
    assert not model.approximate


def test_an_estimate_adds_pending_tokens_until_the_next_response_arrives() -> None:
    model = BudgetModel()
    model.set_limits(100_000, None)
    model.record_usage(usage(10_000))
    model.set_estimate(2_500, approximate=True)
    assert model.used == 12_500 and model.approximate
    model.set_estimate(2_500, approximate=False)
    assert not model.approximate
    model.record_usage(usage(13_000))
    assert model.used == 13_000 and model.pending == 0 and not model.approximate


def test_percent_left_never_goes_negative_and_is_unknown_without_a_window() -> None:
    model = BudgetModel()
    model.record_usage(usage(150_000))
    assert model.percent_left is None
    model.set_limits(128_000, None)
    assert model.percent_left == 0


def test_the_usage_events_window_updates_the_limit() -> None:
    model = BudgetModel()
    model.set_limits(None, 90_000)
    model.record_usage(usage(1_000, window=200_000))
    assert model.context_window == 200_000 and model.auto_compact_limit == 90_000


def test_tokens_until_auto_compaction_count_down_to_zero() -> None:
    model = BudgetModel()
    model.set_limits(200_000, 150_000)
    model.record_usage(usage(100_000))
    assert model.tokens_until_compaction == 50_000
    model.set_estimate(60_000, approximate=True)
    assert model.tokens_until_compaction == 0


def test_a_compaction_is_recorded_and_resets_what_the_context_holds() -> None:
    model = BudgetModel()
    model.set_limits(200_000, 150_000)
    model.record_usage(usage(140_000, output=12_000))
    model.record_compaction(before=152_000, after=18_000)
    assert [(c.before, c.after, c.after_request) for c in model.compactions] == [
        (152_000, 18_000, 1)
    ]
    # No response has measured the compacted history yet, so the figure is marked as estimated.
    assert model.used == 18_000 and model.approximate
    model.record_usage(usage(19_000))
    assert model.used == 19_000 and not model.approximate


@pytest.mark.parametrize(
    ("used", "level"), [(0, "ok"), (112_499, "ok"), (112_500, "warn"), (135_000, "danger")]
)
def test_the_level_is_measured_against_the_auto_compaction_limit(used: int, level: str) -> None:
    model = BudgetModel()
    model.set_limits(200_000, 150_000)
    model.record_usage(usage(used))
    assert model.level == level


def test_cache_hit_is_per_request_and_per_session() -> None:
    model = BudgetModel()
    model.record_usage(usage(10_000, cached=0))
    model.record_usage(usage(10_000, cached=8_000))
    model.record_usage(usage(0))
    assert [r.cache_hit for r in model.requests] == [0.0, 80.0, None]
    assert model.session_cache_hit == 40.0
    assert model.session_sum("cached_input_tokens") == 8_000


def test_sparkline_is_scaled_to_zero_to_one_hundred_percent_and_keeps_the_newest() -> None:
    model = BudgetModel()
    for cached in (0, 5_000, 10_000):
        model.record_usage(usage(10_000, cached=cached))
    model.record_usage(usage(0))
    assert model.cache_hit_sparkline(10) == "▁▅█ "
    assert model.cache_hit_sparkline(2) == "█ "
    assert model.cache_hit_sparkline(0) == ""


def test_cost_bills_cached_input_at_its_own_price_and_reasoning_inside_output() -> None:
    model = BudgetModel(Prices(input=2.0, cached_input=0.5, output=8.0))
    model.record_usage(usage(1_000_000, cached=400_000, output=100_000, reasoning=60_000))
    # 600k uncached × $2 + 400k cached × $0.50 + 100k output × $8 (reasoning is inside output)
    assert model.requests[0].cost == pytest.approx(1.2 + 0.2 + 0.8)
    cost, unpriced = model.session_cost
    assert cost == pytest.approx(2.2) and unpriced == 0


def test_the_cache_saving_is_cached_tokens_at_the_input_price_less_their_own() -> None:
    model = BudgetModel(Prices(input=2.0, cached_input=0.5, output=8.0))
    model.record_usage(usage(1_000_000, cached=400_000))
    assert model.requests[0].saved == pytest.approx(400_000 * (2.0 - 0.5) / 1_000_000)
    assert BudgetModel().requests == [] and Prices(1.0, 1.0, 1.0).saved(10**6) == 0


def test_the_last_turn_costs_its_own_requests_and_the_session_all_of_them() -> None:
    model = BudgetModel(Prices(input=1.0, cached_input=0.1, output=10.0))
    model.start_turn()
    model.record_usage(usage(1_000_000))  # $1
    model.start_turn()
    model.record_usage(usage(1_000_000, cached=1_000_000))  # $0.10, saved $0.90
    model.record_usage(usage(0, output=100_000))  # $1
    rows = {label: str(value) for label, value in cost_rows(model.requests, model.turns) if label}
    assert rows == {"Last turn": "≈ $1.1000 · 2 requests", "Cost": "≈ $2.1000"}
    text = [str(value) for _, value in cost_rows(model.requests, model.turns)]
    assert text[1] == "cache saved ≈ $0.9000" and text[3] == "cache saved ≈ $0.9000"


def test_without_turns_or_prices_there_is_no_turn_row() -> None:
    model = BudgetModel(Prices(input=1.0, cached_input=0.1, output=10.0))
    model.record_usage(usage(1_000))
    assert [label for label, _ in cost_rows(model.requests, model.turns)] == ["Cost", ""]
    unpriced = BudgetModel()
    unpriced.start_turn()
    unpriced.record_usage(usage(1_000))
    [(label, value)] = cost_rows(unpriced.requests, unpriced.turns)
    assert (label, str(value)) == ("Cost", "no prices for this model")


def test_miss_rows_list_the_newest_first_and_count_the_rest() -> None:
    misses = [CacheMissed("provider_evicted", "the prefix was sent unchanged", 4_992, 0, n) for n in range(2, 8)]
    rows = cache_rows(misses, "red")
    assert [label for label, _ in rows] == ["Missed"] + [""] * MISS_LINES
    assert str(rows[0][1]) == "#7 provider evicted: the prefix was sent unchanged · read 0 of 4,992"
    assert str(rows[-1][1]) == f"+{len(misses) - MISS_LINES} earlier misses"
    assert cache_rows([], "red") == []


def test_requests_made_without_prices_are_counted_as_unpriced() -> None:
    model = BudgetModel()
    model.record_usage(usage(1_000))
    model.prices = Prices(input=1.0, cached_input=0.1, output=4.0)
    model.record_usage(usage(1_000_000))
    cost, unpriced = model.session_cost
    assert cost == pytest.approx(1.0) and unpriced == 1


def test_gauge_cells_place_the_fill_and_the_compaction_marker() -> None:
    model = BudgetModel()
    assert model.gauge_cells(40) == (0, None)
    model.set_limits(200_000, 150_000)
    model.record_usage(usage(50_000))
    assert model.gauge_cells(40) == (10, 30)
    model.set_limits(200_000, 200_000)
    model.record_usage(usage(400_000))
    assert model.gauge_cells(40) == (40, 39)


@pytest.mark.parametrize(
    ("count", "text"),
    [(987, "987"), (9_876, "9,876"), (12_345, "12.3k"), (200_000, "200k"), (1_050_000, "1.05M")],
)
def test_token_counts_are_shortened_for_a_narrow_pane(count: int, text: str) -> None:
    assert human_tokens(count) == text
