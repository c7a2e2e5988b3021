"""What codeloop knows about models: context windows and reasoning support."""

from __future__ import annotations

# Context windows in tokens, by slug prefix (longest prefix wins); config
# `model_context_window` overrides this table.
_CONTEXT_WINDOWS: dict[str, int] = {
    "gpt-6": 400_000,
    "gpt-5": 400_000,
    "gpt-5.1-codex": 272_000,
    "gpt-5-codex": 272_000,
    "gpt-4.1": 1_047_576,
    "gpt-4o": 128_000,
    "o3": 200_000,
    "o4-mini": 200_000,
    "codex-mini": 200_000,
    "gpt-oss": 131_072,
}

_REASONING_PREFIXES = ("gpt-5", "gpt-6", "o1", "o3", "o4", "codex", "gpt-oss")


def context_window(model: str) -> int | None:
    best = None
    for prefix, window in _CONTEXT_WINDOWS.items():
        if model.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, window)
    return best[1] if best else None


def supports_reasoning(model: str) -> bool:
    return model.startswith(_REASONING_PREFIXES)
