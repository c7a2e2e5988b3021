"""The token budget pane: how full the context window is, what each request cost, and where
auto-compaction will fire.

The arithmetic lives in `BudgetModel`, a plain class with no Textual in it, so it can be
unit-tested and so the widget only formats. The model never guesses: "used" is the last
response's `total_tokens` (what the context holds after it), plus whatever the caller says is
waiting to be sent; an "≈" marks any figure that rests on an estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from textual.content import Content
from textual.geometry import Size
from textual.widget import Widget

from tui.app.themes import app_color
from tui.app.widgets.budget_cache import cache_rows, cost_rows, plural
from tui.protocol import CacheMissed, TokenUsage

Level = Literal["ok", "warn", "danger"]
_BARS = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class Prices:
    """USD per million tokens for one model; cached input is billed instead of input."""

    input: float
    cached_input: float
    output: float

    def cost(self, input_tokens: int, cached_input_tokens: int, output_tokens: int) -> float:
        # Reasoning tokens are already inside output_tokens, so they are not added again.
        uncached = input_tokens - cached_input_tokens
        return (
            uncached * self.input
            + cached_input_tokens * self.cached_input
            + output_tokens * self.output
        ) / 1_000_000

    def saved(self, cached_input_tokens: int) -> float:
        """What the cache took off the bill: cached tokens at the input price less what they cost."""
        return cached_input_tokens * (self.input - self.cached_input) / 1_000_000


@dataclass(frozen=True)
class RequestRecord:
    """One model request's usage, with its cost at the prices in force when it was made."""

    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    reasoning_tokens: int
    total_tokens: int
    cost: float | None
    saved: float | None = None
    """What the prompt cache saved on this request (None without a price)."""
    turn: int = 0
    """The turn it was made in (`BudgetModel.start_turn` counts them from 1; 0: before any)."""

    @property
    def cache_hit(self) -> float | None:
        """Percentage of input tokens served from the prompt cache; None without input."""
        return _percent(self.cached_input_tokens, self.input_tokens)


@dataclass(frozen=True)
class CompactionRecord:
    """The history was compacted from `before` to `after` tokens after `after_request` requests."""

    before: int
    after: int
    after_request: int


def _percent(part: int, whole: int) -> float | None:
    return None if whole <= 0 else 100 * part / whole


def human_tokens(count: int) -> str:
    """Token counts short enough for a narrow pane: 987, 9,876, 12.3k, 200k, 1.05M."""
    if count < 10_000:
        return f"{count:,}"
    if count < 1_000_000:
        return f"{count / 1000:.1f}".removesuffix(".0") + "k"
    return f"{count / 1_000_000:.2f}M"


class BudgetModel:
    """The budget's state and arithmetic."""

    WARN_AT = 0.75
    """Fraction of the effective limit at which the gauge turns to the warning colour."""
    DANGER_AT = 0.90
    """... and to the danger colour: close enough that the next big tool output may cross it."""

    def __init__(self, prices: Prices | None = None) -> None:
        self.context_window: int | None = None
        self.auto_compact_limit: int | None = None
        self.prices = prices
        self.requests: list[RequestRecord] = []
        self.compactions: list[CompactionRecord] = []
        self.misses: list[CacheMissed] = []
        self.turns = 0
        self.session_total_tokens = 0
        # What the context holds now: the last response's total, or a compaction's result.
        self._held = 0
        self._held_approximate = False
        self.pending = 0
        self.pending_approximate = False

    def set_limits(self, context_window: int | None, auto_compact_limit: int | None) -> None:
        self.context_window = context_window
        self.auto_compact_limit = auto_compact_limit

    def record_usage(self, usage: TokenUsage) -> None:
        """A response finished. Its tokens replace any estimate of what was about to be sent."""
        cost = saved = None
        if self.prices is not None:
            cost = self.prices.cost(
                usage.input_tokens, usage.cached_input_tokens, usage.output_tokens
            )
            saved = self.prices.saved(usage.cached_input_tokens)
        self.requests.append(
            RequestRecord(
                usage.input_tokens,
                usage.cached_input_tokens,
                usage.output_tokens,
                usage.reasoning_tokens,
                usage.total_tokens,
                cost,
                saved,
                self.turns,
            )
        )
        self.session_total_tokens = usage.session_total_tokens
        if usage.model_context_window is not None:
            self.context_window = usage.model_context_window
        self._held, self._held_approximate = usage.total_tokens, False
        self.pending, self.pending_approximate = 0, False

    def start_turn(self) -> None:
        """A turn (or another task) started: the requests from now on are its cost."""
        self.turns += 1

    def record_miss(self, miss: CacheMissed) -> None:
        self.misses.append(miss)

    def set_estimate(self, tokens: int, approximate: bool) -> None:
        """Tokens waiting to go out with the next request (typed text, tool output)."""
        self.pending, self.pending_approximate = max(0, tokens), approximate

    def record_compaction(self, before: int, after: int) -> None:
        # The compacted size is the engine's count of a history no response has measured yet.
        self.compactions.append(CompactionRecord(before, after, len(self.requests)))
        self._held, self._held_approximate = after, True

    @property
    def used(self) -> int:
        return self._held + self.pending

    @property
    def approximate(self) -> bool:
        return self._held_approximate or (self.pending > 0 and self.pending_approximate)

    @property
    def percent_left(self) -> int | None:
        """Whole percent of the window still free, rounded down; None if the window is unknown."""
        if not self.context_window:
            return None
        return max(0, self.context_window - self.used) * 100 // self.context_window

    @property
    def tokens_until_compaction(self) -> int | None:
        if self.auto_compact_limit is None:
            return None
        return max(0, self.auto_compact_limit - self.used)

    @property
    def level(self) -> Level:
        limit = self.auto_compact_limit or self.context_window
        if not limit:
            return "ok"
        ratio = self.used / limit
        return "danger" if ratio >= self.DANGER_AT else "warn" if ratio >= self.WARN_AT else "ok"

    def session_sum(self, field: str) -> int:
        """Sum of one `RequestRecord` token field over the session's requests."""
        return sum(getattr(request, field) for request in self.requests)

    @property
    def session_cache_hit(self) -> float | None:
        return _percent(self.session_sum("cached_input_tokens"), self.session_sum("input_tokens"))

    @property
    def session_cost(self) -> tuple[float, int]:
        """(cost of the priced requests, number of requests that had no price)."""
        priced = [r.cost for r in self.requests if r.cost is not None]
        return sum(priced), len(self.requests) - len(priced)

    def gauge_cells(self, width: int) -> tuple[int, int | None]:
        """(cells filled, cell of the auto-compaction marker) for a gauge `width` cells wide."""
        if not self.context_window or width <= 0:
            return 0, None
        filled = min(width, round(self.used / self.context_window * width))
        marker = None
        if self.auto_compact_limit is not None:
            marker = min(width - 1, int(self.auto_compact_limit / self.context_window * width))
        return filled, marker

    def cache_hit_sparkline(self, width: int) -> str:
        """One bar per request (newest last, at most `width`), scaled 0–100 %, not min–max."""
        bars = []
        for request in self.requests[-width:] if width > 0 else []:
            hit = request.cache_hit
            bars.append(" " if hit is None else _BARS[round(hit / 100 * (len(_BARS) - 1))])
        return "".join(bars)


LABEL_WIDTH = 10


class BudgetView(Widget):
    """Token budget pane. Data in through the methods below; it never talks to the engine."""
    ALLOW_MAXIMIZE = True  # F2–F5 maximize it (Textual maximizes only widgets that allow it)

    DEFAULT_CSS = Path(__file__).with_suffix(".tcss").read_text(encoding="utf-8")

    def __init__(
        self,
        *,
        prices: Prices | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.model = BudgetModel(prices)

    def on_mount(self) -> None:
        # The budget colours are resolved while rendering, so a new theme needs a new render.
        self.app.theme_changed_signal.subscribe(self, lambda _: self.refresh())

    def set_limits(self, context_window: int | None, auto_compact_limit: int | None) -> None:
        self.model.set_limits(context_window, auto_compact_limit)
        self.refresh(layout=True)

    def reset(self, context_window: int | None, auto_compact_limit: int | None) -> None:
        """A different session: forget the requests, keep the prices."""
        self.model = BudgetModel(self.model.prices)
        self.set_limits(context_window, auto_compact_limit)

    def record_usage(self, usage: TokenUsage) -> None:
        self.model.record_usage(usage)
        self.refresh(layout=True)

    def set_estimate(self, tokens: int, approximate: bool) -> None:
        self.model.set_estimate(tokens, approximate)
        self.refresh(layout=True)

    def start_turn(self) -> None:
        self.model.start_turn()

    def record_miss(self, miss: CacheMissed) -> None:
        """A request read less from the prompt cache than expected: a line saying why."""
        self.model.record_miss(miss)
        self.refresh(layout=True)

    def record_compaction(self, before: int, after: int) -> None:
        self.model.record_compaction(before, after)
        self.refresh(layout=True)

    def set_prices(self, prices: Prices | None) -> None:
        """Prices for requests recorded from now on (a model switch changes them)."""
        self.model.prices = prices
        self.refresh(layout=True)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines(width))

    def render(self) -> Content:
        # Lines are laid out here, at the pane's width, so long values wrap under their value
        # column rather than under the label, and the gauge spans the pane exactly.
        return Content("\n").join(self._lines(self.size.width))

    def _lines(self, width: int) -> list[Content]:
        width = max(LABEL_WIDTH + 12, width)
        lines: list[Content] = []
        for label, value in self._rows(width - LABEL_WIDTH):
            if label == _GAUGE:
                lines.append(self._gauge(width))
                continue
            head = Content.styled(label.ljust(LABEL_WIDTH), "$foreground-muted")
            for number, part in enumerate(value.wrap(width - LABEL_WIDTH)):
                lines.append((head if number == 0 else Content(" " * LABEL_WIDTH)) + part)
        return lines

    def _colour(self, level: Level) -> str:
        return app_color(self.app, f"budget-{level}")

    def _rows(self, value_width: int) -> list[tuple[str, Content]]:
        m = self.model
        about = "≈" if m.approximate else ""
        level = self._colour(m.level)
        rows: list[tuple[str, Content]] = []
        if m.context_window is None:
            rows.append(("Context", Content(f"{about}{human_tokens(m.used)} used · window unknown")))
        else:
            used = f"{about}{human_tokens(m.used)} / {human_tokens(m.context_window)} · "
            rows.append(("Context", Content.assemble(used, (f"{m.percent_left}% left", level))))
            rows.append((_GAUGE, Content()))
        if m.auto_compact_limit is not None:
            to_go = f"{about}{human_tokens(m.tokens_until_compaction or 0)} to go"
            at = f"at {human_tokens(m.auto_compact_limit)} · "
            rows.append(("Compacts", Content.assemble(at, (to_go, level))))
        if not m.requests:
            return [*rows, ("Requests", Content.styled("none yet", "$foreground-muted"))]
        last = m.requests[-1]
        rows += [
            ("Last", Content(_tokens(last.input_tokens, last.cached_input_tokens, last.cache_hit))),
            ("", Content(_output(last.output_tokens, last.reasoning_tokens))),
            (
                "Session",
                Content(
                    f"{plural(len(m.requests), 'request')} · total {human_tokens(m.session_total_tokens)}"
                ),
            ),
            (
                "",
                Content(
                    _tokens(
                        m.session_sum("input_tokens"),
                        m.session_sum("cached_input_tokens"),
                        m.session_cache_hit,
                    )
                ),
            ),
            (
                "",
                Content(_output(m.session_sum("output_tokens"), m.session_sum("reasoning_tokens"))),
            ),
            ("Cache hit", Content.styled(m.cache_hit_sparkline(value_width), self._colour("ok"))),
            *cache_rows(m.misses, self._colour("warn")),
        ]
        for number, compaction in enumerate(m.compactions, 1):
            before, after = human_tokens(compaction.before), human_tokens(compaction.after)
            when = Content.styled(f" after request {compaction.after_request}", "$foreground-muted")
            rows.append(("Compacted" if number == 1 else "", Content(f"{before} → {after}") + when))
        return rows + cost_rows(m.requests, m.turns)

    def _gauge(self, width: int) -> Content:
        """The window as a bar: filled up to what is used, `┃` where auto-compaction fires."""
        filled, marker = self.model.gauge_cells(width)
        level = self._colour(self.model.level)
        runs: list[tuple[str, str]] = []
        for cell in range(width):
            if cell == marker:
                char, style = "┃", self._colour("warn")
            else:
                char, style = ("━", level) if cell < filled else ("─", "$foreground-muted")
            if runs and runs[-1][1] == style:
                runs[-1] = (runs[-1][0] + char, style)
            else:
                runs.append((char, style))
        return Content.assemble(*runs)


_GAUGE = "\0gauge"  # a row label that stands for the gauge line


def _tokens(input_tokens: int, cached: int, hit: float | None) -> str:
    percent = "" if hit is None else f" ({hit:.0f}%)"
    return f"in {human_tokens(input_tokens)} · cached {human_tokens(cached)}{percent}"


def _output(output_tokens: int, reasoning_tokens: int) -> str:
    return f"out {human_tokens(output_tokens)} · reasoning {human_tokens(reasoning_tokens)}"
