"""Slash commands: one table drives the composer's completion popup, /help and the palette."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from tui.app.app import CodeloopApp
    from tui.tools.mcp import McpManager


@dataclass(frozen=True)
class SlashCommand:
    name: str
    help: str
    takes_argument: bool = False
    available: bool = True  # False: its engine side lands in a later issue, and it says so
    optional_argument: bool = False
    """Runs without its argument too (opening a picker): Enter on the bare name runs it."""

    @property
    def needs_argument(self) -> bool:
        return self.takes_argument and not self.optional_argument


# Popup order is meaning order (most used first), as Codex keeps it; not alphabetical.
SLASH_COMMANDS: tuple[SlashCommand, ...] = (
    SlashCommand("/model", "switch the model and reasoning effort (a picker, or: /model NAME [EFFORT])", takes_argument=True, optional_argument=True),
    SlashCommand("/approvals", "when to ask: untrusted | on-request | on-failure | never (no argument: a picker)", takes_argument=True, optional_argument=True),
    SlashCommand("/sandbox", "read-only | workspace-write | danger-full-access (no argument: a picker)", takes_argument=True, optional_argument=True),
    SlashCommand("/compact", "compact the conversation now to free context"),
    SlashCommand("/diff", "show the working tree's git diff (untracked files too)"),
    SlashCommand("/review", "review the uncommitted changes; /review BRANCH|COMMIT: all since it"),
    SlashCommand("/new", "start a new session (the current one stays recorded)"),
    SlashCommand("/resume", "pick an earlier session and continue it"),
    SlashCommand("/status", "model, provider, policies, folder, AGENTS.md, session, tokens, rate limits"),
    SlashCommand("/mcp", "MCP servers: state and tools"),
    SlashCommand("/init", "ask the model to write an AGENTS.md for this repository"),
    SlashCommand("/theme", "switch the theme (no name: list them)", takes_argument=True),
    SlashCommand("/copy", "copy the last answer (to the terminal's clipboard: works over SSH)"),
    SlashCommand("/undo", "restore the files to before the last turn (asks first)"),
    SlashCommand("/help", "commands and keys"),
    SlashCommand("/quit", "leave codeloop"),
)
BY_NAME = {c.name: c for c in SLASH_COMMANDS}


def completions(prefix: str, extra: tuple[SlashCommand, ...] = ()) -> list[SlashCommand]:
    """Commands matching what is typed so far (`/`, `/th`, …); nothing once an argument starts.
    `extra` (the custom prompts) follow the built-in ones."""
    if not prefix.startswith("/") or " " in prefix or "\n" in prefix:
        return []
    return [c for c in (*SLASH_COMMANDS, *extra) if c.name.startswith(prefix)]


def help_text() -> str:
    lines = ["Slash commands:"]
    for c in SLASH_COMMANDS:
        later = "" if c.available else "  (not available yet)"
        lines.append(f"  {c.name:<11} {c.help}{later}")
    lines += [
        "",
        "Keys: Enter send · Ctrl+J newline · Up/Down recall · Esc interrupt · Ctrl+C interrupt, twice quit",
        "      Copy: select with the mouse, then Ctrl+C · c on a focused command (Tab to it) · /copy the last answer",
        "      Ctrl+Q quit · F1 help for the focused pane · F2–F5 maximize a pane · Ctrl+P palette",
        "      Ctrl+T transcript: the whole session, every command's whole output (/ search, n/N, c copy, Esc)",
        "In an approval: y once · a for the session · n deny (the model is told) · Esc abort the turn",
        "!cmd runs cmd yourself, in the session's sandbox, no approval; the model sees its output next turn",
        "@ then part of a path: pick a file (Up/Down, Tab or Enter inserts its path, Esc closes; an image is attached)",
        "/prompts:NAME [args]: your prompt $CODELOOP_HOME/prompts/NAME.md ($1…$9, $ARGUMENTS, NAME=value for $NAME)",
        "Esc Esc in an empty composer: edit an earlier message and fork the conversation there",
    ]
    return "\n".join(lines)


def mcp_text(mcp: McpManager | None) -> str:
    """What /mcp shows: every configured server, its state and the tools it offers."""
    if mcp is None or not mcp.servers:
        return "No MCP servers are configured. Add one under [mcp_servers.NAME] in config.toml (see the README)."
    from tui.tools.mcp import McpTool

    offered = {(t.server.name, t.tool): t.name for t in mcp.offered_tools() if isinstance(t, McpTool)}
    lines = ["MCP servers:"]
    for name, server in mcp.servers.items():
        if server.state == "ready":
            count = len(server.tools)
            lines.append(f"  {name}: ready, {count} tool{'s' if count != 1 else ''}")
            for tool in sorted(server.tools, key=lambda t: t.name):
                summary = " ".join((tool.description or "").split())
                summary = summary if len(summary) <= 60 else summary[:59] + "…"
                hint = "  (read-only hint)" if tool.name in server.read_only else ""
                lines.append(f"    {offered.get((name, tool.name), tool.name)}{hint}  {summary}".rstrip())
            for tool_name, why in sorted(server.unserved.items()):
                lines.append(f"    not offered: {tool_name}: {why}")
        elif server.state == "failed":
            lines.append(f"  {name}: failed: {server.reason}")
        elif server.state == "disabled":
            lines.append(f"  {name}: disabled (enabled = false)")
        else:
            lines.append(f"  {name}: starting…")
    return "\n".join(lines)


class SlashCommandProvider(Provider):
    """The command palette offers the slash commands too (those that need no argument run)."""

    @property
    def codeloop(self) -> CodeloopApp:
        return self.app  # type: ignore[return-value]

    async def discover(self) -> Hits:
        for c in SLASH_COMMANDS:
            yield DiscoveryHit(c.name, partial(self.codeloop.palette_command, c.name), help=c.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for c in SLASH_COMMANDS:
            score = matcher.match(f"{c.name} {c.help}")
            if score > 0:
                yield Hit(score, matcher.highlight(c.name), partial(self.codeloop.palette_command, c.name), help=c.help)
