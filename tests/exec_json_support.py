"""Read `codeloop exec --json` output as Codex's readers would: every stdout line one JSON object
that Codex's event schema (tests/data/codex_exec_events.schema.json) accepts."""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMA = Path(__file__).with_name("data") / "codex_exec_events.schema.json"
MCP_ECHO_FLAGS = (
    "-c", f'mcp_servers.echo.command="{sys.executable}"',
    "-c", f'mcp_servers.echo.args=["{Path(__file__).with_name("mcp_echo_server.py")}"]',
    "-c", "mcp_servers.echo.startup_timeout_sec=120",
)  # fmt: skip


@cache
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def codex_events(stdout: str) -> list[dict[str, Any]]:
    """Each line of exec's stdout, parsed and checked against the schema (a failure names the line)."""
    events = []
    for number, line in enumerate(stdout.splitlines(), 1):
        event = json.loads(line)
        errors = sorted(validator().iter_errors(event), key=lambda e: list(e.path))
        assert not errors, f"line {number} breaks Codex's schema: {line}\n" + "\n".join(e.message for e in errors)
        events.append(event)
    return events


def items(events: list[dict[str, Any]], kind: str | None = None, *, phase: str = "item.completed") -> list[dict[str, Any]]:
    """The items of `phase` events (item.started/updated/completed), of one type when given."""
    return [e["item"] for e in events if e["type"] == phase and (kind is None or e["item"]["type"] == kind)]


def codex_only(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lines a reader written for Codex acts on: codeloop's extras left out."""
    return [e for e in events if not e["type"].startswith("codeloop.")]
