"""Private data: what a hostile model, repository, MCP server or provider must not get out of
codeloop (secrets from the environment, the profile, the workspace), must not make the terminal do
(control sequences), and what other users and web pages must not reach (serve, $CODELOOP_HOME).

Every attack goes through the real `codeloop exec` (tests/exec_support.py `attack`) with real
bubblewrap where a command runs, unless it is about the app or serve."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from textual.widgets import Collapsible, OptionList

from tests.browser_driver import ServeProcess
from tests.engine_support import make_session
from tests.exec_support import attack, patch, run_exec, shell
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tests.leaks_support import (
    CREDENTIAL,
    FULL_AUTO,
    HOSTILE,
    all_cmdlines,
    attack_while,
    loose_modes,
    modes,
    pilot_until,
    raw_controls,
    serve_parts,
    tmux_buffers,
    tmux_format,
    umask,
    workspace,
)  # fmt: skip
from tests.tmux_driver import TmuxDriver, require_tmux
from tui import protocol as ev
from tui.app.app import CodeloopApp
from tui.app.widgets.answer import AnswerCell
from tui.app.widgets.diff_view import DiffView
from tui.app.widgets.file_popup import FilePopup
from tui.protocol import FileChangeSummary
from tui.safety.terminal_text import displayable, neutralize
from tui.serve_auth import ServeGuard

ENV_FILE = f"MY_SERVICE_CREDENTIAL={CREDENTIAL}\nPLAIN=hello\n"


# ------------------------------------------------------------ the command environment


@pytest.mark.parametrize(
    "name",
    ["MY_SERVICE_CREDENTIAL", "DB_PASS", "SMTP_PASSWD", "SENTRY_DSN", "APP_AUTH", "SIGNING_KEY", "SESSION_COOKIE",
     "STRIPE_PRIVATE", "GH_TOKEN", "apiKey", "CLIENT_CERT", "FLASK_SESSION", "WEBHOOK_URL_SECRET"],
)  # fmt: skip
def test_secret_named_variables_are_not_handed_to_commands(fake_openai: FakeOpenAI, tmp_path: Path, name: str) -> None:
    """A model runs `env`, `printenv` and reads /proc/self/environ inside the sandbox: no variable
    named like a credential (by name segment, any case) is there, nor its value."""
    ws, home = workspace(tmp_path)
    calls = [shell("c1", ["env"]), shell("c2", ["printenv"]), shell("c3", ["python3", "-c", "print(open('/proc/self/environ').read())"])]
    out = attack(fake_openai, ws, home, calls, *FULL_AUTO, env={name: CREDENTIAL, "KEYBOARD_LAYOUT": "dvorak-long"})
    for call_id in ("c1", "c2", "c3"):
        text = out.output(call_id)
        assert CREDENTIAL not in text and f"{name}=" not in text, text
        assert "KEYBOARD_LAYOUT=dvorak-long" in text, "a name merely containing KEY is nobody's secret"


@pytest.mark.parametrize(
    "url",
    ["postgres://app:pG-Secret-9913@db.internal:5432/app", "redis://:pG-Secret-9913@cache:6379/0",
     "amqp://rabbit:pG-Secret-9913@mq//", "https://bot:pG-Secret-9913@git.example/org/repo.git",
     "https://api.example/v1?region=eu&password=pG-Secret-9913", "mysql://u@h/db?token=pG-Secret-9913&x=1"],
)  # fmt: skip
def test_url_valued_variables_lose_their_passwords(fake_openai: FakeOpenAI, tmp_path: Path, url: str) -> None:
    """DATABASE_URL-style variables of any name and scheme reach commands without the password
    or secret query value; the rest of the URL stays usable."""
    ws, home = workspace(tmp_path)
    out = attack(fake_openai, ws, home, [shell("c1", ["printenv", "CONN"])], *FULL_AUTO, env={"CONN": url})
    text = out.output("c1")
    assert "pG-Secret-9913" not in text and "Exit code: 0" in text, text
    assert url.split("://")[0] + "://" in text


# ------------------------------------------------------------ redaction of encoded forms


def _encodings() -> dict[str, list[str]]:
    return {
        "rev": ["rev", ".env"],
        "base64": ["base64", ".env"],
        "base64-offset-1": ["bash", "-c", "{ printf x; cat .env; } | base64 -w 0"],
        "base64-offset-2": ["bash", "-c", "{ printf xy; cat .env; } | base64"],
        "base64-urlsafe": ["python3", "-c", "import base64;print(base64.urlsafe_b64encode(b'~~'+open('.env','rb').read()).decode())"],
        "hex": ["xxd", "-p", ".env"],
        "hex-upper": ["python3", "-c", "print(open('.env','rb').read().hex().upper())"],
        "url-encoded": ["python3", "-c", "import urllib.parse as u;print(u.quote(open('.env').read(), safe=''))"],
    }


@pytest.mark.parametrize("encoding", list(_encodings()))
def test_known_secret_values_are_redacted_in_encoded_forms(fake_openai: FakeOpenAI, tmp_path: Path, encoding: str) -> None:
    """The workspace's .env holds the value of one of our secret variables; the model prints it
    reversed, base64 (every alignment, both alphabets, wrapped or not), hex or percent-encoded:
    what the model reads holds the value in none of those forms."""
    ws, home = workspace(tmp_path, {".env": ENV_FILE})
    out = attack(fake_openai, ws, home, [shell("c1", _encodings()[encoding])], *FULL_AUTO, env={"MY_SERVICE_CREDENTIAL": CREDENTIAL})
    text = out.output("c1")
    assert "Exit code: 0" in text and "[REDACTED]" in text, text
    raw = CREDENTIAL.encode()
    forms = [CREDENTIAL, CREDENTIAL[::-1], raw.hex(), raw.hex().upper(), quote(CREDENTIAL)]
    forms += [base64.b64encode(raw).decode()[:-4], base64.b64encode(b"x" + raw).decode()[4:-4]]
    flat = text.replace("\n", "")
    assert not any(form in flat for form in forms), text
    assert CREDENTIAL not in json.dumps(out.bodies) and CREDENTIAL not in out.proc.stdout + out.proc.stderr
    rollouts = list((home / "sessions").rglob("*.jsonl"))
    assert rollouts and all(CREDENTIAL[::-1] not in p.read_text() for p in rollouts)


def test_secret_echoed_from_a_commands_own_arguments_is_redacted(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """The model puts a known secret in a command's argument (`echo VALUE | rev`) so the command
    echoes it back transformed: the output still shows no form of it."""
    ws, home = workspace(tmp_path)
    calls = [shell("c1", ["bash", "-c", f"echo {CREDENTIAL} | rev; echo {CREDENTIAL} | base64"])]
    out = attack(fake_openai, ws, home, calls, *FULL_AUTO, env={"SERVICE_PASSWORD": CREDENTIAL})
    text = out.output("c1")
    assert CREDENTIAL[::-1] not in text and base64.b64encode(CREDENTIAL.encode()).decode()[:20] not in text, text


def test_secret_split_across_output_chunks_is_redacted(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """A command prints the secret in two writes with a pause between (two pipe reads): it is
    redacted as a whole, not per chunk."""
    ws, home = workspace(tmp_path)
    half = len(CREDENTIAL) // 2
    script = f"printf %s {CREDENTIAL[:half]}; sleep 0.3; printf '%s\\n' {CREDENTIAL[half:]}"
    out = attack(fake_openai, ws, home, [shell("c1", ["bash", "-c", script])], *FULL_AUTO, env={"X_TOKEN": CREDENTIAL})
    assert CREDENTIAL not in out.output("c1") and "[REDACTED]" in out.output("c1")


# ------------------------------------------------------------ the shell snapshot

PROFILE = f"""\
export PROFILE_CREDENTIAL={CREDENTIAL}
export PROFILE_DB_URL=postgres://me:pr0file-pw-771@db/x
export PROFILE_PLAIN=visible-value
deploy() {{ curl -u admin:{CREDENTIAL} https://deploy.example; }}
harmless() {{ echo harmless function ran; }}
"""


@pytest.fixture
def profile_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "user-home"
    home.mkdir()
    (home / ".bash_profile").write_text(PROFILE)
    monkeypatch.setenv("HOME", str(home))
    return home


def test_snapshot_does_not_replay_profile_secrets(fake_openai: FakeOpenAI, tmp_path: Path, profile_home: Path) -> None:
    """~/.profile exports PROFILE_CREDENTIAL and a URL with a password and defines a function
    whose body holds the credential; a model's `bash -lc` runs `env`, `set`, `declare -p`,
    `declare -f`: none shows the values, the harmless parts of the profile still work, and the
    credential is redacted even when the model reads the profile file itself."""
    ws, home = workspace(tmp_path)
    calls = [
        shell("c1", "env; set; declare -p; declare -f; echo \"url=$PROFILE_DB_URL\"; harmless; echo $PROFILE_PLAIN"),
        shell("c2", ["cat", str(profile_home / ".bash_profile")]),
    ]
    out = attack(fake_openai, ws, home, calls, *FULL_AUTO)
    text = out.output("c1")
    assert "harmless function ran" in text and "visible-value" in text and "url=postgres://me@db/x" in text, text
    assert CREDENTIAL not in text and "pr0file-pw-771" not in text and "deploy" not in text, text
    assert CREDENTIAL not in out.output("c2"), "values learned from the profile are redacted"


def test_no_process_cmdline_carries_the_snapshot(fake_openai: FakeOpenAI, tmp_path: Path, profile_home: Path) -> None:
    """While a `bash -lc` command runs, every process's /proc/PID/cmdline (readable by any user of
    the machine) is read: none holds the snapshot's content."""
    ws, home = workspace(tmp_path)
    script = "harmless; touch started; for i in $(seq 200); do [ -e stop ] && break; sleep 0.05; done"

    def look() -> list[bytes]:
        found = [line for line in all_cmdlines() if b"harmless function ran" in line or b"visible-value" in line]
        (ws / "stop").touch()
        return found

    out, found = attack_while(lambda: (ws / "started").exists(), look, fake_openai, ws, home, [shell("c1", script)], *FULL_AUTO)
    assert found == [], found
    assert "harmless function ran" in out.output("c1")


# ------------------------------------------------------------ control sequences: neutralize


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_neutralize_leaves_nothing_a_terminal_acts_on(kind: str) -> None:
    """Every hostile sequence (7-bit and 8-bit C1, terminated or not, nested in a tmux
    passthrough) leaves no ESC, BEL, ENQ or C1 introducer, and the text around it is kept."""
    shown = neutralize(f"before {HOSTILE[kind]} after")
    assert raw_controls(shown) == [] and shown.startswith("before") and shown.endswith("after"), repr(shown)


def test_trojan_source_bidi_and_zero_width_characters_are_shown_visibly() -> None:
    """A command hiding its real order behind a right-to-left override, or text hiding a
    zero-width space, reads with the characters made visible; joiners stay in prose (emoji)
    but not in a command."""
    assert neutralize("rm -rf ~ \u202e#gnirts") == "rm -rf ~ <U+202E>#gnirts"
    assert neutralize("a\u2066b\u2069c\u200bd\ufeff") == "a<U+2066>b<U+2069>c<U+200B>d<U+FEFF>"
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert neutralize(f"hi {family}") == f"hi {family}"
    assert neutralize("cu\u200drl", strict=True) == "cu<U+200D>rl"


def test_a_carriage_return_cannot_hide_the_start_of_a_line() -> None:
    """`safe-looking\\rrm -rf ~` must not display as just the second half."""
    assert neutralize("ls -la\rrm -rf ~") == "ls -la\u240drm -rf ~"


# ------------------------------------------------------------ control sequences: exec


def _hostile_text(label: str) -> str:
    return label + " " + " ".join(f"<{kind}>{seq}" for kind, seq in HOSTILE.items()) + " end"


def test_exec_human_output_carries_no_control_sequences(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """The model's message and reasoning, a command's argv and output, a plan step and a patched
    file's name all carry OSC 2/52/8, CSI, DECRQSS, DA, tmux passthrough and C1 sequences:
    exec's stdout and stderr (piped) hold none of them, and the readable text is still there."""
    ws, home = workspace(tmp_path)
    hostile = _hostile_text("x")
    plan = json.dumps({"plan": [{"step": _hostile_text("step"), "status": "pending"}]})
    fake_openai.queue_response(fe.turn(fe.reasoning_item(_hostile_text("thinking")), shell("c1", ["printf", "%s", hostile])))
    fake_openai.queue_response(fe.turn(fe.function_call_item("p1", "update_plan", plan)))
    fake_openai.queue_response(fe.turn(patch("a1", "*** Add File: evil\x1b]2;T\x07name.txt\n+hi")))
    fake_openai.queue_response(fe.turn(fe.message_item(_hostile_text("final"))))
    proc = run_exec(fake_openai, ws, home, *FULL_AUTO, "go")
    assert proc.returncode == 0, proc.stderr
    assert raw_controls(proc.stdout) == [] and raw_controls(proc.stderr) == [], (proc.stdout, proc.stderr)
    assert "final <osc2-title> <osc52-clipboard>" in proc.stdout and "step <osc2-title>" in proc.stderr


def test_exec_json_output_stays_exact(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """With --json the model's text is kept exact (a program reads it), and every control
    character is a JSON escape — the 8-bit C1 ones too, which json.dumps leaves raw — so stdout
    holds nothing a terminal acts on."""
    ws, home = workspace(tmp_path)
    text = _hostile_text("json")
    fake_openai.queue_response(fe.turn(fe.message_item(text)))
    proc = run_exec(fake_openai, ws, home, "--json", "go")
    assert raw_controls(proc.stdout) == [] and "\\u001b" in proc.stdout and "\\u009d" in proc.stdout
    assert text in [e["item"].get("text") for e in map(json.loads, proc.stdout.splitlines()) if "item" in e]


def test_provider_error_message_cannot_drive_the_terminal(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """The provider answers 400 with an error message full of escape sequences: exec's stderr
    quotes it without them."""
    ws, home = workspace(tmp_path)
    error = {"error": {"message": _hostile_text("provider"), "type": "invalid_request_error", "param": None, "code": None}}
    fake_openai.queue_http_error(400, error)
    proc = run_exec(fake_openai, ws, home, "go")
    assert proc.returncode != 0 and "provider" in proc.stderr
    assert raw_controls(proc.stderr) == [] and raw_controls(proc.stdout) == [], proc.stderr


# ------------------------------------------------------------ control sequences: the app in tmux


def test_app_in_tmux_keeps_its_title_and_clipboard(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """The real app in tmux (set-clipboard and passthrough on, so tmux would obey): the model's
    reasoning, a command's output and its message carry OSC 2, OSC 52, CSI 2J, a tmux passthrough
    and C1 sequences. Afterwards the pane's title is what it was, no paste buffer was set, and the
    message is on screen (before the fix, CSI 2J wiped the screen and the title changed)."""
    ws, home = workspace(tmp_path)
    fake_openai.queue_response(
        fe.turn(fe.reasoning_item(_hostile_text("thinking")), shell("c1", ["echo", _hostile_text("cmd")]))
    )
    fake_openai.queue_response(fe.turn(fe.message_item(_hostile_text("final") + " MESSAGE-SHOWN")))
    env = {
        "TERM": "xterm-256color", "CODELOOP_HOME": str(home), "HOME": str(tmp_path),
        "OPENAI_BASE_URL": fake_openai.base_url, "OPENAI_API_KEY": "test-key",
    }  # fmt: skip
    with TmuxDriver(require_tmux(), width=140, height=44) as tmux:
        tmux.start([sys.executable, "-m", "tui", "--full-auto"], env=env, cwd=str(ws))
        for option in ("set-clipboard on", "allow-passthrough on"):
            subprocess.run([tmux.tmux, "-S", tmux.socket, "set", "-g", *option.split()], check=True, timeout=30)
        tmux.wait_for_text("Ask codeloop", timeout_s=60)
        title = tmux_format(tmux, "#{pane_title}")
        tmux.type_text("go")
        tmux.press("Enter")
        tmux.wait_for_text("MESSAGE-SHOWN", timeout_s=60)
        assert tmux_format(tmux, "#{pane_title}") == title and "PWNED" not in title
        assert tmux_buffers(tmux) == "", "an OSC 52 from the model set tmux's clipboard"
        assert "MESSAGE-SHOWN" in tmux.screen()


# ------------------------------------------------------------ codeloop serve


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    tmp = tmp_path_factory.mktemp("serve")
    (tmp / "home").mkdir()
    server = ServeProcess(["--demo"], env={"CODELOOP_HOME": str(tmp / "home")}, cwd=tmp, log=tmp / "serve.log")
    try:
        yield server
    finally:
        server.stop()


async def _request(url: str, *, headers: dict[str, str] | None = None, cookies: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
    async with aiohttp.ClientSession(cookies=cookies) as client:
        async with client.get(url, headers=headers or {}, allow_redirects=False) as response:
            return response.status, await response.text(), dict(response.headers)


async def _websocket(url: str, **kwargs: Any) -> str:
    """Open the app's socket; the first thing the app sends, or the HTTP status it was refused with."""
    async with aiohttp.ClientSession(cookies=kwargs.pop("cookies", None)) as client:
        try:
            async with client.ws_connect(url, **kwargs) as ws:
                await ws.send_json(["resize", {"width": 80, "height": 24}])
                message = await ws.receive(timeout=60)
                return f"open:{message.type.name}"
        except aiohttp.WSServerHandshakeError as e:
            return f"refused:{e.status}"


@pytest.mark.parametrize("path", ["/", "/ws", "/static/js/textual.js", "/static/", "/download/x"])
async def test_serve_bare_address_gets_nothing(served: ServeProcess, path: str) -> None:
    """Without the token (any page, asset, download or the socket): 401 and a plain page saying
    where to find the URL — no app, no file listing."""
    origin, _, _ = serve_parts(served.url)
    status, body, headers = await _request(origin + path)
    assert status == 401 and "printed" in body and headers["Content-Type"].startswith("text/plain"), (status, body)


async def test_serve_wrong_token_is_refused(served: ServeProcess) -> None:
    """A guessed token, or a cookie holding one, gets 401 too (compared in constant time)."""
    origin, token, port = serve_parts(served.url)
    assert (await _request(f"{origin}/?token={token[:-1]}x"))[0] == 401
    assert (await _request(f"{origin}/", cookies={f"codeloop_serve_{port}": "x" * len(token)}))[0] == 401
    assert await _websocket(f"ws://127.0.0.1:{port}/ws?token=nope") == "refused:401"


async def test_serve_token_becomes_a_strict_httponly_cookie_and_leaves_the_address(served: ServeProcess) -> None:
    """The printed URL sets an HttpOnly SameSite=Strict cookie and redirects to the bare page, so
    the token is in no later address, history entry or Referer; every page says no-referrer."""
    origin, token, port = serve_parts(served.url)
    status, _, headers = await _request(served.url)
    assert status == 302 and headers["Location"] == "/"
    cookie = headers["Set-Cookie"]
    assert f"codeloop_serve_{port}={token}" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    status, body, headers = await _request(origin + "/", cookies={f"codeloop_serve_{port}": token})
    assert status == 200 and token not in body and headers["Referrer-Policy"] == "no-referrer"


async def test_serve_socket_from_another_origin_is_refused(served: ServeProcess) -> None:
    """A page on http://evil.example opens the socket — even holding the cookie or the token, its
    Origin gets 403; from the served origin the same socket opens."""
    _, token, port = serve_parts(served.url)
    url = f"ws://127.0.0.1:{port}/ws"
    cookies = {f"codeloop_serve_{port}": token}
    assert await _websocket(url, cookies=cookies, origin="http://evil.example") == "refused:403"
    assert await _websocket(f"{url}?token={token}", origin="http://127.0.0.1.evil.example") == "refused:403"
    assert (await _websocket(url, cookies=cookies, origin=f"http://127.0.0.1:{port}")).startswith("open:")


async def test_serve_cross_origin_fetch_of_the_page_is_refused(served: ServeProcess) -> None:
    """A cross-origin fetch() carrying the user's cookie (Origin: evil) gets 403, not the page."""
    origin, token, port = serve_parts(served.url)
    status, body, _ = await _request(origin + "/", headers={"Origin": "https://evil.example"}, cookies={f"codeloop_serve_{port}": token})
    assert status == 403 and "<html" not in body.lower()


async def test_serve_dns_rebinding_host_is_refused(served: ServeProcess) -> None:
    """A DNS-rebound name (Host: evil.example:PORT resolving to 127.0.0.1) gets 403 even with the token."""
    origin, token, port = serve_parts(served.url)
    status, _, _ = await _request(f"{origin}/?token={token}", headers={"Host": f"rebind.evil.example:{port}"})
    assert status == 403


def test_serve_token_is_in_no_command_line_or_environment(served: ServeProcess) -> None:
    """Another local user can read every process's cmdline: the token is in none, nor in the
    environment of serve or the apps it starts; and that user, connecting without it, gets 401."""
    origin, token, _ = serve_parts(served.url)
    assert not [line for line in all_cmdlines() if token.encode() in line]
    assert token.encode() not in Path(f"/proc/{served.proc.pid}/environ").read_bytes()
    probe = f"import urllib.request as u\ntry: u.urlopen({origin!r} + '/ws')\nexcept Exception as e: print(e)"
    # The other user runs the system's Python: a pyenv build under /root (3.13's libpython) is
    # not one they can load.
    python = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin") or sys.executable
    done = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", python, "-c", probe], capture_output=True, text=True, timeout=60)
    assert "401" in done.stdout, done


# ------------------------------------------------------------ $CODELOOP_HOME file modes


def test_rollouts_are_private_whatever_the_umask(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """Under umask 000 a session writes its rollout: CODELOOP_HOME, the session folders and the
    file are 0700/0600 — no other user can list or read a conversation."""
    ws, home = workspace(tmp_path)
    home.rmdir()  # made by codeloop itself
    fake_openai.queue_response(fe.turn(fe.message_item("hello")))
    with umask(0o000):
        proc = run_exec(fake_openai, ws, home, "go")
    assert proc.returncode == 0, proc.stderr
    assert list((home / "sessions").rglob("rollout-*.jsonl"))
    assert loose_modes(home) == {}
    assert modes(home)["."] == 0o700 and all(m in (0o700, 0o600) for m in modes(home).values())


def test_files_left_readable_by_earlier_versions_are_tightened_on_start(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """An old 0755 sessions tree with a 0644 rollout and a 0644 config.toml: the next start
    takes group and other permissions off all of it."""
    ws, home = workspace(tmp_path)
    old = home / "sessions" / "2025" / "01" / "02"
    old.mkdir(parents=True)
    (old / "rollout-old.jsonl").write_text("{}\n")
    (home / "config.toml").write_text("")
    for path in [home, home / "sessions", *old.parents, old]:
        if path.is_relative_to(home):
            path.chmod(0o755)
    for path in (old / "rollout-old.jsonl", home / "config.toml"):
        path.chmod(0o644)
    fake_openai.queue_response(fe.turn(fe.message_item("hello")))
    assert run_exec(fake_openai, ws, home, "go").returncode == 0
    assert loose_modes(home) == {}


def test_a_resumed_rollout_is_private_again(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """A rollout made readable (0644) between runs is 0600 again once the session is resumed and
    appended to, under umask 000."""
    ws, home = workspace(tmp_path)
    fake_openai.queue_response(fe.turn(fe.message_item("first")))
    assert run_exec(fake_openai, ws, home, "go").returncode == 0
    (rollout,) = (home / "sessions").rglob("rollout-*.jsonl")
    rollout.chmod(0o644)
    fake_openai.queue_response(fe.turn(fe.message_item("second")))
    with umask(0o000):
        proc = run_exec(fake_openai, ws, home, "resume", "--last", "go on")
    assert proc.returncode == 0, proc.stderr
    assert "second" in rollout.read_text() and loose_modes(home) == {}


# ------------------------------------------------------------ MCP servers


def _mcp_config(home: Path, env: dict[str, str]) -> None:
    server = Path(__file__).parent / "mcp_echo_server.py"
    table = ", ".join(f"{k} = {json.dumps(v)}" for k, v in env.items())
    (home / "config.toml").write_text(
        f'[mcp_servers.echo]\ncommand = {json.dumps(sys.executable)}\nargs = [{json.dumps(str(server))}]\nenv = {{ {table} }}\n'
    )


def test_mcp_server_stderr_is_neither_a_leak_nor_a_terminal_attack(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """An MCP server configured with a credential in its env fails at start, printing the
    credential (plain and base64) and escape sequences to stderr: exec's report of the failure
    shows neither."""
    ws, home = workspace(tmp_path)
    said = f"boom {CREDENTIAL} {base64.b64encode(CREDENTIAL.encode()).decode()} {HOSTILE['osc2-title']}{HOSTILE['osc52-clipboard']}"
    _mcp_config(home, {"ECHO_SERVER_MODE": "exit", "ECHO_SERVER_SAY": said, "MY_SERVICE_CREDENTIAL": CREDENTIAL})
    fake_openai.queue_response(fe.turn(fe.message_item("done")))
    proc = run_exec(fake_openai, ws, home, "go")
    shown = proc.stdout + proc.stderr
    assert "echo" in proc.stderr and CREDENTIAL not in shown and raw_controls(shown) == [], shown
    assert base64.b64encode(CREDENTIAL.encode()).decode()[:16] not in shown


def test_mcp_tool_result_is_redacted_and_neutralized(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """The model has the MCP echo tool return escape sequences and a known secret in hex: the
    model's copy is redacted, and exec's progress lines carry no control sequence."""
    ws, home = workspace(tmp_path)
    _mcp_config(home, {"MY_SERVICE_CREDENTIAL": CREDENTIAL})
    text = f"{HOSTILE['osc52-clipboard']}{HOSTILE['c1-osc']} hex {CREDENTIAL.encode().hex()}"
    call = fe.function_call_item("m1", "mcp__echo__echo", json.dumps({"text": text}))
    out = attack(fake_openai, ws, home, [call], "--dangerously-bypass-approvals-and-sandbox")
    assert CREDENTIAL.encode().hex() not in out.output("m1") and "[REDACTED]" in out.output("m1"), out.output("m1")
    assert raw_controls(out.proc.stdout + out.proc.stderr) == [], out.proc.stderr


# ------------------------------------------------------------ file names in the app

EVIL_NAME = "evil\x1b]2;PWNED\x07\x1b[2J\u202ename.txt"


async def test_file_names_in_the_at_finder_are_neutralized(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """A repository file named with OSC 2, CSI 2J and a bidi override: the `@` finder lists it
    with none of them live (the override shown as <U+202E>)."""
    ws, _ = workspace(tmp_path, {EVIL_NAME: "x\n"})
    app = CodeloopApp(make_session(fake_openai, ws))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*"look at @evil")
        popup = app.query_one(FilePopup)
        await pilot_until(pilot, lambda: popup.is_open and bool(popup.matches))
        shown = str(popup.get_option_at_index(0).prompt)
        assert raw_controls(shown) == [] and "\u202e" not in shown and "<U+202E>" in shown, repr(shown)


async def test_file_names_in_the_diff_pane_are_neutralized(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """A patch adding a file whose name carries escape sequences: the diff pane's file row shows
    it without them."""
    ws, _ = workspace(tmp_path)
    app = CodeloopApp(make_session(fake_openai, ws))
    async with app.run_test(size=(120, 40)) as pilot:
        diff = app.query_one(DiffView)
        diff.show_changes([FileChangeSummary(EVIL_NAME, "add", 1, 0, "+x\n")], label="applied")
        await pilot.pause()
        row = str(diff.query_one(OptionList).get_option_at_index(0).prompt)
        assert raw_controls(row) == [] and "<U+202E>" in row, repr(row)


def test_serve_guard_accepts_the_public_url_and_refuses_null_and_lookalike_origins() -> None:
    """Behind a proxy the --public-url origin is the page's own; `Origin: null` (a sandboxed
    frame, a file:// page) and lookalikes (`127.0.0.1.evil`, another port) are refused; on
    0.0.0.0 any Host is let through to the token check."""
    guard = ServeGuard("t" * 43, "127.0.0.1", 8000, "https://code.example.org")
    ok = {"host": "127.0.0.1:8000", "query_token": None, "cookie": "t" * 43}
    assert guard.verdict(origin="https://code.example.org", **ok) == 200
    assert guard.verdict(origin="http://localhost:8000", **ok) == 200
    for origin in ("null", "http://127.0.0.1:8001", "http://127.0.0.1.evil.example:8000", "https://code.example.org.evil"):
        assert guard.verdict(origin=origin, **ok) == 403, origin
    assert guard.verdict(host="code.example.org", origin=None, query_token=None, cookie="t" * 43) == 200
    assert guard.verdict(host="127.0.0.1:8000", origin=None, query_token=None, cookie=None) == 401
    anywhere = ServeGuard("t" * 43, "0.0.0.0", 8000, "http://127.0.0.1:8000")
    assert anywhere.verdict(host="192.168.1.5:8000", origin=None, query_token="t" * 43, cookie=None) == 200



async def test_reasoning_title_is_not_parsed_as_markup(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """A reasoning summary opening with Textual markup (`[link=…]`, an unclosed `[b`) is shown as
    the characters it is: no hyperlink, no markup error ending the app's event pump."""
    ws, _ = workspace(tmp_path)
    summary = "[link='https://evil.example/']docs[/link] [link=https://x.example] [b"
    fake_openai.queue_response(fe.turn(fe.reasoning_item(summary), fe.message_item("ANSWER-SHOWN")))
    app = CodeloopApp(make_session(fake_openai, ws))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*"go", "enter")
        await pilot_until(pilot, lambda: bool(app.query(Collapsible)) and any("ANSWER-SHOWN" in c.text for c in app.query(AnswerCell)))
        title = app.query(Collapsible).last().title
        assert str(title).startswith("thinking: [link='https://evil.example/']docs[/link]"), title
        assert not [span for span in getattr(title, "spans", []) if "link" in str(span.style)]


async def test_the_approval_modal_shows_a_neutralized_copy_that_still_decides() -> None:
    """The approval request the modal shows has its command and reason neutralized (a bidi
    override and a zero-width joiner visible, no ESC), and resolving that copy resolves the
    future the engine awaits."""
    future: asyncio.Future[ev.ReviewDecision] = asyncio.get_running_loop().create_future()
    request = ev.ApprovalRequested(
        call_id="c1", kind="exec", reason="needs\x1b]2;T\x07 network", command=["cu\u200drl", "x\u202e"], future=future
    )
    shown = displayable(request)
    assert shown.command == ["cu<U+200D>rl", "x<U+202E>"] and shown.reason == "needs network"
    assert request.command == ["cu\u200drl", "x\u202e"], "the engine's own request is untouched"
    shown.resolve(ev.ReviewDecision.APPROVED)
    assert future.result() is ev.ReviewDecision.APPROVED
