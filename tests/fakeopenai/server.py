"""Re-export of tui/fakeserver/server.py, where the fake server lives now."""

from __future__ import annotations

from tui.fakeserver.server import *  # noqa: F403
from tui.fakeserver.server import FakeOpenAI, RecordedRequest, chat_frames, sse_frame  # noqa: F401
