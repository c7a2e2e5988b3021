"""`codeloop serve`: its arguments, its errors, and the command each browser tab runs.

The browser end to end is tests/test_serve_browser.py; these need no browser.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.browser_driver import ServeProcess
from tui.cli import build_parser, main
from tui.serve import app_argv


def _serve(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    return subprocess.run(
        [sys.executable, "-m", "tui", "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**base, "CODELOOP_HOME": str(tmp_path / "home"), **env},
    )


def test_serve_help_names_its_own_and_the_app_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--host", "--port", "--public-url", "--demo", "--theme", "--model", "--config", "--cd"):
        assert flag in out, out


def test_port_in_use_is_one_clear_error_not_a_traceback(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = _serve(["--demo", "--port", str(port)], tmp_path)
    assert done.returncode == 2, done
    assert done.stderr.strip() == (
        f"codeloop: cannot serve on 127.0.0.1:{port}: the port is already in use; "
        "pick another with --port N (0 picks a free one)"
    ), done.stderr
    assert "serving the app" not in done.stdout, done.stdout


@pytest.mark.parametrize("port", ["70000", "-1", "eighty"])
def test_a_port_that_is_not_a_port_is_a_usage_error(port: str, tmp_path: Path) -> None:
    done = _serve(["--port", port], tmp_path)
    assert done.returncode == 2, done
    assert f"argument --port: {port!r} is not a port number (0-65535)" in done.stderr, done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "0"], "OPENAI_API_KEY is not set"),  # every tab's app would exit at once
        (["--demo", "--port", "0", "-p", "nosuch"], "unknown profile 'nosuch'"),
        (["--port", "0", "-C", "no/such/dir"], "no/such/dir"),
    ],
)
def test_a_configuration_every_tab_would_fail_on_is_reported_before_serving(
    args: list[str], message: str, tmp_path: Path
) -> None:
    done = _serve(args, tmp_path)
    assert done.returncode == 2, done
    assert message in done.stderr, done.stderr
    assert "serving the app" not in done.stdout and "Traceback" not in done.stderr, done


def test_each_tab_runs_this_python_with_the_app_flags_serve_was_given(tmp_path: Path) -> None:
    serve_args = [
        "serve", "--port", "0", "--demo", "--theme", "textual-light", "-m", "gpt-test",
        "-c", "model_reasoning_effort=high", "-c", 'tui.theme="x y"', "-p", "work",
        "-a", "never", "-s", "read-only", "--full-auto", "--yolo", "-C", str(tmp_path),
    ]
    served = build_parser().parse_args(serve_args)
    argv = app_argv(served)
    assert argv[:3] == [sys.executable, "-m", "tui"]
    # What the tab's `codeloop` parses is what `serve` was given (minus the serve-only flags).
    app = build_parser().parse_args(argv[3:])
    assert app.command is None
    for attr in ("demo", "theme", "model", "config", "profile", "approval_policy", "sandbox_mode", "full_auto", "yolo"):
        assert getattr(app, attr) == getattr(served, attr), attr
    assert Path(app.cd) == tmp_path


def test_app_flags_given_before_serve_are_forwarded_too_and_a_relative_cd_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = app_argv(build_parser().parse_args(["--demo", "-m", "m1", "serve", "-C", "sub"]))
    assert argv[3:] == ["--demo", "--model", "m1", "--cd", str(tmp_path / "sub")]
    assert app_argv(build_parser().parse_args(["serve"]))[3:] == []


@pytest.mark.timeout(180)
def test_serve_prints_its_url_serves_the_page_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    server = ServeProcess(["--demo"], env={"CODELOOP_HOME": str(tmp_path / "home")}, cwd=tmp_path, log=tmp_path / "log")
    try:
        address, _, token = server.url.partition("/?token=")
        port = int(address.rsplit(":", 1)[1])
        assert address == f"http://127.0.0.1:{port}" and port != 0 and len(token) >= 32, server.url
        # The tokened URL trades the token for a cookie and redirects to the bare page.
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with opener.open(server.url, timeout=30) as page:
            html = page.read().decode()
            assert page.url == f"{address}/", page.url
        # The page's websocket goes back to the port the server really got.
        assert f'data-session-websocket-url="ws://127.0.0.1:{port}/ws"' in html, html
        assert server.interrupt() == 0, server.output()
        assert "Traceback" not in server.output(), server.output()
    finally:
        server.stop()
