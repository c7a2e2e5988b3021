"""The fake OpenAI server, re-exported from its home in the package (tui/fakeserver).

It moved so `codeloop --demo` can ship it; tests keep importing it from here. Usage: the
`fake_openai` fixture (tests/conftest.py), `queue_*` a script, point
`AsyncOpenAI(base_url=fake_openai.base_url, api_key="test-key")` at it, then read `requests`.
"""

from __future__ import annotations

from tests.fakeopenai import events
from tui.fakeserver.server import FakeOpenAI, RecordedRequest
from tui.fakeserver.validate import Refusal

__all__ = ["FakeOpenAI", "RecordedRequest", "Refusal", "events"]
