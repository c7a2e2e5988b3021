"""The suite reads nothing outside the repository, so the README's test command passes on a clone
of it alone (its data lives in tests/data/, see the README there)."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Tests that read tests/data/: run from a copy of the repository with nothing beside it.
DATA_READERS = ["tests/test_apply_patch_conformance.py", "tests/test_fakeopenai.py"]
# The project's data folder beside the clone, by relative, absolute or joined path.
OUTSIDE_WORDS = re.compile(r"\.\./shared|/work/shared|[\"']shared[\"']")


def _test_sources() -> list[Path]:
    return sorted(p for p in (REPO / "tests").rglob("*.py") if "data" not in p.relative_to(REPO).parts)


def _reaches_above_repo(path: Path, tree: ast.AST) -> list[str]:
    """`Path(...).parents[k]` or `.parent` chains that climb past the repository root."""
    depth = len(path.relative_to(REPO).parts)  # tests/x.py: parents[1] is the repository
    found = []
    longest_chain: dict[int, int] = {}  # line -> its longest `.parent` chain (inner links are shorter)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "parents"
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, int)
            and node.slice.value >= depth
        ):
            found.append(f"line {node.lineno}: parents[{node.slice.value}]")
        if isinstance(node, ast.Attribute) and node.attr == "parent":
            chain, inner = 1, node.value
            while isinstance(inner, ast.Attribute) and inner.attr == "parent":
                chain, inner = chain + 1, inner.value
            longest_chain[node.lineno] = max(chain, longest_chain.get(node.lineno, 0))
    found += [f"line {line}: .parent x{chain}" for line, chain in longest_chain.items() if chain > depth]
    return found


def test_no_test_source_names_a_path_outside_the_repository() -> None:
    offenders = {}
    for path in _test_sources():
        text = path.read_text(encoding="utf-8")
        hits = [f"line {text.count(chr(10), 0, m.start()) + 1}: {m.group()}" for m in OUTSIDE_WORDS.finditer(text)]
        hits += _reaches_above_repo(path, ast.parse(text))
        if hits and path.name != Path(__file__).name:
            offenders[str(path.relative_to(REPO))] = hits
    assert offenders == {}


def test_the_scan_would_catch_the_old_shared_paths(tmp_path: Path) -> None:
    """The guard above is only worth something if it sees the patterns the suite used to have."""
    old = REPO / "tests" / "test_old.py"
    src = 'SCENARIOS = Path(__file__).resolve().parents[2] / "shared" / "conformance"\nX = Path(__file__).parent.parent.parent\n'
    assert OUTSIDE_WORDS.search(src)
    assert len(_reaches_above_repo(old, ast.parse(src))) == 2
    fine = 'REPO = Path(__file__).resolve().parents[1]\nY = Path(__file__).parent.parent\n'
    assert _reaches_above_repo(old, ast.parse(fine)) == []


def _copy_as_a_clone(dest: Path) -> None:
    """What a clone holds once the work is committed: the tracked files plus new ones not ignored,
    as they are on disk (a `git clone` would miss what is not committed yet)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, check=True, capture_output=True,
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        src = REPO / name
        if src.is_file() and not src.is_symlink():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def test_the_data_tests_pass_in_a_clone_with_nothing_beside_it(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    _copy_as_a_clone(clone)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clone"]
    assert (clone / "tests" / "data" / "apply_patch" / "001_add_file" / "patch.txt").is_file()
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", *DATA_READERS],
        cwd=clone, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert re.fullmatch(r"\d+ passed in [\d.]+s", summary), summary
    assert int(summary.split()[0]) > 60, summary
