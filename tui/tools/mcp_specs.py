"""MCP tools as the model sees them: names, function specs, and results turned into text.

Pure functions with no I/O and no import of the MCP SDK (results are read by attribute), so
they are cheap to test and to import.

Names follow Codex: `mcp__<server>__<tool>`, sanitised to the API's `^[a-zA-Z0-9_-]+$` and at
most 64 characters. Specs are built once per session and sorted by name (Codex PR #2611: tools
listed in a server's or a dict's order changed between requests and broke the prompt cache).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any

MAX_NAME_LEN = 64
PREFIX = "mcp"
DELIMITER = "__"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_HASH_LEN = 8


def _hash(raw: str) -> str:
    # sha1 like Codex: a stable short tag of the raw name, not a security measure.
    return hashlib.sha1(raw.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_LEN]


def _with_suffix(name: str, raw: str) -> str:
    return f"{name[: MAX_NAME_LEN - _HASH_LEN - 1]}_{_hash(raw)}"


def qualified_names(pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The function name offered for each (server, tool).

    Characters outside `[A-Za-z0-9_-]` become `_`; a name longer than 64 characters is cut and
    given a hash of the raw name, so it stays unique. Two raw names that still clash after that
    (`a.b` and `a_b`) are told apart the same way: the raw names are taken in sorted order and
    each later clash gets the suffix, so the result does not depend on listing order.
    """
    out: dict[tuple[str, str], str] = {}
    taken: set[str] = set()
    for server, tool in sorted(set(pairs)):
        raw = f"{PREFIX}{DELIMITER}{server}{DELIMITER}{tool}"
        name = _UNSAFE.sub("_", raw)
        if len(name) > MAX_NAME_LEN or name in taken:
            name = _with_suffix(name, raw)
        while name in taken:  # a hash collision on top of a clash: vanishingly rare, still unique
            name = _with_suffix(name, name)
        taken.add(name)
        out[(server, tool)] = name
    return out


# --- schemas ---------------------------------------------------------------------------------

# The API refuses these at the top of a function's parameters: they must be a plain object.
_TOP_LEVEL_REFUSED = ("oneOf", "anyOf", "allOf", "enum", "not", "const")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_VALUES = ("items", "additionalProperties", "not", "contains", "if", "then", "else",
                  "propertyNames", "unevaluatedProperties", "unevaluatedItems")  # fmt: skip


def sanitize_schema(schema: object) -> dict[str, Any]:
    """An MCP tool's `inputSchema` made acceptable as non-strict function parameters.

    The Responses API refuses parameters that are not `{"type": "object", ...}` at the top and
    arrays without `items`; Codex patches the same two things (with `properties: {}` when
    missing, and string items as the default). Everything else is passed on as the server
    wrote it: non-strict schemas are hints to the model, not enforced.
    """
    try:
        # Through JSON: a deep copy that also drops anything JSON cannot carry.
        root = json.loads(json.dumps(schema, ensure_ascii=False, default=str)) if schema is not None else {}
    except (TypeError, ValueError):
        root = {}
    if not isinstance(root, dict):
        root = {}
    for key in _TOP_LEVEL_REFUSED:
        root.pop(key, None)
    root = _object_node(root)
    root["type"] = "object"
    if not isinstance(root.get("properties"), dict):
        root["properties"] = {}
    return root


def _object_node(schema: dict[str, Any]) -> dict[str, Any]:
    node = _node(schema)
    return node if isinstance(node, dict) else {}


def _node(schema: object) -> Any:
    if schema is True:
        return {}
    if schema is False:
        return {"not": {}}
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    for key in _SCHEMA_MAPS:
        if isinstance(out.get(key), dict):
            out[key] = {k: _node(v) for k, v in out[key].items()}
    for key in _SCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [_node(v) for v in out[key]]
    for key in _SCHEMA_VALUES:
        if key in out and not isinstance(out[key], bool):
            value = out[key]
            out[key] = [_node(v) for v in value] if isinstance(value, list) else _node(value)
    types = out.get("type")
    is_array = types == "array" or (isinstance(types, list) and "array" in types)
    if is_array and "items" not in out:
        out["items"] = {"type": "string"}
    return out


def tool_spec(name: str, description: str | None, input_schema: object) -> dict[str, Any]:
    """The function tool offered to the model; keys in the order of the built-in specs."""
    return {
        "type": "function",
        "name": name,
        "description": description or "",
        "strict": False,
        "parameters": sanitize_schema(input_schema),
    }


# --- what a listed tool says about itself ---------------------------------------------------


def read_only_hint(annotations: object) -> bool:
    """Whether a tool's raw `annotations` (the JSON the server sent) mark it read-only: only a JSON
    `true` counts. `"true"`, `1` or a non-object are no hint (the SDK's models would coerce them)."""
    if not isinstance(annotations, dict):
        return False
    return annotations.get("readOnlyHint") is True


SERVED_TASK_SUPPORT = (None, "forbidden", "optional")


def unservable(execution: object) -> str | None:
    """Why codeloop cannot call a tool with this raw `execution` object, or None when it can.

    A tool whose `taskSupport` is "required" must be called as a task, which codeloop does not
    do; a value codeloop does not know is treated the same way (a call might not work)."""
    if not isinstance(execution, dict):
        return None
    support = execution.get("taskSupport")
    if support in SERVED_TASK_SUPPORT:
        return None
    return f"it needs task-augmented calls (execution.taskSupport = {json.dumps(support)[:40]})"


# --- results ---------------------------------------------------------------------------------


def _b64_size(data: str) -> int:
    """Bytes a base64 text decodes to, without decoding it (an image can be megabytes)."""
    data = "".join(data.split())
    return len(data) * 3 // 4 - data[-2:].count("=")


def content_text(block: Any) -> str:
    """One content block of a tool result as text the model can read."""
    kind = getattr(block, "type", None)
    if kind == "text":
        return str(getattr(block, "text", ""))
    if kind in ("image", "audio"):
        mime = getattr(block, "mime_type", None) or "unknown type"
        return f"[{kind}: {mime}, {_b64_size(str(getattr(block, 'data', '') or ''))} bytes]"
    if kind == "resource":
        res = getattr(block, "resource", None)
        text = getattr(res, "text", None)
        if isinstance(text, str):
            return text
        mime = getattr(res, "mime_type", None) or "unknown type"
        size = _b64_size(str(getattr(res, "blob", "") or ""))
        return f"[resource: {getattr(res, 'uri', '?')}, {mime}, {size} bytes]"
    if kind == "resource_link":
        return f"[resource link: {getattr(block, 'uri', '?')}]"
    return f"[{kind or 'unknown'} content]"


MAX_IMAGE_BYTES = 10 * 1024 * 1024
# The image types the Responses API takes, by their first bytes: the type is sniffed, never
# taken from the server's word, because a data URL the API cannot read would be refused, and
# the refusal would come back on every later request of the session (the output stays in the
# history).
_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def image_data_url(data: object) -> str | None:
    """A data URL of a base64 image the API takes (PNG, JPEG, GIF, WebP, at most 10 MB), or
    None."""
    if not isinstance(data, str) or _b64_size(data) > MAX_IMAGE_BYTES:
        return None
    compact = "".join(data.split())
    try:
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None
    mime = next((m for magic, m in _IMAGE_MAGIC if raw.startswith(magic)), None)
    if mime is None and raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        mime = "image/webp"
    if mime is None:
        return None
    return f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"


def _block_image(block: Any) -> str | None:
    kind = getattr(block, "type", None)
    if kind == "image":
        return image_data_url(getattr(block, "data", None))
    if kind == "resource":
        res = getattr(block, "resource", None)
        if str(getattr(res, "mime_type", "") or "").startswith("image/"):
            return image_data_url(getattr(res, "blob", None))
    return None


def result_parts(result: Any) -> list[dict[str, Any]] | None:
    """A `CallToolResult` with images as Responses API content parts (`input_text`, and
    `input_image` with a data URL), in the result's order; None when it has no image the API
    takes (the text of `result_text` says it all). Images the API would refuse stay notes."""
    blocks = list(getattr(result, "content", None) or [])
    images = [_block_image(b) for b in blocks]
    if not any(images):
        return None
    parts: list[dict[str, Any]] = []
    texts: list[str] = ["The tool reported an error:"] if getattr(result, "is_error", False) else []
    for block, url in zip(blocks, images):
        if url is None:
            texts.append(content_text(block))
            continue
        if texts:
            parts.append({"type": "input_text", "text": "\n".join(texts)})
            texts = []
        parts.append({"type": "input_image", "image_url": url})
    if texts:
        parts.append({"type": "input_text", "text": "\n".join(texts)})
    return parts


def result_text(result: Any) -> tuple[str, bool]:
    """A `CallToolResult` as (the text the model gets, whether the call succeeded).

    Text blocks are joined by newlines; images and other binary blocks become a short note
    (the model gets text only). With no content at all, the structured content is given as
    JSON. A result flagged `isError` is a failure whose text says why.
    """
    parts = [content_text(b) for b in getattr(result, "content", None) or []]
    structured = getattr(result, "structured_content", None)
    if not parts and structured is not None:
        parts.append(json.dumps(structured, ensure_ascii=False))
    text = "\n".join(parts)
    if getattr(result, "is_error", False):
        return (f"The tool reported an error: {text}" if text else "The tool reported an error."), False
    return text, True
