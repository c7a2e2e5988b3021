"""MCP elicitation: a server asking the user to fill a small form (`elicitation/create`).

The form's schema is the protocol's restricted one: a flat object of string, number, integer,
boolean and enum properties. The user sees it as a modal (the app) and accepts, declines or
cancels; a headless session declines (nobody to ask), as does a request in URL mode or with a
schema outside that subset. While the user answers, the server's pending requests do not time
out (the time is the user's, not the server's).

Sampling (`sampling/create`) is not offered: codeloop does not declare the capability, so a
compliant server never asks, and the SDK refuses one that does.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

from tui.protocol import Event, McpElicitationRequested

KINDS = ("string", "number", "integer", "boolean")
MAX_FIELDS = 20
TEXT_CHARS = 500  # of a title, description or message shown
ANSWER_TIMEOUT_S = 3600.0  # a form nobody answers is cancelled in the end, and the server told


def _clip(value: object) -> str:
    text = value if isinstance(value, str) else ""
    return text if len(text) <= TEXT_CHARS else text[: TEXT_CHARS - 1] + "…"


def form_fields(schema: object) -> list[dict[str, Any]] | None:
    """The fields of a requested schema, in its order; None when it is outside the protocol's
    flat subset (nothing then is asked)."""
    if not isinstance(schema, dict) or schema.get("type", "object") != "object":
        return None
    props = schema.get("properties")
    required = schema.get("required") or []
    if not isinstance(props, dict) or not props or len(props) > MAX_FIELDS or not isinstance(required, list):
        return None
    fields = []
    for name, prop in props.items():
        if not isinstance(prop, dict):
            return None
        choices = prop.get("enum")
        kind = "enum" if choices is not None else prop.get("type")
        if kind == "enum" and not (isinstance(choices, list) and choices and all(isinstance(c, str) for c in choices)):
            return None
        if kind not in (*KINDS, "enum"):
            return None
        fields.append({
            "name": str(name), "type": kind, "title": _clip(prop.get("title")) or str(name),
            "description": _clip(prop.get("description")), "required": name in required,
            "choices": list(choices or []),
        })  # fmt: skip
    return fields


def coerce(fields: list[dict[str, Any]], typed: dict[str, str]) -> tuple[dict[str, Any], str | None]:
    """The form's typed text as the values the schema asks for, and the first problem (None:
    none). Empty optional fields are left out."""
    values: dict[str, Any] = {}
    for f in fields:
        text = typed.get(f["name"], "").strip()
        if not text:
            if f["required"]:
                return values, f"{f['title']} is required"
            continue
        kind = f["type"]
        if kind == "enum":
            if text not in f["choices"]:
                return values, f"{f['title']}: choose one of {', '.join(f['choices'])}"
            values[f["name"]] = text
        elif kind == "boolean":
            if text.lower() not in ("yes", "no", "true", "false", "y", "n"):
                return values, f"{f['title']}: answer yes or no"
            values[f["name"]] = text.lower() in ("yes", "true", "y")
        elif kind in ("number", "integer"):
            try:
                number = int(text) if kind == "integer" else float(text)
            except ValueError:
                return values, f"{f['title']}: {'a whole number' if kind == 'integer' else 'a number'} is needed"
            if isinstance(number, float) and not math.isfinite(number):
                return values, f"{f['title']}: a finite number is needed"
            values[f["name"]] = number
        else:
            values[f["name"]] = text
    return values, None


def elicitation_callback(
    server: str, emit: Callable[[Event], None], interactive: Callable[[], bool], pause: Callable[[bool], None]
) -> Callable[..., Any]:
    """The SDK's `elicitation_callback` for one server. `pause(True)` stops its requests' clocks
    while the user answers, `pause(False)` restarts them."""

    one_at_a_time = asyncio.Lock()  # a server asking again and again queues its forms, one dialog at a time

    async def answer(context: Any, params: Any) -> Any:
        from mcp import types  # loaded: a server that asks is running

        fields = form_fields(getattr(params, "requested_schema", None)) if getattr(params, "mode", "form") == "form" else None
        if fields is None or not interactive():
            return types.ElicitResult(action="decline")
        async with one_at_a_time:
            return await ask(types, fields, params)

    async def ask(types: Any, fields: list[dict[str, Any]], params: Any) -> Any:
        request = McpElicitationRequested(server, _clip(getattr(params, "message", "")), fields)
        request.future = asyncio.get_running_loop().create_future()
        pause(True)
        try:
            emit(request)
            action, content = await asyncio.wait_for(asyncio.shield(request.future), ANSWER_TIMEOUT_S)
        except TimeoutError:
            action, content = "cancel", None
        finally:
            pause(False)
        if action != "accept":
            return types.ElicitResult(action="cancel" if action == "cancel" else "decline")
        values, problem = coerce(fields, {k: str(v) for k, v in (content or {}).items()})
        if problem is not None:
            return types.ElicitResult(action="decline")
        return types.ElicitResult(action="accept", content=values)

    return answer
