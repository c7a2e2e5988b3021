"""Shared fixtures. Keep this file small: helpers live in their own modules under tests/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_textual_snapshot  # type: ignore[import-untyped]

from tests.fakeopenai import FakeOpenAI


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A fresh local OpenAI stand-in per test; see tests/fakeopenai/server.py."""
    with FakeOpenAI() as server:
        yield server


# Snapshot SVGs live in the top-level `snapshots/` folder, as snapshots/<test module>/<test>.svg
# (keyed by the module's path under tests/, so equally named modules cannot collide).
# `snap_compare` looks `SVGImageExtension` up in the plugin module at call time, so replacing
# it there is enough; this leans on a plugin internal, hence the exact pins in pyproject.toml.
SNAPSHOTS = Path(__file__).resolve().parents[1] / "snapshots"


class _TopLevelSVGImageExtension(pytest_textual_snapshot.SVGImageExtension):  # type: ignore[misc]
    @classmethod
    def dirname(cls, *, test_location: object) -> str:
        test_file = Path(test_location.filepath).resolve()  # type: ignore[attr-defined]
        return str(SNAPSHOTS / test_file.relative_to(Path(__file__).parent).with_suffix(""))


pytest_textual_snapshot.SVGImageExtension = _TopLevelSVGImageExtension
