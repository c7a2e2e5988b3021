"""Configuration errors phrased for the user: pydantic's first error as one sentence saying
where (the file, a `-c` override, the command line), which key, and what is allowed."""

from __future__ import annotations

import difflib
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails


class ConfigError(Exception):
    """A configuration problem, phrased for the user: where, which key, what is allowed."""


def describe(err: ErrorDetails, where: str, root: type[BaseModel]) -> str:
    """One error of `root`'s validation as a sentence."""
    loc = tuple(err["loc"])
    key = _dotted(loc)
    got = err.get("input")
    kind = err["type"]
    if kind == "extra_forbidden":
        known = sorted(getattr(type_at(root, loc[:-1]), "model_fields", {}))
        hint = difflib.get_close_matches(str(loc[-1]), known, n=1)
        suggestion = f"did you mean {hint[0]!r}? " if hint else ""
        return f"unknown key {key!r} in {where}; {suggestion}known keys: {', '.join(known)}"
    if kind == "literal_error":
        choices = get_args(type_at(root, loc))
        allowed = ", ".join(map(repr, choices)) or err.get("ctx", {}).get("expected", "")
        return f"{where}: {key}: {got!r} is not one of {allowed}"
    if kind == "missing":
        return f"{where}: {key} is required"
    phrase = _PHRASES.get(kind)
    if phrase is None:
        problem = err["msg"][0].lower() + err["msg"][1:]
    else:
        problem = phrase.format(**err.get("ctx", {}))
    return f"{where}: {key}: {problem}, got {got!r}"


_PHRASES = {
    "string_type": "expected a string",
    "int_type": "expected an integer",
    "float_type": "expected a number",
    "bool_type": "expected true or false",
    "dict_type": "expected a table",
    "model_type": "expected a table",
    "list_type": "expected an array",
    "path_type": "expected a path (a string)",
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
}


def _dotted(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def unwrap(tp: Any) -> Any:
    """Strip `Annotated[...]` and `| None` to get at the type a value must have."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            rest = [a for a in get_args(tp) if a is not type(None)]
            if len(rest) != 1:
                return tp
            tp = rest[0]
        else:
            return tp


def type_at(root: type[BaseModel], loc: tuple[str | int, ...]) -> Any:
    """The declared type at an error location, walking models, dict values and list items."""
    tp: Any = root
    for part in loc:
        tp = unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(part))
            if field is None:
                return None
            tp = field.annotation
        elif get_origin(tp) in (dict, list):
            tp = get_args(tp)[-1]
        else:
            return None
    return unwrap(tp)
