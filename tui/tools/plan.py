"""The `update_plan` tool: its whole effect is the event the UI renders."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tui.protocol import PlanStep, PlanUpdated
from tui.tools.base import (
    ToolCall,
    ToolContext,
    ToolResult,
    parse_arguments,
    valid_text,
)


class PlanItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    step: str = Field(min_length=1)
    status: Literal["pending", "in_progress", "completed"]


class UpdatePlanArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    explanation: str | None = None
    plan: list[PlanItem]


async def handle_update_plan(call: ToolCall, ctx: ToolContext) -> ToolResult:
    args = parse_arguments(UpdatePlanArgs, call.payload)
    if isinstance(args, str):
        return ToolResult(args, False)
    assert isinstance(args, UpdatePlanArgs)
    if sum(1 for p in args.plan if p.status == "in_progress") > 1:
        return ToolResult("invalid plan: at most one step may be in_progress.", False)
    # Shown on screen and written to the rollout, both as UTF-8.
    explanation = valid_text(args.explanation) if args.explanation is not None else None
    ctx.emit(PlanUpdated([PlanStep(valid_text(p.step), p.status) for p in args.plan], explanation))
    return ToolResult("Plan updated", True)
