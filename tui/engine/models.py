"""What codeloop knows about models: context window, reasoning support, tokenizer, compaction limit.

One table, looked up by slug prefix (the longest matching prefix wins), so dated or suffixed slugs
(`gpt-4o-2024-08-06`, `gpt-5.1-codex-max`) find their family. Config `model_context_window` and
`model_auto_compact_token_limit` override what the table says.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelInfo:
    prefix: str
    context_window: int | None
    """Input tokens the model accepts, which is what the history has to fit in. For the GPT-5 family
    that is 272k: the advertised 400k includes 128k reserved for output (Codex uses 272k too)."""
    reasoning: bool
    """Accepts the Responses `reasoning` parameter (effort, summary)."""
    encoding: str | None
    """tiktoken encoding name; None when we don't know the model's tokenizer."""
    listed: bool = True
    """Offered by the /model picker (False for a guess at an unreleased family)."""
    slug: str = ""
    """The model name the picker offers, when the family's prefix is not one itself."""

    @property
    def name(self) -> str:
        return self.slug or self.prefix


_TABLE: tuple[ModelInfo, ...] = (
    ModelInfo("gpt-6", 400_000, True, "o200k_base", listed=False),  # not released: a guess so the slug still works
    ModelInfo("gpt-5", 272_000, True, "o200k_base"),
    ModelInfo("gpt-4.1", 1_047_576, False, "o200k_base"),
    ModelInfo("gpt-4.5", 128_000, False, "o200k_base"),
    ModelInfo("gpt-4o", 128_000, False, "o200k_base"),
    ModelInfo("chatgpt-4o", 128_000, False, "o200k_base", slug="chatgpt-4o-latest"),
    ModelInfo("gpt-4-turbo", 128_000, False, "cl100k_base"),
    ModelInfo("gpt-4", 8_192, False, "cl100k_base"),
    ModelInfo("gpt-3.5-turbo", 16_385, False, "cl100k_base"),
    ModelInfo("o1", 200_000, True, "o200k_base"),
    ModelInfo("o3", 200_000, True, "o200k_base"),
    ModelInfo("o4-mini", 200_000, True, "o200k_base"),
    ModelInfo("codex-mini", 200_000, True, "o200k_base", slug="codex-mini-latest"),
    ModelInfo("gpt-oss", 131_072, True, "o200k_harmony", slug="gpt-oss-120b"),
)

# Share of the window at which compaction starts, as Codex's `auto_compact_token_limit()`.
AUTO_COMPACT_PERCENT = 90


def listed_models() -> tuple[ModelInfo, ...]:
    """The families the /model picker offers, in the table's order."""
    return tuple(info for info in _TABLE if info.listed)


def model_info(model: str) -> ModelInfo | None:
    best: ModelInfo | None = None
    for info in _TABLE:
        if model.startswith(info.prefix) and (best is None or len(info.prefix) > len(best.prefix)):
            best = info
    return best


def context_window(model: str) -> int | None:
    info = model_info(model)
    return info.context_window if info else None


def supports_reasoning(model: str) -> bool:
    info = model_info(model)
    return info.reasoning if info else False


def token_encoding(model: str) -> str | None:
    """The model's own tiktoken encoding, if we know it."""
    info = model_info(model)
    return info.encoding if info else None


def auto_compact_limit(model: str, configured: int | None, window: int | None) -> int | None:
    """Total tokens at which the history is compacted: the configured limit if set, else 90% of the
    window (`window` as resolved from config, else the table's). None: no window known, never compact.

    The compactor and the budget display both call this, so they can't disagree."""
    if configured is not None:
        return configured
    if window is None:
        window = context_window(model)
    return window * AUTO_COMPACT_PERCENT // 100 if window else None
