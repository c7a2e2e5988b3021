"""The event builders of tui/fakeserver/events.py, plus the loaders of the recorded captures.

The loaders stay here, test-only: the captures live in tests/data/openai/ (origins in
tests/data/README.md), which an installed package does not have.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tui.fakeserver.events import *  # noqa: F403
from tui.fakeserver.events import Event

# parents: [0] fakeopenai, [1] tests.
FIXTURES = Path(__file__).resolve().parents[1] / "data" / "openai"


def load_fixture(name: str) -> list[Event]:
    """Events of tests/data/openai/responses/<name>.jsonl, as recorded (no renumbering)."""
    path = FIXTURES / "responses" / (name if name.endswith(".jsonl") else f"{name}.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_chat_fixture(name: str) -> str:
    """Raw SSE text of tests/data/openai/chat_completions/<name>.sse."""
    path = FIXTURES / "chat_completions" / (name if name.endswith(".sse") else f"{name}.sse")
    return path.read_text(encoding="utf-8")


def load_json_fixture(name: str) -> dict[str, Any]:
    path = FIXTURES / "json" / (name if name.endswith(".json") else f"{name}.json")
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return result
