"""What `codeloop --demo` shows, as the end-to-end demo tests (tmux, browser) look for it."""

from __future__ import annotations

PROMPT = "The tests of textstats fail. Find the bug and fix it."
PLACEHOLDER = "Ask codeloop"
RUN_ASK = "Run this command?"
PATCH_ASK = "Apply these edits?"
APPROVE_OPTION = "Yes, once (y)"
PLAN_STEPS = (
    "Run the tests and read the failure",
    "Fix word_count in textstats/core.py",
    "Run the tests again",
)
