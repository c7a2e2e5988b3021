"""`codeloop --demo`: a scripted model and a sample project, for trying codeloop without a key.

Imported only for the demo: it pulls in the fake server (tui/fakeserver), which the normal
start path never loads.
"""

from __future__ import annotations

from tui.demo.script import (
    DEMO_API_KEY,
    DEMO_MODEL,
    DEMO_PROMPT,
    DemoModel,
    prepare_workspace,
)

__all__ = ["DEMO_API_KEY", "DEMO_MODEL", "DEMO_PROMPT", "DemoModel", "prepare_workspace"]
