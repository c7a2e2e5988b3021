"""Shared fixtures. Keep this file small: helpers live in their own modules under tests/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakeopenai import FakeOpenAI


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A fresh local OpenAI stand-in per test; see tests/fakeopenai/server.py."""
    with FakeOpenAI() as server:
        yield server
