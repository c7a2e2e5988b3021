"""What /status shows: a panel of small sections, each a function of the session.

A section is `(title, rows)`; add one by writing a function and listing it in SECTIONS. Every
value is redacted and neutralized when the panel is drawn: the base URL, the AGENTS.md paths,
MCP server states and the provider's rate-limit headers come from outside.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text

from tui import wording
from tui.engine.model_switch import effort_of
from tui.engine.models import supports_reasoning
from tui.safety.redact import redact
from tui.safety.terminal_text import neutralize

if TYPE_CHECKING:
    from tui.engine.session import Session

Rows = list[tuple[str, str]]
Section = tuple[str, Rows]


def model_section(session: Session) -> Section:
    s, o = session.settings, session.options
    effort = effort_of(o)
    if effort is None:
        effort = "the model's default" if o.reasoning is not None or supports_reasoning(s.model) else "none (no reasoning)"
    wire = "Responses API" if o.wire_api == "responses" else "Chat Completions"
    return "Model", [
        ("model", s.model),
        ("reasoning effort", effort),
        ("provider", f"{o.provider_id} ({wire})"),
        ("base URL", session.client.base_url),
    ]


def permissions_section(session: Session) -> Section:
    s = session.settings
    sb = s.sandbox
    if sb.mode == "danger-full-access":
        writable = "everything (no sandbox)"
    elif sb.mode == "read-only":
        writable = "nothing (read-only)"
    else:
        writable = ", ".join(str(p) for p in sb.effective_writable_roots(s.cwd)) or "nothing"
    network = "on" if sb.mode == "danger-full-access" or sb.network_access else "off"
    return "Permissions", [
        ("approvals", s.approval_policy),
        ("sandbox", sb.mode),
        ("writable", writable),
        ("network", network),
    ]


def workspace_section(session: Session) -> Section:
    files = session.options.agents_files
    agents = "\n".join(str(p) for p in files) if files else "none (/init writes one)"
    return "Workspace", [("folder", str(session.settings.cwd)), ("AGENTS.md", agents)]


def session_section(session: Session) -> Section:
    rollout = str(session.rollout.path) if session.rollout is not None else "not recorded"
    return "Session", [("id", session.session_id), ("rollout", rollout)]


def tokens_section(session: Session) -> Section:
    u = session.total_usage
    rows: Rows = [
        ("input", f"{u.input_tokens:,} ({u.cached_input_tokens:,} cached)"),
        ("output", f"{u.output_tokens:,} ({u.reasoning_tokens:,} reasoning)"),
    ]
    used, estimated = session.meter.context_tokens(session.history)
    about = "about " if estimated else ""
    window = session.context_window
    if window:
        left = max(window - used, 0)
        rows.append(("context left", f"{about}{left:,} of {window:,} tokens ({left * 100 // window}%)"))
    else:
        rows.append(("context", f"{about}{used:,} tokens used; the model's window is unknown"))
    return "Tokens this session", rows


def mcp_section(session: Session) -> Section:
    mcp = session.mcp
    if mcp is None or not mcp.servers:
        return "MCP servers", [("", "none configured")]
    rows: Rows = []
    for name, server in mcp.servers.items():
        state: str = server.state
        if state == "ready":
            state = f"ready, {len(server.tools)} tool{'s' if len(server.tools) != 1 else ''}"
        elif server.reason:
            state = f"{state}: {server.reason}"
        rows.append((name, state))
    return "MCP servers", rows


def rate_limits_section(session: Session) -> Section:
    limits = session.client.rate_limits()
    if not limits:
        return "Rate limits", [("", "none sent by the provider (yet)")]
    return "Rate limits", [(k.removeprefix("x-ratelimit-"), v) for k, v in limits.items()]


def cache_section(session: Session) -> Section:
    """The last requests that read less from the prompt cache than they could, and why."""
    misses = session.cache_watch.recent
    if not misses:
        return "Prompt cache", [("", "no miss so far")]
    return "Prompt cache", [
        (f"request {m.request}", f"{wording.cache_miss_reason(m)} ({wording.cache_miss_figures(m)})") for m in misses
    ]


SECTIONS: list[Callable[[Session], Section]] = [
    model_section, permissions_section, workspace_section, session_section, tokens_section, cache_section,
    mcp_section, rate_limits_section,
]


def status_report(session: Session) -> Text:
    """The panel's text: each section's title, then its rows as aligned `key  value` lines."""
    sections = [section(session) for section in SECTIONS]
    width = max((len(k) for _, rows in sections for k, _ in rows), default=0)
    text = Text()
    for n, (title, rows) in enumerate(sections):
        if n:
            text.append("\n")
        text.append(title, style="bold")
        for key, value in rows:
            lines = _shown(value).split("\n")
            text.append(f"\n  {_shown(key):<{width}}  ", style="dim")
            text.append(lines[0])
            for line in lines[1:]:
                text.append(f"\n  {'':<{width}}  {line}")
    return text


def _shown(value: str) -> str:
    return neutralize(redact(value))
