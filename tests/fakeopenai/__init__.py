"""A local, real-HTTP stand-in for the OpenAI API (Responses, Chat Completions, compact).

Usage: the `fake_openai` fixture (tests/conftest.py), `queue_*` a script, point
`AsyncOpenAI(base_url=fake_openai.base_url, api_key="test-key")` at it, then read `requests`.
"""

from __future__ import annotations

from tests.fakeopenai import events
from tests.fakeopenai.server import FakeOpenAI, RecordedRequest
from tests.fakeopenai.validate import Refusal

__all__ = ["FakeOpenAI", "RecordedRequest", "Refusal", "events"]
