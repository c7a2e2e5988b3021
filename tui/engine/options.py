"""What a session takes from the configuration, fixed for its life (bootstrap builds it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui.config import ShellEnvironmentPolicy


@dataclass(frozen=True)
class SessionOptions:
    developer_instructions: str | None = None
    """Appended to the initial context as a developer message."""
    agents_text: str | None = None
    """The AGENTS.md files that apply to the working directory, joined."""
    agents_files: tuple[Path, ...] = ()
    """Those files, outermost first (shown by /status and the welcome)."""
    provider_id: str = "openai"
    """The configured provider's id (`model_provider`)."""
    wire_api: str = "responses"
    """How it is spoken to: "responses" or "chat" (Chat Completions)."""
    reasoning: dict[str, Any] | None = None
    """The request's `reasoning` parameter (effort, summary), or None for a model without it."""
    parallel_tool_calls: bool = True
    tool_output_token_limit: int = 10_000
    """A tool output longer than this is truncated in the middle before the model sees it."""
    interactive: bool = True
    """Whether someone can answer an approval (the app) or not (`codeloop exec`)."""
    context_window: int | None = None
    """The model's context size in tokens, when known: shown in the budget pane."""
    auto_compact_limit: int | None = None
    """Compact the history before a request that would carry this many tokens."""
    stream_max_retries: int = 5
    """How many times a broken stream is retried before the turn fails."""
    shell_environment_policy: ShellEnvironmentPolicy | None = None
    text_format: dict[str, Any] | None = None
    """Structured output for every sampling request (the Responses API's `text.format`, e.g. a
    JSON Schema from `codeloop exec --output-schema`); None: plain text."""
