"""A review's findings in the conversation: a list to move through (Up/Down), Enter opens the
finding's file:line in the diff pane, `f` puts "fix finding N: …" in the composer.

Created when `/review` starts (it shows that the review runs) and filled when the review turn
ends; it keeps the diff it reviewed, so a finding opens in that diff even after the diff pane
has shown something else. It calls back into the screen through the two callables it is given,
never into the engine.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.binding import Binding
from textual.content import Content
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tui.engine.review import location
from tui.protocol import ReviewCompleted, ReviewFinding
from tui.safety.terminal_text import neutralize

PRIORITY_STYLE = ("bold $error", "$warning", "$text-accent", "$text-muted")


def fix_request(n: int, f: ReviewFinding) -> str:
    """What `f` puts in the composer for finding `n` (1-based)."""
    body = f" {f.body}" if f.body else ""
    return f"fix finding {n}: [P{f.priority}] {location(f)}: {f.title}.{body}"


class ReviewList(OptionList):
    DEFAULT_CSS = """
    ReviewList { height: auto; max-height: 16; margin: 1 0 0 0; border: round $secondary; }
    ReviewList:focus { border: round $accent; }
    """
    BINDINGS = [
        Binding("f", "fix", "Fix this finding", id="review.fix"),
    ]

    def __init__(
        self, target: str, diff: str, *, open_finding: Callable[[ReviewList, ReviewFinding], None],
        ask_fix: Callable[[str], None],
    ) -> None:
        super().__init__(Option(Content(f"Reviewing the {target}…"), disabled=True))
        self.target, self.diff = target, diff
        self.findings: list[ReviewFinding] = []
        self.done = False
        self._open_finding, self._ask_fix = open_finding, ask_fix
        self.border_title = f"/review: {target}"

    def fill(self, event: ReviewCompleted) -> None:
        """The review ended: its findings, most urgent first (the event is displayable already)."""
        self.done = True
        self.findings = list(event.findings)
        self.clear_options()
        if not self.findings:
            said = "No findings." if event.parsed else "The review's answer was not a list of findings; it is shown below."
            self.add_option(Option(Content(said), disabled=True))
        for n, f in enumerate(self.findings, 1):
            self.add_option(Option(Content.assemble(
                (f"{n:>2}. P{f.priority} ", PRIORITY_STYLE[f.priority]),
                (neutralize(location(f), strict=True), "underline"), "  ", neutralize(f.title),
            )))
        if event.overall:
            self.add_option(Option(Content.styled(neutralize(event.overall), "italic $text-muted"), disabled=True))
        self.border_subtitle = "↑↓ move · Enter open in the diff · f fix" if self.findings else ""
        if self.findings:
            self.highlighted = 0

    def stop(self, why: str) -> None:
        """The review turn ended without findings (failed, interrupted)."""
        self.done = True
        self.clear_options()
        self.add_option(Option(Content(f"No findings: {why}."), disabled=True))

    def _chosen(self) -> tuple[int, ReviewFinding] | None:
        i = self.highlighted
        if i is None or not 0 <= i < len(self.findings):
            return None
        return i + 1, self.findings[i]

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        chosen = self._chosen()
        if chosen is not None:
            self._open_finding(self, chosen[1])

    def action_fix(self) -> None:
        chosen = self._chosen()
        if chosen is not None:
            self._ask_fix(fix_request(*chosen))
