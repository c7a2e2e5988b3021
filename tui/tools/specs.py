"""The JSON specs of the built-in tools, in Codex's shapes (the models are trained on them).

Built once per session and reused as the very same objects, so the `tools` bytes of every
request are identical and the provider's prefix cache keeps hitting.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, Literal

ApplyPatchKind = Literal["freeform", "function"]


@cache
def prompt_text(name: str) -> str:
    return resources.files("tui.prompts").joinpath(name).read_text(encoding="utf-8")


SHELL_SPEC: dict[str, Any] = {
    "type": "function",
    "name": "shell",
    "description": (
        "Runs a command and returns its exit code, wall time and output.\n"
        "- `command` is passed to execvp(); wrap scripts as [\"bash\", \"-lc\", \"...\"].\n"
        "- Always set `workdir`; do not use `cd`."
    ),
    "strict": False,
    "parameters": {
        "type": "object",
        "properties": {
            "command": {
                "type": "array",
                "items": {"type": "string"},
                "description": "The command and its arguments.",
            },
            "workdir": {"type": "string", "description": "Working directory for the command."},
            "timeout_ms": {"type": "number", "description": "Timeout in milliseconds."},
            "sandbox_permissions": {
                "type": "string",
                "enum": ["use_default", "require_escalated"],
                "description": "`require_escalated` asks the user to run it outside the sandbox.",
            },
            "justification": {
                "type": "string",
                "description": "With `require_escalated`: one sentence the user reads to decide.",
            },
        },
        "required": ["command"],
        "additionalProperties": False,
    },
}

UPDATE_PLAN_SPEC: dict[str, Any] = {
    "type": "function",
    "name": "update_plan",
    "description": (
        "Updates the task plan shown to the user: an optional explanation and the steps, "
        "each with a status. At most one step may be in_progress."
    ),
    "strict": False,
    "parameters": {
        "type": "object",
        "properties": {
            "explanation": {"type": "string"},
            "plan": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "step": {"type": "string"},
                        "status": {
                            "type": "string",
                            "enum": ["pending", "in_progress", "completed"],
                        },
                    },
                    "required": ["step", "status"],
                    "additionalProperties": False,
                },
            },
        },
        "required": ["plan"],
        "additionalProperties": False,
    },
}


def apply_patch_spec(kind: ApplyPatchKind) -> dict[str, Any]:
    if kind == "freeform":
        return {
            "type": "custom",
            "name": "apply_patch",
            "description": (
                "Edits files with a patch in the apply_patch format. This is a FREEFORM tool: "
                "send the patch text itself, not JSON."
            ),
            "format": {
                "type": "grammar",
                "syntax": "lark",
                "definition": prompt_text("apply_patch.lark"),
            },
        }
    return {
        "type": "function",
        "name": "apply_patch",
        "description": prompt_text("apply_patch_tool.md"),
        "strict": False,
        "parameters": {
            "type": "object",
            "properties": {
                "input": {"type": "string", "description": "The entire patch text."},
            },
            "required": ["input"],
            "additionalProperties": False,
        },
    }


def default_apply_patch_kind(model: str, wire_api: str) -> ApplyPatchKind:
    """Freeform (grammar) tools exist only on the Responses API, for the GPT-5 family."""
    if wire_api != "responses":
        return "function"
    return "freeform" if model.startswith(("gpt-5", "gpt-6", "codex")) else "function"


# The Responses API's hosted search: the provider runs it and reports `web_search_call` items;
# there is no handler on our side and nothing to answer.
WEB_SEARCH_SPEC: dict[str, Any] = {"type": "web_search"}


def build_tool_specs(apply_patch_kind: ApplyPatchKind, *, web_search: bool = False) -> list[dict[str, Any]]:
    specs = [SHELL_SPEC, apply_patch_spec(apply_patch_kind), UPDATE_PLAN_SPEC]
    if web_search:
        specs.append(WEB_SEARCH_SPEC)
    return specs
