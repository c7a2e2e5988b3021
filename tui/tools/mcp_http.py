"""Remote MCP servers: the headers they get (credentials from variables, never shown) and the
URL as it may be shown."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import Any

from tui.config import McpServerConfig
from tui.safety.redact import is_secret_name, remember_secret


def import_http() -> tuple[Any, Any]:
    """The streamable HTTP client and the HTTP library it runs on (the SDK's own dependency)."""
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    return streamable_http_client, httpx2


def shown_url(url: str) -> str:
    """The URL without what may carry a credential: its user:password part and its query."""
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


class McpStartError(Exception):
    """A remote server that cannot be reached as configured; the message says why, no secret."""


def remote_headers(config: McpServerConfig, env: Mapping[str, str]) -> dict[str, str]:
    """The headers a remote server gets: `http_headers`, the set `env_http_headers`, and the
    bearer token. Values taken from variables are remembered as secrets (never shown)."""
    headers = dict(config.http_headers)
    for header, variable in config.env_http_headers.items():
        if value := env.get(variable):
            remember_secret(value)
            headers[header] = value
    if token_variable := config.bearer_token_env_var:
        token = env.get(token_variable)
        if not token:
            raise McpStartError(f"bearer_token_env_var: the variable {token_variable} is not set")
        remember_secret(token)
        headers["Authorization"] = f"Bearer {token}"
    for header, value in config.http_headers.items():
        if is_secret_name(header) or header.lower() == "authorization":
            remember_secret(value)
    return headers
