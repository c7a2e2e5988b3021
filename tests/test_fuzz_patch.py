"""Property tests of apply_patch: any patch writes all or nothing, and only inside the workspace.

Shared settings and strategies: tests/fuzz_support.py."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, example, given

from tests.fuzz_support import FILES, FUZZ, LINKS, OUTER, patch_text
from tui.tools.apply_patch import FileChange, PatchError, apply_changes, plan_patch

# ------------------------------------------------------------------------------------ apply_patch
#
# The workspace lives in `outer/root`; `outer` also holds a canary file and a sibling folder that
# symlinks in the workspace point at. Every example starts from the same tree.




@pytest.fixture(scope="module")
def outer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    top = tmp_path_factory.mktemp("outer")
    (top / "canary.txt").write_text("canary\n")
    (top / "sibling").mkdir()
    (top / "sibling/s.txt").write_text("sibling\n")
    return top


def _fresh_root(outer: Path) -> Path:
    root = outer / "root"
    if root.exists():
        shutil.rmtree(root)  # does not follow the links out of the workspace
    for rel, data in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    (root / "dir/c.py").chmod(0o755)
    for rel, target in LINKS.items():
        (root / rel).symlink_to(target)
    return root


def snapshot(top: Path) -> dict[str, tuple[Any, ...]]:
    """Every entry under `top`, links not followed: (kind, content or target, mode)."""
    out: dict[str, tuple[Any, ...]] = {}
    for folder, dirs, files in os.walk(top):
        for name in dirs + files:
            path = Path(folder, name)
            info = path.lstat()
            rel = path.relative_to(top).as_posix()
            if stat.S_ISLNK(info.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                out[rel] = ("dir", stat.S_IMODE(info.st_mode))
            else:
                out[rel] = ("file", path.read_bytes(), stat.S_IMODE(info.st_mode))
    return out


def _planned_end_state(changes: list[FileChange]) -> dict[Path, str | None]:
    state: dict[Path, str | None] = {}
    for change in changes:
        if change.kind == "delete" or change.move_to not in (None, change.path):
            state[change.path] = None
        if change.kind != "delete":
            state[change.move_to or change.path] = change.new_text
    return state


@FUZZ
@given(text=patch_text)
@example(text="*** Begin Patch\n*** Add File: a.txt\n+A\n*** Add File: blocker/x.txt\n+x\n*** End Patch\n")
@example(text="*** Begin Patch\n*** Update File: inlink\n@@\n-alpha\n+ALPHA\n*** Delete File: inlink\n*** End Patch\n")
# Found by this test: rolling back, the file moved away came back before the folder made in its
# place was gone.
@example(text="*** Begin Patch\n*** Update File: dir/c.py\n*** Move to: moved.txt\n@@\n def f():\n*** Add File: dir/c.py/x\n+x\n*** Add File: blocker/x.txt\n+x\n*** End Patch\n")
def test_any_patch_writes_all_or_nothing_and_only_inside_the_workspace(outer: Path, text: str) -> None:
    root = _fresh_root(outer)
    text = text.replace(OUTER, str(outer))
    before = snapshot(outer)
    try:
        changes = plan_patch(text, root)
    except PatchError:
        event("refused while planning")
        assert snapshot(outer) == before
        return
    assert snapshot(outer) == before, "planning wrote to the disk"
    try:
        apply_changes(changes)
    except PatchError:
        event("rolled back while writing")
        assert snapshot(outer) == before, "a failed patch left changes behind"
        return
    event("applied")
    after = snapshot(outer)
    outside = {rel: entry for rel, entry in before.items() if not rel.startswith("root/")}
    assert {rel: entry for rel, entry in after.items() if not rel.startswith("root/")} == outside
    for path, text_after in _planned_end_state(changes).items():
        assert path.is_relative_to(root)
        if text_after is None:  # gone, or a folder now holds what later hunks added under its name
            assert not path.is_symlink() and not path.is_file()
        else:
            assert path.read_bytes() == text_after.encode("utf-8", "surrogateescape")
