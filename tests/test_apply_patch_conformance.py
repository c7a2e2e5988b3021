"""The portable apply_patch scenarios from Codex, run end to end through `codeloop apply-patch`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCENARIOS = Path(__file__).resolve().parent / "data" / "apply_patch"
# Codex leaves the files written before a failing hunk; codeloop applies all or nothing.
ALL_OR_NOTHING = "015_failure_after_partial_success_leaves_changes"
FAILING_WORDS = ("rejects", "fails", "requires")


def _scenarios() -> list[Path]:
    return sorted(p for p in SCENARIOS.iterdir() if p.is_dir()) if SCENARIOS.is_dir() else []


def _tree(root: Path) -> dict[str, bytes | None]:
    """Every file with its bytes, and every directory (None), so stray empty dirs show up too."""
    if not root.is_dir():
        return {}
    return {
        p.relative_to(root).as_posix(): p.read_bytes() if p.is_file() else None
        for p in sorted(root.rglob("*"))
    }


def test_every_scenario_folder_is_present() -> None:
    assert len(_scenarios()) == 23, f"expected the 23 scenarios under {SCENARIOS}"


@pytest.mark.parametrize("scenario", _scenarios(), ids=lambda p: p.name)
def test_scenario_produces_the_expected_tree(scenario: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    if (scenario / "input").is_dir():
        shutil.copytree(scenario / "input", work)
    else:
        work.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "tui", "apply-patch"],
        input=(scenario / "patch.txt").read_bytes(),
        cwd=work,
        capture_output=True,
        timeout=60,
    )
    must_fail = scenario.name == ALL_OR_NOTHING or any(w in scenario.name for w in FAILING_WORDS)
    expected_root = scenario / ("input" if scenario.name == ALL_OR_NOTHING else "expected")

    assert _tree(work) == _tree(expected_root)
    if must_fail:
        assert done.returncode == 1
        assert done.stderr.decode().startswith("error: ")
        assert done.stdout == b""
    else:
        assert done.returncode == 0, done.stderr.decode()
        assert done.stdout.decode().startswith("Success. Updated the following files:\n")
