"""Private data: what a hostile model, repository, MCP server or provider must not get out of
codeloop (secrets from the environment, the profile, the workspace), must not make the terminal do
(control sequences), and what other users and web pages must not reach (serve, $CODELOOP_HOME).

Every attack goes through the real `codeloop exec` (tests/exec_support.py `attack`) with real
bubblewrap where a command runs, unless it is about the app or serve."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.exec_support import attack, patch, run_exec, shell
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tests.leaks_support import (
    CREDENTIAL, FULL_AUTO, HOSTILE, all_cmdlines, attack_while, raw_controls, tmux_buffers, tmux_format, workspace,
)  # fmt: skip
from tests.tmux_driver import TmuxDriver, require_tmux
from tui.safety.terminal_text import neutralize

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
    assert text in [e.get("last_agent_message") for e in map(json.loads, proc.stdout.splitlines())]


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
