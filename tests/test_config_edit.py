"""Saving a setting into config.toml (the pickers' Ctrl+S): the user's file kept as written, new
keys where TOML needs them, 0600 and atomic, a broken file refused and left alone."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest

from tui.config_edit import ConfigEditError, save_top_level

WITH_TABLES = """\
# codeloop settings
approval_policy = "untrusted"   # strict

[tui]
theme = "codeloop-dark"

[mcp_servers.docs]
command = "docs-server"
"""


def test_a_new_key_goes_above_the_first_table_and_the_rest_stays(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(WITH_TABLES)
    save_top_level(path, {"model": "o3", "model_reasoning_effort": "high"})
    text = path.read_text()
    assert text == WITH_TABLES.replace(
        '# strict\n', '# strict\nmodel = "o3"\nmodel_reasoning_effort = "high"\n', 1
    )
    data = tomllib.loads(text)
    assert data["model"] == "o3" and data["tui"] == {"theme": "codeloop-dark"}
    assert "model" not in data["mcp_servers"]["docs"]


def test_an_existing_key_is_changed_in_place_with_its_comment(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(WITH_TABLES)
    save_top_level(path, {"approval_policy": "on-request"})
    assert path.read_text() == WITH_TABLES.replace('"untrusted"', '"on-request"')


def test_a_missing_file_and_folder_are_made_private(tmp_path: Path) -> None:
    path = tmp_path / "home" / "config.toml"
    old = os.umask(0)
    try:
        save_top_level(path, {"sandbox_mode": "read-only"})
    finally:
        os.umask(old)
    assert tomllib.loads(path.read_text()) == {"sandbox_mode": "read-only"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_file_that_does_not_parse_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    broken = "model = 'gpt-5\n"
    path.write_text(broken)
    with pytest.raises(ConfigEditError, match="invalid TOML.*nothing changed"):
        save_top_level(path, {"model": "o3"})
    assert path.read_text() == broken
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"], "no temporary file left behind"


def test_a_symlinked_config_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "codeloop.toml"
    real.parent.mkdir()
    real.write_text("# mine\n")
    link = tmp_path / "config.toml"
    link.symlink_to(real)
    save_top_level(link, {"model": "gpt-5"})
    assert link.is_symlink()
    assert real.read_text() == '# mine\nmodel = "gpt-5"\n'


def test_keys_the_default_profile_also_sets_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('profile = "fast"\n\n[profiles.fast]\nmodel = "gpt-4o"\n')
    assert save_top_level(path, {"model": "o3", "approval_policy": "never"}) == ["model"]
    assert tomllib.loads(path.read_text())["profiles"]["fast"] == {"model": "gpt-4o"}
    assert save_top_level(path, {"sandbox_mode": "read-only"}) == []
