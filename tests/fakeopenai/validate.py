"""Re-export of tui/fakeserver/validate.py, where the request checks live now."""

from __future__ import annotations

from tui.fakeserver.validate import *  # noqa: F403
from tui.fakeserver.validate import (  # noqa: F401
    Refusal,
    check_input,
    not_json,
    validate_chat,
    validate_compact,
    validate_responses,  # noqa: F401
)
