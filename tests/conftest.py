"""Shared fixtures. Keep this file small: helpers live in their own modules under tests/."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_textual_snapshot  # type: ignore[import-untyped]

from tests.fakeopenai import FakeOpenAI

# Fixtures shared by several test files live in these support modules.
pytest_plugins = ["tests.sandbox_support", "tests.process_support"]


@pytest.fixture(scope="session", autouse=True)
def plain_home() -> Iterator[Path]:
    """Commands run by the tests (`bash -lc` ones above all) read a HOME of ours, not the
    machine's: a developer's profile (pyenv init, nvm, a stale lock) must not make the suite slow
    or flaky. Tests that need a profile set HOME themselves. Not under /tmp: the sandbox lets
    commands write there, and tests use HOME as a place they must not write to."""
    saved = os.environ.get("HOME")
    home = Path(saved or "/root") / ".cache" / "codeloop-tests" / f"home-{os.getpid()}"
    home.mkdir(parents=True, exist_ok=True)
    (home / ".profile").write_text("# the test suite's login profile: nothing\n")
    os.environ["HOME"] = str(home)
    yield home
    if saved is None:
        os.environ.pop("HOME", None)
    else:
        os.environ["HOME"] = saved
    shutil.rmtree(home, ignore_errors=True)


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
