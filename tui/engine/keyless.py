"""Resuming without an API key: reading and listing recorded sessions needs none.

`codeloop resume` (the picker), `--last` and an id open the session whatever the key; what needs
the provider says so when it is asked for: the first request fails with the same message a
missing key gives at start (`ConfigError`'s), and nothing is sent anywhere.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import AsyncGenerator
from typing import Any

from tui.config import ConfigError, ProviderSettings, ResolvedConfig, load_config, resolve_provider
from tui.model.types import ModelClient, ModelError, ModelEvent, Prompt


class MissingKeyClient(ModelClient):
    """A provider client for a session opened without its key: every request fails, saying
    which variable to set."""

    def __init__(self, problem: str, base_url: str) -> None:
        self.problem = problem
        self.base_url = base_url

    async def stream(self, prompt: Prompt) -> AsyncGenerator[ModelEvent, None]:
        raise ModelError(self.problem, retryable=False)  # "other": shown as it is, no advice about a refused key
        yield  # an async generator, as the real clients' streams are

    async def compact(self, prompt: Prompt) -> list[dict[str, Any]]:
        raise ModelError(self.problem, retryable=False)  # "other": shown as it is, no advice about a refused key


def configure_keyless(args: argparse.Namespace) -> tuple[ResolvedConfig, ProviderSettings, str | None] | None:
    """The configuration and the provider, and the missing-key problem (None: the key is there).
    Any other problem is printed, as `configure_or_report` does, and gives None."""
    try:
        rc = load_config(args)
        try:
            return rc, resolve_provider(rc), None
        except ConfigError as e:
            info = rc.config.model_providers.get(rc.config.model_provider)
            if info is None or not info.env_key or os.environ.get(info.env_key, "").strip():
                raise
            # Only the key is missing: the provider as it would be, with a key no request uses.
            env = {**os.environ, info.env_key: "missing"}
            return rc, resolve_provider(rc, env), str(e)
    except ConfigError as e:
        print(f"codeloop: {e}", file=sys.stderr)
        return None
