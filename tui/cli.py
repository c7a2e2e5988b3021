"""The `codeloop` command line.

Only the standard library is imported at module level: `codeloop --version` and `--help`
must not pay for textual or openai (the start path stays lazy).
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from tui import __version__
from tui.cli_help import parser_help, summary

APPROVAL_POLICIES = ("untrusted", "on-request", "on-failure", "never")
SANDBOX_MODES = ("read-only", "workspace-write", "danger-full-access")


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    """Flags shared by every subcommand that starts a session.

    Defaults are SUPPRESS so a flag given before the subcommand is not overwritten by the
    subparser's default (an argparse quirk with parents/subparsers).
    """
    s = argparse.SUPPRESS
    parser.add_argument("-m", "--model", default=s, help="model to use")
    parser.add_argument(
        "-c",
        "--config",
        action="append",
        default=s,
        metavar="KEY=VALUE",
        help="override a config key (dotted path; VALUE parsed as TOML, else a string)",
    )
    parser.add_argument("-p", "--profile", default=s, help="config profile to use")
    parser.add_argument(
        "-a",
        "--ask-for-approval",
        choices=APPROVAL_POLICIES,
        default=s,
        dest="approval_policy",
        help="when to ask before a command, edit or MCP call: %(choices)s (default: untrusted)",
    )
    parser.add_argument(
        "-s",
        "--sandbox",
        choices=SANDBOX_MODES,
        default=s,
        dest="sandbox_mode",
        help="what commands may touch: %(choices)s (default: workspace-write)",
    )
    parser.add_argument(
        "--full-auto",
        action="store_true",
        default=s,
        help="shorthand for -a on-request -s workspace-write",
    )
    parser.add_argument(
        "--dangerously-bypass-approvals-and-sandbox",
        "--yolo",
        action="store_true",
        default=s,
        dest="yolo",
        help="run every command without approval and without a sandbox",
    )
    parser.add_argument("-C", "--cd", default=s, metavar="DIR", help="the folder to work in (default: the current one)")


def _add_image_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-i",
        "--image",
        action="append",
        default=argparse.SUPPRESS,
        dest="images",
        metavar="FILE",
        help="attach an image (PNG, JPEG, GIF or WebP) to the first message; repeatable",
    )


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)")
    return port


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="codeloop", **parser_help("codeloop"))
    parser.add_argument("--version", action="version", version=f"codeloop {__version__}", help="print the version and exit")
    parser.add_argument(
        "--demo", action="store_true", help="run the app against a built-in scripted model"
    )
    parser.add_argument("--theme", default=argparse.SUPPRESS, help="theme of the app")
    _add_config_flags(parser)
    _add_image_flag(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ex = sub.add_parser(
        "exec",
        help=summary("exec"),
        **parser_help("exec"),
        usage="codeloop exec [options] PROMPT\n       codeloop exec [options] resume (--last | SESSION_ID) PROMPT",
    )
    _add_config_flags(ex)
    _add_image_flag(ex)
    ex.add_argument(
        "--json",
        action="store_true",
        help="print Codex's `exec --json` event lines on stdout (thread.started, item.completed, …)",
    )
    ex.add_argument(
        "--engine-events",
        action="store_true",
        help="print codeloop's own engine events as JSON lines instead (live command output included)",
    )
    ex.add_argument(
        "-o",
        "--output-last-message",
        metavar="FILE",
        help="also write the final message to FILE (empty when there is none)",
    )
    ex.add_argument(
        "--output-schema",
        metavar="FILE",
        help="a JSON Schema (strict) the final answer must match; sent as structured output",
    )
    ex.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the progress lines: auto (a terminal without NO_COLOR), always or never",
    )
    ex.add_argument(
        "--skip-git-repo-check",
        action="store_true",
        help="accepted for scripts written for `codex exec`: codeloop runs outside git repositories anyway",
    )
    ex.add_argument(
        "--last",
        action="store_true",
        help="with `resume`: the newest session started in this folder, else the newest of all",
    )
    # `resume` as the first word continues a recorded session (see tui/exec_cmd.py).
    ex.add_argument("prompt", nargs="+", metavar="PROMPT", help="the task; '-' reads it from stdin")

    rs = sub.add_parser("resume", help=summary("resume"), **parser_help("resume"))
    _add_config_flags(rs)
    rs.add_argument(
        "--last",
        action="store_true",
        help="the newest session started in this folder, else the newest of all",
    )
    rs.add_argument(
        "session_id", nargs="?", metavar="SESSION_ID",
        help="id (or a unique prefix) of the session; with neither it nor --last, the app opens on a picker",
    )

    sv = sub.add_parser("serve", help=summary("serve"), **parser_help("serve"))
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    sv.add_argument(
        "--port", type=_port, default=8000, help="port to listen on; 0 picks a free one (default: %(default)s)"
    )
    sv.add_argument(
        "--public-url",
        default=None,
        metavar="URL",
        help="the address browsers reach the server at, if not http://HOST:PORT (behind a proxy)",
    )
    sv.add_argument(
        "--demo", action="store_true", default=argparse.SUPPRESS, help="serve the scripted demo"
    )
    sv.add_argument("--theme", default=argparse.SUPPRESS, help="theme of the app")
    _add_config_flags(sv)

    sub.add_parser("apply-patch", help=summary("apply-patch"), **parser_help("apply-patch"))

    from tui.mcp_cli import add_subcommands

    add_subcommands(sub.add_parser("mcp", help=summary("mcp"), **parser_help("mcp")))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    # Known-args so `exec resume --last PROMPT` parses: argparse gives a positional only the
    # words before the first option, and leaves the rest over.
    argv = list(sys.argv[1:] if argv is None else argv)
    server_command: list[str] | None = None
    if "--" in argv and {"mcp", "add"} <= set(argv[: argv.index("--")]):
        # `mcp add NAME [flags] -- COMMAND...`: the words after `--` are the server's, as typed
        # (argparse would drop a second `--` and take flags after NAME as stray words).
        cut = argv.index("--")
        argv, server_command = argv[:cut], argv[cut + 1 :]
    args, extra = parser.parse_known_args(argv)
    strays = [w for w in extra if args.command != "exec" or (w.startswith("-") and w != "-" and " " not in w)]
    if strays:
        parser.error(f"unrecognized arguments: {' '.join(strays)}")
    if extra:
        args.prompt += extra
    if args.command == "mcp":
        from tui.mcp_cli import run_mcp

        if server_command is not None and args.mcp_command == "add":
            args.server_command = [*args.server_command, *server_command]
        return run_mcp(args)
    if args.command == "apply-patch":
        from tui.tools.apply_patch import main as apply_patch_main

        return apply_patch_main()
    if args.command == "exec":
        from tui.exec_cmd import run_exec

        return run_exec(args)  # turns a ConfigError into one message and exit code 2
    if args.command == "serve":
        from tui.serve import run_serve

        return run_serve(args)
    if args.command == "resume":
        from tui.app.run import run_resume

        return run_resume(args)
    from tui.app.run import run_app

    return run_app(args)
