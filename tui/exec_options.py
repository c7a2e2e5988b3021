"""exec's file options, checked before any request: `--output-schema FILE` (a JSON Schema the
final answer must match, sent as the Responses API's structured output) and
`-o/--output-last-message FILE` (where the final message is written).

A bad file is one clear error and exit code 2 before the session starts, never a request the
API refuses after the work was done. The schema is sent with `strict: true`, as Codex sends it,
so it must meet the API's strict rules (checked here with the API's own words): an object at the
top, and every object closed (`additionalProperties: false`) with all its properties required.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

SCHEMA_NAME = "codeloop_output_schema"
MAX_SCHEMA_BYTES = 1_000_000  # far above any schema the API takes; a device or a log is refused
_SUBSCHEMA_LISTS = ("anyOf", "allOf", "oneOf", "prefixItems")
_SUBSCHEMA_MAPS = ("properties", "$defs", "definitions")


class OptionError(ValueError):
    """A bad --output-schema or -o: the message says which file and what is wrong."""


def read_output_schema(path: str) -> dict[str, Any]:
    """The `text.format` for the schema in `path`: `{type: json_schema, name, schema, strict}`."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_SCHEMA_BYTES + 1)
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise OptionError(f"cannot read --output-schema {path}: {e}") from e
    if len(data) > MAX_SCHEMA_BYTES:
        raise OptionError(f"--output-schema {path} is over {MAX_SCHEMA_BYTES:,} bytes: not a schema")
    try:
        schema = json.loads(text)
    except RecursionError:
        raise OptionError(f"--output-schema {path}: the schema is nested too deeply") from None
    except ValueError as e:
        raise OptionError(f"--output-schema {path} is not JSON: {e}") from e
    if not isinstance(schema, dict):
        raise OptionError(f"--output-schema {path} must hold a JSON Schema object, not a JSON {type(schema).__name__}")
    if schema.get("type") != "object":
        raise OptionError(
            f"--output-schema {path}: the API takes a schema of type \"object\" at the top, "
            f"got type {json.dumps(schema.get('type'))}"
        )
    try:
        problem = _strict_problem(schema, ())
    except RecursionError:
        problem = "the schema is nested too deeply"
    if problem is not None:
        raise OptionError(f"--output-schema {path}: {problem}")
    return {"type": "json_schema", "name": SCHEMA_NAME, "schema": schema, "strict": True}


def _strict_problem(schema: Any, context: tuple[str, ...]) -> str | None:
    if not isinstance(schema, dict):
        return None
    kind = schema.get("type")
    is_object = kind == "object" or (isinstance(kind, list) and "object" in kind)
    where = "/".join(context) or "the top"
    if is_object:
        if schema.get("additionalProperties") is not False:
            return f"at {where}, strict mode needs \"additionalProperties\": false on every object"
        properties = schema.get("properties", {})
        required = schema.get("required", [])
        if isinstance(properties, dict) and isinstance(required, list):
            missing = [name for name in properties if name not in required]
            if missing:
                return f"at {where}, strict mode needs every property in \"required\"; missing {', '.join(missing)}"
    for key, value in schema.items():
        if key in _SUBSCHEMA_MAPS and isinstance(value, dict):
            for name, sub in value.items():
                if (found := _strict_problem(sub, (*context, key, str(name)))) is not None:
                    return found
        elif key in _SUBSCHEMA_LISTS and isinstance(value, list):
            for i, sub in enumerate(value):
                if (found := _strict_problem(sub, (*context, key, str(i)))) is not None:
                    return found
        elif key in ("items", "not", "additionalProperties") and isinstance(value, dict):
            if (found := _strict_problem(value, (*context, key))) is not None:
                return found
    return None


def check_last_message_path(path: str) -> None:
    """Fail now, not after the turn, when `path` cannot take the final message: its folder is
    missing, it is a folder, or it is a symbolic link (refused, as Codex refuses it: the write
    must not land wherever a link planted in the folder points)."""
    target = Path(path)
    try:
        info = target.lstat()
    except FileNotFoundError:
        if not target.parent.is_dir():
            raise OptionError(f"cannot write -o {path}: the folder {target.parent} does not exist") from None
        return
    except OSError as e:
        raise OptionError(f"cannot write -o {path}: {e}") from e
    if stat.S_ISLNK(info.st_mode):
        raise OptionError(f"cannot write -o {path}: it is a symbolic link")
    if stat.S_ISDIR(info.st_mode):
        raise OptionError(f"cannot write -o {path}: it is a folder")


def write_last_message(path: str, text: str) -> None:
    """Write `text` to `path`, not following a symbolic link; raises OSError."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
