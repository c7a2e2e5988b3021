"""Helpers for the view's Pilot tests (tests/test_app_view.py); the general ones are in app_support.py."""

from __future__ import annotations

from tui.app.widgets.conversation import Conversation


def at_bottom(conv: Conversation) -> bool:
    return conv.max_scroll_y > 0 and conv.scroll_y >= conv.max_scroll_y
