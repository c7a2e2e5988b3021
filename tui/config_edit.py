"""Edits of `$CODELOOP_HOME/config.toml` that keep the user's file as they wrote it.

Through tomlkit, which keeps comments, blank lines and key order: only the keys set change. A
file that does not parse is refused and left as it is; the new file is written atomically,
0600 (engine/private_files.py). Used by `codeloop mcp add|remove` and by the app's pickers
("save as default").
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any


class ConfigEditError(Exception):
    """A refusal phrased for the user; nothing was written."""


def load_document(path: Path) -> Any:
    """The file as a tomlkit document (empty when there is none); refuses what does not parse."""
    import tomlkit
    from tomlkit.exceptions import ParseError

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return tomlkit.document()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigEditError(f"{path}: cannot read it ({getattr(exc, 'strerror', None) or exc}); nothing changed") from None
    try:
        tomllib.loads(text)  # the parser codeloop reads the file with must accept it too
        return tomlkit.parse(text)
    except (tomllib.TOMLDecodeError, ParseError) as exc:
        raise ConfigEditError(f"{path}: invalid TOML: {exc}; nothing changed, fix it first") from None


def write_document(path: Path, doc: Any) -> None:
    from tui.engine.private_files import make_private_dirs, write_private_atomic

    make_private_dirs(path.parent, path.parent)
    write_private_atomic(path, doc.as_string())


def save_top_level(path: Path, values: dict[str, str]) -> list[str]:
    """Set these top-level keys (`model = "…"`, `approval_policy = "…"`) in the file, the rest
    of it untouched: a key already there keeps its place and its comment; tomlkit puts a new one
    before the first table, where a top-level key must be. Returns the keys the file's default
    profile (`profile = "…"`) sets too: there the profile's value wins at the next start."""
    doc = load_document(path)
    for key, value in values.items():
        doc[key] = value
    write_document(path, doc)
    profile = doc.get("profile")
    profiles = doc.get("profiles")
    table = profiles.get(profile) if isinstance(profile, str) and isinstance(profiles, dict) else None
    return [key for key in values if isinstance(table, dict) and key in table]
