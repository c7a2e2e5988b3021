"""first_frame and version: how soon codeloop is usable, against a bare Textual app and bare Python.

first_frame runs each program in a real terminal (tmux, 160x50, its own server socket) and polls
`tmux capture-pane` until the text a person waits for appears: the composer's placeholder for
codeloop, the Static's text for the baseline. The clock starts just before `tmux new-session`, so
both figures include the same tmux and polling overhead (~10 ms resolution).
"""

from __future__ import annotations

import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks.report import Row, at_most, info
from tui.fakeserver import FakeOpenAI

FIRST_FRAME_RATIO = 2.0
CODEX_RATIO = 0.7
CODEX_READY = "for shortcuts"  # Codex's composer hint, shown once it takes input
VERSION_RATIO = 3.0
COLUMNS, LINES = 160, 50
POLL_S = 0.01
BIN = Path(sys.executable).parent
CODELOOP = BIN / "codeloop"
PLACEHOLDER = "Ask codeloop"
BASELINE_TEXT = "Baseline ready"

BASELINE_APP = f'''\
from textual.app import App, ComposeResult
from textual.widgets import Footer, Static


class Baseline(App[None]):
    BINDINGS = [("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Static("{BASELINE_TEXT}")
        yield Footer()


Baseline().run()
'''


class Tmux:
    """A private tmux server (`-L`), so nothing here touches the user's sessions."""

    def __init__(self) -> None:
        self.socket = f"codeloop-bench-{os.getpid()}"
        # A long-lived session keeps the server up, so no run pays for starting it.
        self("new-session", "-d", "-s", "keep", "-x", str(COLUMNS), "-y", str(LINES), "sleep 3600")

    def __call__(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args], capture_output=True, text=True)
        if done.returncode != 0 and args[0] != "kill-session":
            raise RuntimeError(f"tmux {args[0]}: {done.stderr.strip()}")
        return done.stdout

    def time_to_text(self, command: list[str], needle: str, env: dict[str, str], timeout: float = 30.0) -> float:
        """Seconds from starting `command` in a fresh session until `needle` is on its screen."""
        name = f"run{time.monotonic_ns()}"
        env_args = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
        start = time.monotonic()
        self("new-session", "-d", "-s", name, "-x", str(COLUMNS), "-y", str(LINES), *env_args, shlex.join(command))
        try:
            while time.monotonic() - start < timeout:
                if needle in self("capture-pane", "-p", "-t", name):
                    return time.monotonic() - start
                time.sleep(POLL_S)
            raise TimeoutError(f"{needle!r} did not appear within {timeout:.0f} s: {shlex.join(command)}")
        finally:
            self("kill-session", "-t", name)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


def measure_first_frame(quick: bool) -> list[Row]:
    runs = 5
    with tempfile.TemporaryDirectory(prefix="codeloop-bench-") as tmp, FakeOpenAI() as server:
        root = Path(tmp)
        baseline = root / "baseline_app.py"
        baseline.write_text(BASELINE_APP)
        workspace = root / "workspace"
        workspace.mkdir()
        subprocess.run(["git", "init", "-q"], cwd=workspace, check=True)  # a person runs it in a repo
        # No user config, no key: a custom provider without env_key needs none; nothing is
        # requested from the server until a message is sent.
        env = {"CODELOOP_HOME": str(root / "home"), "TMPDIR": tmp}
        codeloop = [
            str(CODELOOP),
            "-c", 'model_provider="bench"',
            "-c", f'model_providers.bench.base_url="{server.base_url}"',
            "-c", 'model="gpt-5.4"',
            "-C", str(workspace),
        ]  # fmt: skip
        codex, codex_env, why_not = _codex_tui(root, server.base_url, workspace)
        tmux = Tmux()
        try:
            # One unmeasured start of each warms the OS file cache, as for anyone's second start.
            tmux.time_to_text([sys.executable, str(baseline)], BASELINE_TEXT, env)
            tmux.time_to_text(codeloop, PLACEHOLDER, env)
            if codex:
                tmux.time_to_text(codex, CODEX_READY, codex_env)
            base, app, theirs = [], [], []
            for _ in range(runs):  # interleaved, so a noisy moment hits all three
                base.append(tmux.time_to_text([sys.executable, str(baseline)], BASELINE_TEXT, env))
                app.append(tmux.time_to_text(codeloop, PLACEHOLDER, env))
                if codex:
                    theirs.append(tmux.time_to_text(codex, CODEX_READY, codex_env))
            demo = [] if quick else [tmux.time_to_text([str(CODELOOP), "--demo"], "DEMO", env) for _ in range(3)]
        finally:
            tmux.close()
            if codex:
                shutil.rmtree(Path(codex_env["CODEX_HOME"]).parent, ignore_errors=True)
    app_s, base_s = statistics.median(app), statistics.median(base)
    rows = [
        info("first_frame.codeloop", app_s * 1000, "ms", f"median of {runs} in tmux, until {PLACEHOLDER!r} shows"),
        info("first_frame.baseline", base_s * 1000, "ms", "minimal Textual app (Static + Footer), same way"),
        at_most("first_frame.ratio", app_s / base_s, "x", FIRST_FRAME_RATIO, "codeloop / baseline"),
    ]
    if theirs:
        codex_s = statistics.median(theirs)
        rows += [
            info("first_frame.codex", codex_s * 1000, "ms", f"Codex's TUI (native binary), until {CODEX_READY!r} shows"),
            at_most("first_frame.vs_codex", app_s / codex_s, "x", CODEX_RATIO, "codeloop / Codex"),
        ]
    else:
        rows.append(info("first_frame.codex", None, "ms", f"Codex's TUI not measured: {why_not}"))
    if demo:
        rows.append(info("first_frame.demo", statistics.median(demo) * 1000, "ms", "codeloop --demo (makes a git workspace first); median of 3"))
    return rows


def _codex_tui(root: Path, base_url: str, workspace: Path) -> tuple[list[str], dict[str, str], str]:
    """Codex's TUI pointed at the same server, the workspace trusted (no first-run prompt)."""
    from tests.benchmarks.codex_compare import CACHE, codex_binary, codex_home

    try:
        binary = codex_binary()
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        return [], {}, str(exc)
    home_root = CACHE / f"tui-{os.getpid()}"  # CODEX_HOME must not be under /tmp
    home_root.mkdir(parents=True, exist_ok=True)
    home = codex_home(home_root, base_url, [workspace])
    env = {"CODEX_HOME": str(home), "BENCH_API_KEY": "sk-bench", "TMPDIR": str(root)}
    return [str(binary), "-m", "gpt-5.5", "-s", "workspace-write", "-C", str(workspace)], env, ""


def _time(command: list[str]) -> float:
    start = time.monotonic()
    subprocess.run(command, check=True, capture_output=True)
    return time.monotonic() - start


def measure_version(quick: bool) -> list[Row]:
    runs = 10
    _time([str(CODELOOP), "--version"])
    _time([sys.executable, "-c", "pass"])
    app, base = [], []
    for _ in range(runs):
        app.append(_time([str(CODELOOP), "--version"]))
        base.append(_time([sys.executable, "-c", "pass"]))
    app_s, base_s = statistics.median(app), statistics.median(base)
    return [
        info("version.codeloop", app_s * 1000, "ms", f"`codeloop --version`, median of {runs}"),
        info("version.python", base_s * 1000, "ms", "`python -c pass` (same venv)"),
        at_most("version.ratio", app_s / base_s, "x", VERSION_RATIO, "codeloop / python"),
    ]
