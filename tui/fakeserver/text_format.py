"""The fake's check of `text.format` (structured output), as the live Responses API refuses it.

`{"type": "text"}`, `{"type": "json_object"}`, or `{"type": "json_schema", "name", "schema",
"strict"?, "description"?}`: the name matches `^[a-zA-Z0-9_-]+$` (at most 64), the schema is an
object schema, and with `strict: true` every object in it is closed (`additionalProperties:
false`) and lists every property in `required`. Messages and codes are the live API's; written
apart from codeloop's own client-side check (tui/exec_options.py) so that one cannot hide a
mistake of the other.
"""

from __future__ import annotations

import re
from typing import Any

from tui.fakeserver.validate import Refusal, _invalid_type, _invalid_value, _missing

FORMAT_TYPES = ("text", "json_schema", "json_object")
FORMAT_KEYS = frozenset({"type", "name", "schema", "strict", "description"})
NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def check_text(text: object) -> Refusal | None:
    if text is None:
        return None
    if not isinstance(text, dict):
        return _invalid_type("text", "an object", text)
    fmt = text.get("format")
    if fmt is None:
        return None
    if not isinstance(fmt, dict):
        return _invalid_type("text.format", "an object", fmt)
    kind = fmt.get("type")
    if kind is None:
        return _missing("text.format.type")
    if kind not in FORMAT_TYPES:
        return _invalid_value(kind, "text.format.type", FORMAT_TYPES)
    if kind != "json_schema":
        return None
    for key in fmt:
        if key not in FORMAT_KEYS:
            return Refusal(f"Unknown parameter: 'text.format.{key}'.", param=f"text.format.{key}", code="unknown_parameter")
    name, schema, strict = fmt.get("name"), fmt.get("schema"), fmt.get("strict")
    if name is None:
        return _missing("text.format.name")
    if not isinstance(name, str) or not NAME.match(name):
        return Refusal(
            "Invalid 'text.format.name': string does not match pattern. Expected a string that matches "
            "the pattern '^[a-zA-Z0-9_-]+$'.",
            param="text.format.name",
            code="invalid_value",
        )
    if schema is None:
        return _missing("text.format.schema")
    if not isinstance(schema, dict):
        return _invalid_type("text.format.schema", "an object", schema)
    if strict is not None and not isinstance(strict, bool):
        return _invalid_type("text.format.strict", "a boolean", strict)
    if schema.get("type") != "object":
        return _invalid_schema(name, f"schema must be a JSON Schema of 'type: \"object\"', got 'type: \"{schema.get('type')}\"'.")
    if strict:
        return _strict(name, schema, ())
    return None


def _invalid_schema(name: str, problem: str) -> Refusal:
    return Refusal(
        f"Invalid schema for response_format '{name}': {problem}", param="text.format.schema", code="invalid_json_schema"
    )


def _strict(name: str, schema: Any, context: tuple[str, ...]) -> Refusal | None:
    if not isinstance(schema, dict):
        return None
    kind = schema.get("type")
    if kind == "object" or (isinstance(kind, list) and "object" in kind):
        if schema.get("additionalProperties") is not False:
            return _invalid_schema(
                name, f"In context={context!r}, 'additionalProperties' is required to be supplied and to be false."
            )
        properties = schema.get("properties") or {}
        required = schema.get("required")
        missing = [key for key in properties if not isinstance(required, list) or key not in required]
        if missing:
            return _invalid_schema(
                name,
                f"In context={context!r}, 'required' is required to be supplied and to be an array including "
                f"every key in properties. Missing '{missing[0]}'.",
            )
    for key, value in schema.items():
        subs: list[tuple[tuple[str, ...], Any]] = []
        if key in ("properties", "$defs", "definitions") and isinstance(value, dict):
            subs = [((*context, key, str(k)), v) for k, v in value.items()]
        elif key in ("anyOf", "allOf", "prefixItems") and isinstance(value, list):
            subs = [((*context, key, str(i)), v) for i, v in enumerate(value)]
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            subs = [((*context, key), value)]
        for where, sub in subs:
            if (refusal := _strict(name, sub, where)) is not None:
                return refusal
    return None
