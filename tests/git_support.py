"""Git helpers for the tests: a scratch repository, and counting the git processes a piece of code
starts (gitpython runs each through Git.execute)."""

from __future__ import annotations

from pathlib import Path
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


class ScratchRepo:
    """A scratch repository with a committed starting tree, driven through gitpython."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.git = git.Git(root)
        self.git.init("-q", "-b", "main")
        self.git.config("user.name", "Test")
        self.git.config("user.email", "test@example.com")

    def write(self, name: str, content: str | bytes = "") -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    def commit(self, **files: str | bytes) -> None:
        for name, content in files.items():
            self.write(name, content)
        self.git.add("-A")
        self.git.commit("-q", "--allow-empty", "-m", "commit")


def one_file_repo(path: Path) -> Path:
    """`path` as a git repository with one commit: `a.txt` holding "one"."""
    ScratchRepo(path).commit(**{"a.txt": "one\n"})
    return path
