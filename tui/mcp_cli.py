"""`codeloop mcp add|list|get|remove`: manage `[mcp_servers.NAME]` in `$CODELOOP_HOME/config.toml`,
as `codex mcp` does.

Edits go through tui/config_edit.py (tomlkit: the user's comments, blank lines and key order
kept; only the server's own table changes; an unparsable file refused; written atomically,
0600). Secrets stay out of the output: env values and static header values are shown as
`*****`, a bearer token by the name of its variable only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.cli_help import parser_help, summary
from tui.config_edit import ConfigEditError, load_document, write_document

if TYPE_CHECKING:
    from tui.config import McpServerConfig

HIDDEN = "*****"


class McpCliError(ConfigEditError):
    """A refusal phrased for the user; nothing was written."""


def add_subcommands(mcp: argparse.ArgumentParser) -> None:
    """`codeloop mcp`'s subcommands, for cli.build_parser."""
    sub = mcp.add_subparsers(dest="mcp_command", metavar="SUBCOMMAND", required=True)
    add = sub.add_parser(
        "add",
        help=summary("mcp add"),
        usage="codeloop mcp add [--env KEY=VALUE]... NAME -- COMMAND [ARGS...]\n"
        "       codeloop mcp add [--bearer-token-env-var VAR] NAME --url URL",
        **parser_help("mcp add"),
    )
    add.add_argument("name", metavar="NAME", help="server name: letters, digits, '_' and '-'")
    add.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE", help="a variable set for a stdio server (repeatable)"
    )
    add.add_argument("--url", default=None, help="endpoint of a remote server (streamable HTTP)")
    add.add_argument(
        "--bearer-token-env-var", default=None, metavar="VAR", help="variable holding a remote server's bearer token"
    )
    add.add_argument("server_command", nargs="*", metavar="COMMAND", help="after `--`: the command starting the server")
    ls = sub.add_parser("list", help=summary("mcp list"), **parser_help("mcp list"))
    ls.add_argument("--json", action="store_true", help="print them as JSON")
    get = sub.add_parser("get", help=summary("mcp get"), **parser_help("mcp get"))
    get.add_argument("name", metavar="NAME", help="the server's name")
    get.add_argument("--json", action="store_true", help="print it as JSON")
    rm = sub.add_parser("remove", help=summary("mcp remove"), **parser_help("mcp remove"))
    rm.add_argument("name", metavar="NAME", help="the server's name")


def run_mcp(args: argparse.Namespace) -> int:
    """Run one `codeloop mcp` subcommand; a refusal is one line on stderr and exit code 1."""
    # Imported here, not at the top: cli.build_parser imports this module, and `codeloop
    # --help` must not pay for pydantic.
    from tui.config import ConfigError

    try:
        if args.mcp_command == "add":
            print(_add(args))
        elif args.mcp_command == "remove":
            print(_remove(args.name))
        elif args.mcp_command == "list":
            print(_list(_servers(), as_json=args.json))
        else:
            print(_get(args.name, _servers(), as_json=args.json))
    except (ConfigEditError, ConfigError) as exc:
        print(f"codeloop: {exc}", file=sys.stderr)
        return 1
    return 0


# --- editing config.toml ------------------------------------------------------------------------


def _config_path() -> Path:
    from tui.config import CONFIG_FILE_NAME, codeloop_home

    return codeloop_home() / CONFIG_FILE_NAME


def _check_name(name: str) -> None:
    from tui.config import MCP_SERVER_NAME

    if not MCP_SERVER_NAME.fullmatch(name):
        raise McpCliError(
            f"invalid server name {name!r}: use only letters, digits, '_' and '-' "
            "(it becomes part of the tool names the model sees)"
        )


def _servers_table(doc: Any, *, create: bool) -> Any:
    import tomlkit

    servers = doc.get("mcp_servers")
    if servers is None and create:
        servers = tomlkit.table(is_super_table=True)
        doc.add("mcp_servers", servers)
    if servers is not None and not isinstance(servers, dict):
        raise McpCliError(f"{_config_path()}: mcp_servers is not a table; nothing changed")
    return servers


def _parse_env(pairs: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise McpCliError(f"--env takes KEY=VALUE, got {pair!r}")
        env[key.strip()] = value
    return env


def _add(args: argparse.Namespace) -> str:
    import tomlkit

    from tui.config import McpServerConfig

    _check_name(args.name)
    command: list[str] = args.server_command
    if args.url is not None and (command or args.env):
        raise McpCliError("give either --url or `-- COMMAND` (with --env), not both")
    if args.url is None and args.bearer_token_env_var is not None:
        raise McpCliError("--bearer-token-env-var needs --url")
    entry: dict[str, Any]
    if args.url is not None:
        entry = {"url": args.url}
        if args.bearer_token_env_var:
            entry["bearer_token_env_var"] = args.bearer_token_env_var
    elif command:
        entry = {"command": command[0], "args": command[1:]}
        if env := _parse_env(args.env):
            entry["env"] = env
    else:
        raise McpCliError("say how to reach the server: `-- COMMAND [ARGS...]` or --url URL")
    problem = McpServerConfig.model_validate(entry).transport_problem()
    if problem:
        raise McpCliError(f"mcp_servers.{args.name}: {problem}")

    path = _config_path()
    doc = load_document(path)
    servers = _servers_table(doc, create=True)
    table = tomlkit.inline_table() if isinstance(servers, tomlkit.items.InlineTable) else tomlkit.table()
    for key, value in entry.items():
        if key == "env":
            env_table = tomlkit.inline_table()
            env_table.update(value)
            table[key] = env_table
        else:
            table[key] = value
    replaced = args.name in servers
    if not replaced and list(doc)[-1] != "mcp_servers" and not isinstance(table, tomlkit.items.InlineTable):
        table.add(tomlkit.nl())  # a blank line before the table that follows, as written by hand
    servers[args.name] = table
    write_document(path, doc)
    verb = "Replaced the" if replaced else "Added"
    return f"{verb} MCP server '{args.name}' in {path}."


def _remove(name: str) -> str:
    _check_name(name)
    path = _config_path()
    doc = load_document(path)
    servers = _servers_table(doc, create=False)
    if servers is None or name not in servers:
        raise McpCliError(f"no MCP server named '{name}' in {path}; `codeloop mcp list` shows the configured ones")
    del servers[name]
    if not servers and doc.get("mcp_servers") is servers:
        del doc["mcp_servers"]  # no empty `[mcp_servers]` left behind
    write_document(path, doc)
    return f"Removed MCP server '{name}' from {path}."


# --- showing servers ----------------------------------------------------------------------------


def _servers() -> dict[str, McpServerConfig]:
    from tui.config import load_config

    return dict(sorted(load_config().config.mcp_servers.items()))


def _hidden(values: dict[str, str]) -> dict[str, str]:
    return {key: HIDDEN for key in sorted(values)}


def _as_json(name: str, s: McpServerConfig) -> dict[str, Any]:
    """Codex's `mcp get --json` shape, with env and static header values hidden."""
    transport: dict[str, Any]
    if s.url is not None:
        transport = {
            "type": "streamable_http",
            "url": s.url,
            "bearer_token_env_var": s.bearer_token_env_var,
            "http_headers": _hidden(s.http_headers),
            "env_http_headers": dict(sorted(s.env_http_headers.items())),
        }
    else:
        transport = {
            "type": "stdio",
            "command": s.command,
            "args": s.args,
            "env": _hidden(s.env),
            "cwd": str(s.cwd) if s.cwd else None,
        }
    return {
        "name": name,
        "enabled": s.enabled,
        "transport": transport,
        "enabled_tools": s.enabled_tools,
        "disabled_tools": s.disabled_tools,
        "startup_timeout_sec": s.startup_timeout_sec,
        "tool_timeout_sec": s.tool_timeout_sec,
        "default_tools_approval_mode": s.default_tools_approval_mode,
        "tools": {tool: c.model_dump(exclude_none=True) for tool, c in sorted(s.tools.items())},
        "problem": s.transport_problem(),
    }


def _list(servers: dict[str, McpServerConfig], *, as_json: bool) -> str:
    if as_json:
        return json.dumps([_as_json(n, s) for n, s in servers.items()], indent=2)
    if not servers:
        return "No MCP servers configured yet. Try `codeloop mcp add my-tool -- my-command`."
    rows = [["Name", "Transport", "Command or URL", "Env / Bearer token var", "Status"]]
    for name, s in servers.items():
        status = "enabled" if s.enabled else "disabled"
        if problem := s.transport_problem():
            status = f"skipped: {problem}"
        if s.url is not None:
            rows.append([name, "http", s.url, s.bearer_token_env_var or "-", status])
        else:
            target = " ".join([s.command or "-", *s.args])
            env = ", ".join(f"{k}={HIDDEN}" for k in sorted(s.env)) or "-"
            rows.append([name, "stdio", target, env, status])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("  ".join([*(c.ljust(w) for c, w in zip(row, widths)), row[-1]]) for row in rows)


def _get(name: str, servers: dict[str, McpServerConfig], *, as_json: bool) -> str:
    if name not in servers:
        raise McpCliError(f"no MCP server named '{name}'; `codeloop mcp list` shows the configured ones")
    data = _as_json(name, servers[name])
    if as_json:
        return json.dumps(data, indent=2)
    t = data["transport"]
    lines = [name, f"  enabled: {str(data['enabled']).lower()}"]
    if data["problem"]:
        lines.append(f"  skipped: {data['problem']}")
    lines.append(f"  transport: {t['type']}")
    if t["type"] == "stdio":
        lines += [
            f"  command: {t['command']}",
            f"  args: {' '.join(t['args']) or '-'}",
            f"  cwd: {t['cwd'] or '-'}",
            f"  env: {', '.join(f'{k}={v}' for k, v in t['env'].items()) or '-'}",
        ]
    else:
        lines += [
            f"  url: {t['url']}",
            f"  bearer_token_env_var: {t['bearer_token_env_var'] or '-'}",
            f"  http_headers: {', '.join(f'{k}={v}' for k, v in t['http_headers'].items()) or '-'}",
            f"  env_http_headers: {', '.join(f'{k}={v}' for k, v in t['env_http_headers'].items()) or '-'}",
        ]
    for key in ("enabled_tools", "disabled_tools"):
        if data[key] is not None:
            lines.append(f"  {key}: {', '.join(data[key]) or '[]'}")
    from tui.mcp_config import toml_key

    if data["default_tools_approval_mode"] is not None:
        lines.append(f"  default_tools_approval_mode: {data['default_tools_approval_mode']}")
    for tool, settings in data["tools"].items():
        if "approval_mode" in settings:
            lines.append(f"  tools.{toml_key(tool)}.approval_mode: {settings['approval_mode']}")
    lines += [
        f"  startup_timeout_sec: {data['startup_timeout_sec']:g}",
        f"  tool_timeout_sec: {data['tool_timeout_sec']:g}",
        f"  remove: codeloop mcp remove {name}",
    ]
    return "\n".join(lines)
