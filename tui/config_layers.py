"""The layers of the configuration before validation: the file, `-c` overrides, the flags.

Each layer is a raw TOML-shaped dict; tui/config.py merges and validates them in order.
"""

from __future__ import annotations

import argparse
import os
import tomllib
from pathlib import Path
from typing import Any

from tui.config_errors import ConfigError


def resolve_cwd(cd: str | None) -> Path:
    if cd is None:
        return Path(os.getcwd()).resolve()
    target = Path(cd).expanduser()
    if not target.exists():
        raise ConfigError(f"command line: -C/--cd {cd!r}: no such directory")
    if not target.is_dir():
        raise ConfigError(f"command line: -C/--cd {cd!r}: not a directory")
    return target.resolve()


def read_toml(path: Path) -> dict[str, Any] | None:
    """The parsed file, or None when it doesn't exist (defaults apply)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message already carries "(at line L, column C)".
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """`-c a.b=VALUE` items as one nested dict; later items win."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        parts = [p.strip() for p in key.split(".")]
        if not sep or not all(parts):
            raise ConfigError(
                f"-c override: {item!r} is not KEY=VALUE (e.g. -c model_reasoning_effort=high "
                "or -c sandbox_workspace_write.network_access=true)"
            )
        node = out
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[parts[-1]] = parse_value(value.strip())
    return out


def parse_value(text: str) -> Any:
    """A TOML value; anything that isn't one (a bare word like `high`) is a string."""
    try:
        parsed = tomllib.loads(f"v = {text}")
    except tomllib.TOMLDecodeError:
        return text
    # "1\nx = 2" parses, but smuggles in a second key: take the whole text literally instead.
    return parsed["v"] if parsed.keys() == {"v"} else text


def flag_values(args: argparse.Namespace) -> dict[str, Any]:
    """-m, -a, -s and the two shorthands, which may repeat -a/-s but not contradict them."""
    out = {
        key: value
        for key in ("model", "approval_policy", "sandbox_mode")
        if (value := getattr(args, key, None)) is not None
    }
    given = [(flag, implied) for attr, flag, implied in SHORTHANDS if getattr(args, attr, False)]
    if len(given) > 1:
        raise ConfigError("command line: --full-auto and --yolo cannot be used together")
    for flag, implied in given:
        for key, value in implied.items():
            if out.setdefault(key, value) != value:
                raise ConfigError(
                    f"command line: {flag} means -a {implied['approval_policy']} "
                    f"-s {implied['sandbox_mode']}; it conflicts with "
                    f"{'-a' if key == 'approval_policy' else '-s'} {out[key]}"
                )
    return out


# (argparse attribute, flag as typed, what it stands for)
SHORTHANDS = (
    (
        "full_auto",
        "--full-auto",
        {"approval_policy": "on-request", "sandbox_mode": "workspace-write"},
    ),
    ("yolo", "--yolo", {"approval_policy": "never", "sandbox_mode": "danger-full-access"}),
)


def anchor_paths(raw: dict[str, Any], base: Path) -> dict[str, Any]:
    """Make the layer's relative paths absolute against `base` (its file's folder, or the cwd).

    Done per layer because after merging nobody knows which folder a path was relative to.
    Non-strings are left alone for validation to report.
    """

    def anchor(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return str(base / Path(value).expanduser())
        except RuntimeError:  # `~someone` for a user that does not exist
            raise ConfigError(f"path {value!r}: cannot expand '~': no such user") from None

    if "instructions_file" in raw:
        raw["instructions_file"] = anchor(raw["instructions_file"])
    servers = raw.get("mcp_servers")
    if isinstance(servers, dict):
        for server in servers.values():
            if isinstance(server, dict) and "cwd" in server:
                server["cwd"] = anchor(server["cwd"])
    if isinstance(raw.get("sandbox_exposed_paths"), list):
        raw["sandbox_exposed_paths"] = [anchor(v) for v in raw["sandbox_exposed_paths"]]
    sww = raw.get("sandbox_workspace_write")
    if isinstance(sww, dict) and isinstance(sww.get("writable_roots"), list):
        sww["writable_roots"] = [anchor(v) for v in sww["writable_roots"]]
    return raw


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """A new dict: `top` over `base`, tables merged key by key."""
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out
