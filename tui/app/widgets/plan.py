"""The plan pane: the agent's `update_plan` steps with a mark for each step's status."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.containers import HorizontalGroup, VerticalGroup
from textual.widgets import Static

from tui.protocol import PlanStep

STATUS_MARKS: dict[str, str] = {"completed": "✔", "in_progress": "▶", "pending": "○"}
"""The mark shown before a step, by the status the model gave it."""


class PlanView(VerticalGroup):
    """Shows the latest plan. Plans are a handful of steps, so recomposing on update is cheap,
    and a row per step lets long steps wrap under their text rather than under the mark."""
    ALLOW_MAXIMIZE = True  # F2–F5 maximize it (Textual maximizes only widgets that allow it)

    DEFAULT_CSS = Path(__file__).with_suffix(".tcss").read_text(encoding="utf-8")
    EMPTY_TEXT = "No plan yet. The agent posts one for multi-step work."

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.steps: list[PlanStep] = []
        self.explanation: str | None = None

    def update_plan(self, steps: list[PlanStep], explanation: str | None) -> None:
        """Replace the shown plan (each update carries the whole plan)."""
        self.steps = list(steps)
        self.explanation = explanation.strip() if explanation else None
        self.refresh(recompose=True)

    def compose(self) -> ComposeResult:
        if not self.steps:
            yield Static(self.EMPTY_TEXT, classes="plan-empty", markup=False)
            return
        if self.explanation:
            yield Static(self.explanation, classes="plan-explanation", markup=False)
        for step in self.steps:
            # An unknown status still gets a mark and a class, so a new engine value degrades
            # to "pending" looks instead of vanishing.
            status = step.status if step.status in STATUS_MARKS else "pending"
            with HorizontalGroup(classes=f"plan-step -{status.replace('_', '-')}"):
                yield Static(STATUS_MARKS[status], classes="plan-mark", markup=False)
                yield Static(step.step, classes="plan-text", markup=False)
