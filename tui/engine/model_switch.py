"""What follows a change of model or reasoning effort mid-session (`/model`): the request's
`reasoning` parameter, the context window and the compaction limit.

The history is told about the new model (context.settings_diff); the options here are request
parameters and meters. A model without reasoning must not be sent `reasoning` (the API refuses
it), and the budget and compaction must use the new model's window, unless the window was set
in the configuration (`model_context_window`, `model_auto_compact_token_limit`), which wins as
at start-up.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tui.engine.models import auto_compact_limit, context_window, supports_reasoning
from tui.engine.options import SessionOptions
from tui.protocol import ReasoningEffort


def switched_options(
    options: SessionOptions, old_model: str, new_model: str, effort: ReasoningEffort | None
) -> SessionOptions:
    """`options` for `new_model` (and `effort`, when the user picked one)."""
    window = options.context_window
    if window == context_window(old_model):  # the table's, not configured: the new model's
        window = context_window(new_model)
    limit = options.auto_compact_limit
    if limit == auto_compact_limit(old_model, None, options.context_window):  # derived, not configured
        limit = auto_compact_limit(new_model, None, window)
    return replace(
        options, reasoning=_reasoning(options.reasoning, new_model, effort), context_window=window, auto_compact_limit=limit
    )


def _reasoning(old: dict[str, Any] | None, model: str, effort: ReasoningEffort | None) -> dict[str, Any] | None:
    """As bootstrap.reasoning_param: sent to a model that reasons, or when an effort is chosen."""
    if effort is None and not supports_reasoning(model):
        return None
    out = dict(old) if old is not None else {"summary": "auto"}
    if effort is not None:
        out["effort"] = effort
    return out


def effort_of(options: SessionOptions) -> str | None:
    """The reasoning effort requests carry; None: the model's default (or no reasoning)."""
    reasoning = options.reasoning
    effort = reasoning.get("effort") if reasoning is not None else None
    return effort if isinstance(effort, str) else None
