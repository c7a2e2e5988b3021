"""What `codeloop --help` and each subcommand's `--help` say: a one-line summary, a description
where a line is not enough, and examples (the epilog, printed as written).

Kept apart from cli.py so the parser reads as the list of flags it is. Standard library only:
`--help` must not pay for textual or openai. tests/test_cli_help.py parses every example here
with the real parser, so an example cannot name a flag that does not exist.
"""

from __future__ import annotations

import argparse
from typing import Any

SUMMARY = {
    "codeloop": "A keyboard-driven coding agent for the terminal.",
    "exec": "Run one task headless; the final answer goes to stdout.",
    "resume": "Continue a recorded session in the app.",
    "serve": "Serve the app to web browsers, a session per tab.",
    "apply-patch": "Apply an apply_patch-format patch read from stdin.",
    "mcp": "Add, list, show or remove MCP servers in config.toml.",
    "mcp add": "Add an MCP server to config.toml.",
    "mcp list": "List the configured MCP servers.",
    "mcp get": "Show one MCP server's settings.",
    "mcp remove": "Remove an MCP server from config.toml.",
}

DETAILS = {
    "apply-patch": "The patch is applied in the current folder, all or nothing.",
    "mcp list": "Env and header values are shown as *****.",
    "codeloop": "Without a command, opens the app in the current folder (-C another). Settings come from "
    "$CODELOOP_HOME/config.toml (default ~/.codeloop), a -p profile and -c overrides, in that order.",
    "exec": "Progress goes to stderr, the final answer alone to stdout. Nobody can approve in exec, so a call the approval policy would ask about is declined and the "
    "model is told; the first line on stderr says which policy and sandbox apply and what they decline. "
    "The default policy (untrusted) runs only known read-only commands: use --full-auto for a task that "
    "runs commands or edits files in the workspace. Exit codes: 0 done, 1 the turn failed, 2 bad "
    "usage or configuration, 130/143 interrupted (SIGINT/SIGTERM).",
    "resume": "Without SESSION_ID or --last, lists the recorded sessions to pick from.",
    "serve": "Every tab that opens the printed URL runs its own codeloop with the flags given here. "
    "The URL carries a secret token made anew at each start: share it as you would a password.",
    "mcp add": "Adds [mcp_servers.NAME] to $CODELOOP_HOME/config.toml: a server started over stdio "
    "(everything after `--`), or a remote one (--url). An entry of the same name is replaced.",
    "mcp": "Manage the MCP servers of $CODELOOP_HOME/config.toml ([mcp_servers.NAME]), keeping the file's "
    "comments and layout.",
}

EXAMPLES = {
    "codeloop": [
        "codeloop                                   # the app, in the current folder",
        "codeloop --demo                            # the app against a built-in scripted model, no key needed",
        "codeloop -a on-request -s workspace-write  # commands and workspace edits run without asking",
        'codeloop exec --full-auto "fix the failing test"',
        "codeloop resume --last",
    ],
    "exec": [
        'codeloop exec "explain what src/main.py does"       # read-only: the default policy suffices',
        'codeloop exec --full-auto "fix the failing test"    # runs commands and edits in the workspace',
        'echo "add a --verbose flag" | codeloop exec --full-auto -   # the prompt from stdin',
        'codeloop exec --json "list the TODOs" > events.jsonl       # Codex\'s exec --json lines',
        'codeloop exec -o answer.txt --output-schema schema.json "triage the failures"',
        'codeloop exec resume --last "now add a test"',
    ],
    "resume": [
        "codeloop resume             # pick from the recorded sessions",
        "codeloop resume --last      # the newest session started in this folder",
        "codeloop resume 5f3a        # by id, or a unique prefix of it",
    ],
    "serve": [
        "codeloop serve --demo                       # then open the URL it prints",
        "codeloop serve --port 9000 -a on-request -C ~/project",
        "codeloop serve --port 0                     # any free port",
    ],
    "apply-patch": ["codeloop apply-patch < change.patch"],
    "mcp": [
        "codeloop mcp add docs --env DOCS_TOKEN=secret -- npx -y @acme/docs-mcp",
        "codeloop mcp add figma --url https://mcp.figma.com/mcp --bearer-token-env-var FIGMA_TOKEN",
        "codeloop mcp list --json",
        "codeloop mcp remove docs",
    ],
    "mcp add": [
        "codeloop mcp add docs --env DOCS_TOKEN=secret -- npx -y @acme/docs-mcp   # a stdio server",
        "codeloop mcp add figma --url https://mcp.figma.com/mcp --bearer-token-env-var FIGMA_TOKEN",
    ],
    "mcp list": ["codeloop mcp list", "codeloop mcp list --json"],
    "mcp get": ["codeloop mcp get docs", "codeloop mcp get docs --json"],
    "mcp remove": ["codeloop mcp remove docs"],
}


def parser_help(command: str) -> dict[str, Any]:
    """The keyword arguments of the (sub)parser for `command`: its summary as the description
    (with details below when it has them) and its examples as the epilog, printed as written."""
    description = SUMMARY[command] + (f"\n\n{DETAILS[command]}" if command in DETAILS else "")
    epilog = "examples:\n" + "\n".join(f"  {line}" for line in EXAMPLES[command])
    return {"description": description, "epilog": epilog, "formatter_class": _Formatter}


def summary(command: str) -> str:
    """The one line the parent's command list shows (without the final period)."""
    return SUMMARY[command][0].lower() + SUMMARY[command][1:].rstrip(".")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """The description wrapped paragraph by paragraph; the examples kept as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = text.split("\n\n")
        plain = argparse.HelpFormatter._fill_text
        if text.startswith("examples:"):
            return super()._fill_text(text, width, indent)
        return "\n\n".join(plain(self, p, width, indent) for p in paragraphs)
