"""Refuse what the real OpenAI API refuses, with the real error shape.

Each check returns a `Refusal` (or None). Messages copy the live API's wording where it is known
(see shared/reference/responses-protocol.md §2 and §4) so that client code which surfaces or matches
them is exercised for real. The fake is deliberately at least as strict as the live service: a
request it accepts should be one OpenAI would accept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Refusal:
    """An HTTP error answer: the status and the inner `error` object of the body."""

    message: str
    param: str | None = None
    code: str | None = None
    type: str = "invalid_request_error"
    status: int = 400
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


RESPONSES_KEYS = frozenset(
    {
        "model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls", "reasoning",
        "store", "stream", "include", "prompt_cache_key", "text", "service_tier", "max_output_tokens",
        "metadata", "temperature", "top_p", "truncation", "user", "previous_response_id",
        "context_management", "prompt_cache_retention", "stream_options", "client_metadata",
        "safety_identifier", "background", "conversation", "max_tool_calls", "top_logprobs", "prompt",
    }
)  # fmt: skip

INPUT_ITEM_TYPES = (
    "message", "function_call", "function_call_output", "custom_tool_call", "custom_tool_call_output",
    "reasoning", "compaction", "web_search_call", "local_shell_call", "local_shell_call_output",
    "item_reference",
)  # fmt: skip
ROLES = ("user", "assistant", "system", "developer")
USER_PART_TYPES = ("input_text", "input_image", "input_file")
ASSISTANT_PART_TYPES = ("output_text", "refusal")
TOOL_TYPES = (
    "function", "custom", "web_search", "web_search_preview", "file_search", "local_shell", "shell",
    "code_interpreter", "image_generation", "mcp", "computer_use_preview", "apply_patch",
    # Sent by Codex CLI 0.169 to gpt-5.5 (client-executed tool discovery); the live API takes it.
    "tool_search", "namespace",
)  # fmt: skip
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
REASONING_SUMMARIES = ("auto", "concise", "detailed")
# The live API's pattern for function and custom tool names; MCP-style dotted names fail it.
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

CHAT_ROLES = ("system", "developer", "user", "assistant", "tool", "function")


def _supported(values: tuple[str, ...]) -> str:
    quoted = [f"'{v}'" for v in values]
    return ", ".join(quoted[:-1]) + f", and {quoted[-1]}" if len(quoted) > 2 else " and ".join(quoted)


def _invalid_value(value: object, param: str, allowed: tuple[str, ...]) -> Refusal:
    return Refusal(
        f"Invalid value: '{value}'. Supported values are: {_supported(allowed)}.", param=param, code="invalid_value"
    )


def _missing(param: str) -> Refusal:
    return Refusal(f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter")


def _invalid_type(param: str, expected: str, got: object) -> Refusal:
    return Refusal(
        f"Invalid type for '{param}': expected {expected}, but got {type(got).__name__} instead.",
        param=param,
        code="invalid_type",
    )


def not_json() -> Refusal:
    return Refusal(
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
        "HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)"
    )


# --- /v1/responses -----------------------------------------------------------------------------


def validate_responses(body: object) -> Refusal | None:
    if not isinstance(body, dict):
        return not_json()
    for key in body:
        if key not in RESPONSES_KEYS:
            return Refusal(f"Unknown parameter: '{key}'.", param=key, code="unknown_parameter")
    if not body.get("model"):
        return _missing("model")
    store_false = body.get("store") is False
    if body.get("previous_response_id") and store_false:
        # Nothing is persisted under store:false, so a chained request can never find its parent.
        prev = body["previous_response_id"]
        return Refusal(
            f"Previous response with id '{prev}' not found.",
            param="previous_response_id",
            code="previous_response_not_found",
        )
    from tui.fakeserver.text_format import check_text  # it builds on this module's helpers

    return (
        _check_reasoning(body.get("reasoning"))
        or check_text(body.get("text"))
        or check_input(body.get("input"), store_false=store_false)
        or _check_tools(body.get("tools"), body.get("tool_choice"))
    )


def _check_reasoning(reasoning: object) -> Refusal | None:
    if reasoning is None:
        return None
    if not isinstance(reasoning, dict):
        return _invalid_type("reasoning", "an object", reasoning)
    effort, summary = reasoning.get("effort"), reasoning.get("summary")
    if effort is not None and effort not in REASONING_EFFORTS:
        return _invalid_value(effort, "reasoning.effort", REASONING_EFFORTS)
    if summary is not None and summary not in REASONING_SUMMARIES:
        return _invalid_value(summary, "reasoning.summary", REASONING_SUMMARIES)
    return None


def check_input(items: object, *, store_false: bool) -> Refusal | None:
    """Item shapes, then call/output pairing. Shared by /responses and /responses/compact."""
    if items is None or isinstance(items, str):
        return None
    if not isinstance(items, list):
        return _invalid_type("input", "a string or an array", items)
    for i, item in enumerate(items):
        refusal = _check_item(item, f"input[{i}]", store_false=store_false)
        if refusal:
            return refusal
    return _check_pairing(items)


def _check_item(item: object, where: str, *, store_false: bool) -> Refusal | None:
    if not isinstance(item, dict):
        return _invalid_type(where, "an object", item)
    # EasyInputMessage: `{"role": ..., "content": ...}` without a type is a message.
    kind = item.get("type", "message" if "role" in item else None)
    if kind is None:
        return _missing(f"{where}.type")
    if kind not in INPUT_ITEM_TYPES:
        return _invalid_value(kind, f"{where}.type", INPUT_ITEM_TYPES)
    if kind == "message":
        return _check_message(item, where)
    if kind in ("function_call", "custom_tool_call", "function_call_output", "custom_tool_call_output"):
        if not item.get("call_id"):
            return _missing(f"{where}.call_id")
        if kind == "function_call" and ("name" not in item or "arguments" not in item):
            return _missing(f"{where}.{'name' if 'name' not in item else 'arguments'}")
        if kind == "custom_tool_call" and ("name" not in item or "input" not in item):
            return _missing(f"{where}.{'name' if 'name' not in item else 'input'}")
        if kind.endswith("_output") and "output" not in item:
            return _missing(f"{where}.output")
        if kind.endswith("_output"):
            return _check_output(item["output"], f"{where}.output")
    if kind == "reasoning":
        if not isinstance(item.get("summary"), list):
            return _missing(f"{where}.summary")
        if store_false and item.get("id") and not item.get("encrypted_content"):
            return _not_persisted(item["id"])
    if kind == "item_reference" and store_false:
        return _not_persisted(item.get("id", ""))
    if kind == "compaction" and not item.get("encrypted_content"):
        return _missing(f"{where}.encrypted_content")
    if kind == "web_search_call":
        return _check_web_search_call(item, where, store_false=store_false)
    return None


SEARCH_ACTIONS = ("search", "open_page", "find_in_page")
SEARCH_STATUSES = ("in_progress", "searching", "completed", "failed", "incomplete")


def _check_web_search_call(item: dict[str, Any], where: str, *, store_false: bool) -> Refusal | None:
    # Replayed as Codex does (no id). An id under store:false is refused like a reasoning id: the
    # server could only resolve it against a stored item, and nothing was stored.
    if store_false and item.get("id"):
        return _not_persisted(item["id"])
    status = item.get("status")
    if status is not None and status not in SEARCH_STATUSES:
        return _invalid_value(status, f"{where}.status", SEARCH_STATUSES)
    action = item.get("action")
    if action is None:
        return _missing(f"{where}.action")
    if not isinstance(action, dict):
        return _invalid_type(f"{where}.action", "an object", action)
    if not isinstance(action.get("type"), str) or action["type"] not in SEARCH_ACTIONS:
        return _invalid_value(action.get("type"), f"{where}.action.type", SEARCH_ACTIONS)
    for name, value in action.items():
        if name == "queries":
            if not isinstance(value, list) or not all(isinstance(q, str) for q in value):
                return _invalid_type(f"{where}.action.queries", "an array of strings", value)
        elif name in ("query", "url", "pattern") and not isinstance(value, str):
            return _invalid_type(f"{where}.action.{name}", "a string", value)
    if action["type"] == "find_in_page":
        for name in ("url", "pattern"):
            if name not in action:
                return _missing(f"{where}.action.{name}")
    return None


def _not_persisted(item_id: str) -> Refusal:
    return Refusal(
        f"Item with id '{item_id}' not found. Items are not persisted when `store` is set to false. "
        "Try again with `store` set to true, or remove this item from your input.",
        param="input",
    )


def _check_message(item: dict[str, Any], where: str) -> Refusal | None:
    role = item.get("role")
    if role is None:
        return _missing(f"{where}.role")
    if role not in ROLES:
        return _invalid_value(role, f"{where}.role", ROLES)
    content = item.get("content")
    if content is None:
        return _missing(f"{where}.content")
    if isinstance(content, str):
        return None
    if not isinstance(content, list):
        return _invalid_type(f"{where}.content", "a string or an array", content)
    allowed = ASSISTANT_PART_TYPES if role == "assistant" else USER_PART_TYPES
    for j, part in enumerate(content):
        if not isinstance(part, dict):
            return _invalid_type(f"{where}.content[{j}]", "an object", part)
        if part.get("type") not in allowed:
            return _invalid_value(part.get("type"), f"{where}.content[{j}].type", allowed)
        if part["type"] in ("input_text", "output_text") and not isinstance(part.get("text"), str):
            return _missing(f"{where}.content[{j}].text")
        if part["type"] == "input_image":
            from tui.fakeserver.validate_image import check_input_image

            refusal = check_input_image(part, f"{where}.content[{j}]")
            if refusal is not None:
                return refusal
    return None


def _check_output(output: object, where: str) -> Refusal | None:
    """A call's output: a string, or a list of input_text / input_image / input_file parts."""
    if isinstance(output, str):
        return None
    if not isinstance(output, list):
        return _invalid_type(where, "a string or an array", output)
    for j, part in enumerate(output):
        if not isinstance(part, dict):
            return _invalid_type(f"{where}[{j}]", "an object", part)
        if part.get("type") not in USER_PART_TYPES:
            return _invalid_value(part.get("type"), f"{where}[{j}].type", USER_PART_TYPES)
        if part["type"] == "input_text" and not isinstance(part.get("text"), str):
            return _missing(f"{where}[{j}].text")
        if part["type"] == "input_image":
            url = part.get("image_url")
            if url is None and part.get("file_id") is None:
                return _missing(f"{where}[{j}].image_url")
            if url is not None and not (isinstance(url, str) and url.startswith(("data:image/", "https://", "http://"))):
                return _invalid_type(f"{where}[{j}].image_url", "a URL or a data URL of an image", url)
            if part.get("detail", "auto") not in ("auto", "low", "high"):
                return _invalid_value(part.get("detail"), f"{where}[{j}].detail", ("auto", "low", "high"))
    return None


_PAIRS = {
    "function_call": ("function_call_output", "function call"),
    "custom_tool_call": ("custom_tool_call_output", "custom tool call"),
}
_OUTPUT_OF = {out: (call, label) for call, (out, label) in _PAIRS.items()}


def _check_pairing(items: list[Any]) -> Refusal | None:
    # An output must follow its call; a call must be answered somewhere after it. Function and
    # custom calls are separate namespaces: answering a custom call with function_call_output fails.
    seen_calls: set[tuple[str, str]] = set()
    answered: set[tuple[str, str]] = set()
    for item in items:
        kind = item.get("type", "message")
        if kind in _PAIRS:
            seen_calls.add((kind, item["call_id"]))
        elif kind in _OUTPUT_OF:
            call_kind, label = _OUTPUT_OF[kind]
            key = (call_kind, item["call_id"])
            if key not in seen_calls:
                return Refusal(
                    f"No tool call found for {label} output with call_id {item['call_id']}.", param="input"
                )
            answered.add(key)
    for item in items:
        kind = item.get("type", "message")
        if kind in _PAIRS and (kind, item["call_id"]) not in answered:
            return Refusal(f"No tool output found for {_PAIRS[kind][1]} {item['call_id']}.", param="input")
    return None


def _check_tools(tools: object, tool_choice: object) -> Refusal | None:
    if tools is None:
        tools = []
    if not isinstance(tools, list):
        return _invalid_type("tools", "an array", tools)
    names: set[str] = set()
    for i, tool in enumerate(tools):
        where = f"tools[{i}]"
        if not isinstance(tool, dict):
            return _invalid_type(where, "an object", tool)
        kind = tool.get("type")
        if kind is None:
            return _missing(f"{where}.type")
        if kind not in TOOL_TYPES:
            return _invalid_value(kind, f"{where}.type", TOOL_TYPES)
        if kind not in ("function", "custom"):
            continue
        name = tool.get("name")
        if not name:
            return _missing(f"{where}.name")
        if not isinstance(name, str) or not TOOL_NAME.match(name):
            return Refusal(
                f"Invalid '{where}.name': string does not match pattern. "
                f"Expected a string that matches the pattern '{TOOL_NAME.pattern}'.",
                param=f"{where}.name",
                code="invalid_value",
            )
        if kind == "function":
            if "parameters" not in tool:
                return _missing(f"{where}.parameters")
            if tool["parameters"] is not None and not isinstance(tool["parameters"], dict):
                return _invalid_type(f"{where}.parameters", "an object", tool["parameters"])
            refusal = _check_parameters(name, tool["parameters"] or {}, f"{where}.parameters")
            if refusal:
                return refusal
        if name in names:
            return Refusal(f"Duplicate tool name '{name}' in 'tools'. Tool names must be unique.", param="tools")
        names.add(name)
    if isinstance(tool_choice, dict) and tool_choice.get("type") in ("function", "custom"):
        if tool_choice.get("name") not in names:
            return Refusal(
                f"Tool choice '{tool_choice.get('name')}' not found in 'tools' parameter.", param="tool_choice"
            )
    return None


def _check_parameters(name: str, schema: dict[str, Any], param: str) -> Refusal | None:
    """The two schema problems the live API refuses even for non-strict functions (as MCP
    clients meet them): parameters that are not an object at the top, and arrays without
    `items`. An empty schema means "no parameters" and passes."""
    if schema and schema.get("type") != "object":
        return Refusal(
            f"Invalid schema for function '{name}': schema must be a JSON Schema of 'type: \"object\"', "
            f"got 'type: \"{schema.get('type')}\"'.",
            param=param,
            code="invalid_function_parameters",
        )
    context = _array_without_items(schema, ())
    if context is not None:
        return Refusal(
            f"Invalid schema for function '{name}': In context={context!r}, array schema missing items.",
            param=param,
            code="invalid_function_parameters",
        )
    return None


def _array_without_items(schema: object, context: tuple[str, ...]) -> tuple[str, ...] | None:
    if not isinstance(schema, dict):
        return None
    kind = schema.get("type")
    if (kind == "array" or (isinstance(kind, list) and "array" in kind)) and "items" not in schema:
        return context
    for key, value in schema.items():
        if key in ("properties", "$defs", "definitions") and isinstance(value, dict):
            for sub, subschema in value.items():
                found = _array_without_items(subschema, (*context, key, sub))
                if found is not None:
                    return found
        elif key in ("items", "additionalProperties", "not"):
            found = _array_without_items(value, (*context, key))
            if found is not None:
                return found
        elif key in ("anyOf", "oneOf", "allOf") and isinstance(value, list):
            for i, subschema in enumerate(value):
                found = _array_without_items(subschema, (*context, key, str(i)))
                if found is not None:
                    return found
    return None


# --- /v1/responses/compact ---------------------------------------------------------------------


def validate_compact(body: object) -> Refusal | None:
    # Unknown keys are not refused here: Codex repeats tools/reasoning/text on compact requests and
    # the live API accepts them.
    if not isinstance(body, dict):
        return not_json()
    if not body.get("model"):
        return _missing("model")
    return check_input(body.get("input"), store_false=False)


# --- /v1/chat/completions ----------------------------------------------------------------------


def validate_chat(body: object) -> Refusal | None:
    if not isinstance(body, dict):
        return not_json()
    if not body.get("model"):
        return _missing("model")
    messages = body.get("messages")
    if messages is None:
        return _missing("messages")
    if not isinstance(messages, list) or not messages:
        return Refusal("Invalid 'messages': empty array. Expected an array with minimum length 1.", "messages")
    return _check_chat_messages(messages)


def _check_chat_messages(messages: list[Any]) -> Refusal | None:
    # Tool messages must directly follow the assistant message that asked for them, and every
    # tool_call_id of that message must be answered before any other message.
    pending: list[str] = []  # ids of the last assistant tool_calls still unanswered
    open_ids: set[str] = set()  # ids a tool message may answer at this point
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            return _invalid_type(f"messages[{i}]", "an object", msg)
        role = msg.get("role")
        if role not in CHAT_ROLES:
            return _invalid_value(role, f"messages[{i}].role", CHAT_ROLES)
        from tui.fakeserver.validate_image import check_chat_content

        if (refusal := check_chat_content(msg.get("content"), f"messages[{i}]")) is not None:
            return refusal
        if role == "tool":
            call_id = msg.get("tool_call_id")
            if call_id not in open_ids:
                return Refusal(
                    "Invalid parameter: messages with role 'tool' must be a response to a preceeding message "
                    "with 'tool_calls'.",
                    param=f"messages.[{i}].role",
                )
            if call_id in pending:
                pending.remove(call_id)
            continue
        if pending:
            return _unanswered(pending)
        open_ids = set()
        if role == "assistant" and msg.get("tool_calls"):
            ids = [str(c.get("id")) for c in msg["tool_calls"] if isinstance(c, dict)]
            pending, open_ids = list(ids), set(ids)
    if pending:
        return _unanswered(pending)
    return None


def _unanswered(ids: list[str]) -> Refusal:
    return Refusal(
        "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
        f"'tool_call_id'. The following tool_call_ids did not have response messages: {', '.join(ids)}",
        param="messages",
    )
