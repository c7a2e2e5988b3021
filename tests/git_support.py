"""Counting the git processes a piece of code starts (gitpython runs each through Git.execute)."""

from __future__ import annotations

from typing import Any, Callable

import git
import pytest


def count_git_calls(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """From now on, every git command run through gitpython is appended to the returned list."""
    calls: list[object] = []
    execute: Callable[..., Any] = git.Git.execute

    def counting(self: git.Git, command: Any, **kwargs: Any) -> Any:
        calls.append(command)
        return execute(self, command, **kwargs)

    monkeypatch.setattr(git.Git, "execute", counting)
    return calls
