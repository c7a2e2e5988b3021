"""A local, real-HTTP stand-in for the OpenAI API (Responses, Chat Completions, compact).

Serves the test suite and `codeloop --demo` alike: `queue_*` a script, point
`AsyncOpenAI(base_url=fake.base_url, api_key="...")` at it, then read `requests`.
Standard library only, and never imported on codeloop's normal start path.
"""

from __future__ import annotations

from tui.fakeserver import events
from tui.fakeserver.server import FakeOpenAI, Paced, RecordedRequest
from tui.fakeserver.validate import Refusal

__all__ = ["FakeOpenAI", "Paced", "RecordedRequest", "Refusal", "events"]
