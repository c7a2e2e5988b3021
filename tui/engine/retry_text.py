"""What to tell the user when a request to the provider fails: one line while it is retried,
and, once it is given up, a message naming the address and what to check.

Kept apart from the loop (turn.py) so both faces word it the same: the app updates one notice in
place, exec rewrites one progress line (`StreamRetrying.describe`, with `failing` in tui/protocol/).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tui.protocol import failing

if TYPE_CHECKING:
    from tui.model.types import ModelError

_ADVICE = {
    "unreachable": "Check the address (base_url in config.toml, or OPENAI_BASE_URL), any proxy "
    "settings (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) and that the server is running.",
    "auth": "Check the API key: the provider's env_key variable (OPENAI_API_KEY by default) and "
    "that the key is valid for this address.",
    "rate_limit": "The rate limit or the quota of the account is reached: wait and try again, "
    "or check the plan's limits.",
    "server": "The provider is failing on its side: try again later.",
    "stream": "The connection broke while the answer streamed: check the network, then try again.",
}


def given_up(e: ModelError, url: str, attempts: int) -> str:
    """The failed turn's message: how many attempts, the address, the error, what to check."""
    tried = f"gave up after {attempts} attempt{'s' if attempts != 1 else ''}" if attempts > 1 else "failed"
    wait = ""
    if e.kind == "rate_limit" and e.retry_after_s is not None:
        wait = f" The server asks to wait {e.retry_after_s:.0f}s."
    advice = _ADVICE.get(e.kind, "")
    return f"{failing(e.kind, url)}: {tried}: {e}.{wait} {advice}".rstrip()
