"""`codeloop serve`: the same Textual app in a browser, through textual-serve.

textual-serve is a small aiohttp server: every browser connection (a websocket from the page's
xterm.js) starts one process of a shell command with Textual's web driver selected through the
environment, and relays the terminal bytes both ways. Our command is this Python running
`python -m tui` with the app flags `serve` was given, so each tab gets its own session (and
with --demo its own scripted model and workspace copy).

Only the holder of the token serve prints, from the page serve served, gets in: see
tui/serve_auth.py.
"""

from __future__ import annotations

import argparse
import errno
import shlex
import socket
import sys
from pathlib import Path

from tui.serve_auth import ServeGuard, new_token

# The app flags `serve` passes on to each connection's `codeloop`: (namespace attribute, flag).
_VALUE_FLAGS = (
    ("theme", "--theme"),
    ("model", "--model"),
    ("profile", "--profile"),
    ("approval_policy", "--ask-for-approval"),
    ("sandbox_mode", "--sandbox"),
)
_SWITCH_FLAGS = (
    ("demo", "--demo"),
    ("full_auto", "--full-auto"),
    ("yolo", "--dangerously-bypass-approvals-and-sandbox"),
)


def app_argv(args: argparse.Namespace) -> list[str]:
    """The command line of the app one browser connection runs: this Python, `-m tui`, the flags."""
    argv = [sys.executable, "-m", "tui"]
    for attr, flag in _SWITCH_FLAGS:
        if getattr(args, attr, False):
            argv.append(flag)
    for attr, flag in _VALUE_FLAGS:
        if (value := getattr(args, attr, None)) is not None:
            argv += [flag, value]
    for override in getattr(args, "config", None) or []:
        argv += ["--config", override]
    if (cd := getattr(args, "cd", None)) is not None:
        # Absolute, so the command means the same whatever directory the process starts in.
        argv += ["--cd", str(Path(cd).expanduser().absolute())]
    return argv


def _config_problem(args: argparse.Namespace) -> bool:
    """Report a configuration every connection would fail on, before anything listens.

    Checked here because a browser tab only shows "Session ended" when its app exits at once;
    the reason would be buried in the server's output.
    """
    from tui.config import ConfigError, load_config, resolve_provider
    from tui.engine.bootstrap import sandbox_policy
    from tui.safety.sandbox import SandboxUnavailable

    try:
        if getattr(args, "demo", False):
            # The demo brings its own provider, model and workspace (so -C does not count):
            # only the config file and the overrides it builds on can be wrong.
            rc = load_config(argparse.Namespace(**{k: v for k, v in vars(args).items() if k != "cd"}))
        else:
            rc = load_config(args)
            resolve_provider(rc)
        sandbox_policy(rc)
    except (ConfigError, SandboxUnavailable) as e:
        print(f"codeloop: {e}", file=sys.stderr)
        return True
    return False


def _url_host(host: str) -> str:
    """The host part of the printed URL; for "every address", the local one a browser can open."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host  # an IPv6 literal goes in brackets


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: a free one); OSError says why not."""
    info = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = info[0]
    sock = socket.socket(family, kind, proto)
    try:
        # Like aiohttp's own bind: a port left in TIME_WAIT by a previous run is reusable at once.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)  # listening now: a browser pointed at the printed URL is queued, not refused
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def run_serve(args: argparse.Namespace) -> int:
    if _config_problem(args):
        return 2
    try:
        sock = bind(args.host, args.port)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            reason = "the port is already in use; pick another with --port N (0 picks a free one)"
        else:
            reason = e.strerror or str(e)
        print(f"codeloop: cannot serve on {args.host}:{args.port}: {reason}", file=sys.stderr)
        return 2
    port = sock.getsockname()[1]
    public_url = args.public_url or f"http://{_url_host(args.host)}:{port}"
    guard = ServeGuard(new_token(), args.host, port, public_url)
    # aiohttp and textual-serve load only once the port is ours (the bind error above stays fast).
    from tui.serve_server import make_server

    make_server(shlex.join(app_argv(args)), sock, public_url, guard).serve()
    return 0
