"""`codeloop mcp add|list|get|remove` through the installed `codeloop` entry point, each run with
its own HOME and CODELOOP_HOME: what it writes to config.toml, and what it keeps."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

CODELOOP = Path(sys.executable).with_name("codeloop")

HAND_WRITTEN = """\
# my codeloop config
model = "gpt-5.4"   # the best one

# servers below
[mcp_servers.alpha]
command = "npx"  # keep me
args = ["-y", "alpha"]

[tui]
theme = "codeloop-dark"
"""


def codeloop(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CODELOOP_"))}
    base.update({"HOME": str(home), "CODELOOP_HOME": str(home / ".codeloop"), **env})
    return subprocess.run([str(CODELOOP), *args], env=base, capture_output=True, text=True, timeout=60, cwd=home)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / ".codeloop").mkdir()
    (tmp_path / ".codeloop" / "config.toml").write_text(HAND_WRITTEN)
    return tmp_path


def config_text(home: Path) -> str:
    return (home / ".codeloop" / "config.toml").read_text()


def test_add_keeps_the_users_comments_and_layout_and_writes_a_private_file(home: Path) -> None:
    run = codeloop(home, "mcp", "add", "beta", "--env", "API_KEY=s3cret", "--env", "X=1", "--", "python3", "-m", "srv", "--", "--flag")
    assert run.returncode == 0, run.stderr
    assert run.stdout == f"Added MCP server 'beta' in {home / '.codeloop' / 'config.toml'}.\n"
    head, tail = HAND_WRITTEN.split("[tui]\n")
    assert config_text(home) == (
        head
        + '[mcp_servers.beta]\ncommand = "python3"\nargs = ["-m", "srv", "--", "--flag"]\n'
        + 'env = {API_KEY = "s3cret", X = "1"}\n\n[tui]\n'
        + tail
    )
    assert stat.S_IMODE((home / ".codeloop" / "config.toml").stat().st_mode) == 0o600
    assert sorted(p.name for p in (home / ".codeloop").iterdir()) == ["config.toml"], "no temporary file left"


def test_remove_takes_only_that_table_and_add_on_a_fresh_home_makes_the_file(home: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    run = codeloop(home, "mcp", "remove", "alpha")
    assert run.returncode == 0, run.stderr
    assert config_text(home) == '# my codeloop config\nmodel = "gpt-5.4"   # the best one\n\n# servers below\n[tui]\ntheme = "codeloop-dark"\n'
    fresh = tmp_path_factory.mktemp("fresh")
    assert codeloop(fresh, "mcp", "add", "far", "--url", "https://mcp.example.com/mcp").returncode == 0
    assert tomllib.loads(config_text(fresh)) == {"mcp_servers": {"far": {"url": "https://mcp.example.com/mcp"}}}
    assert stat.S_IMODE((fresh / ".codeloop").stat().st_mode) == 0o700


def test_adding_an_existing_name_replaces_it_as_codex_does_and_says_so(home: Path) -> None:
    run = codeloop(home, "mcp", "add", "alpha", "--", "uvx", "alpha-server")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("Replaced the MCP server 'alpha' in ")
    assert config_text(home) == HAND_WRITTEN.replace(
        'command = "npx"  # keep me\nargs = ["-y", "alpha"]', 'command = "uvx"\nargs = ["alpha-server"]'
    )


def test_list_and_get_show_entries_with_their_secrets_hidden(home: Path) -> None:
    codeloop(home, "mcp", "add", "beta", "--env", "API_KEY=s3cret-value", "--", "python3", "srv.py")
    codeloop(home, "mcp", "add", "far", "--url", "https://mcp.example.com/mcp", "--bearer-token-env-var", "FAR_TOKEN")
    listed = codeloop(home, "mcp", "list", FAR_TOKEN="tok-live-123456789")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        "Name   Transport  Command or URL               Env / Bearer token var  Status",
        "alpha  stdio      npx -y alpha                 -                       enabled",
        "beta   stdio      python3 srv.py               API_KEY=*****           enabled",
        "far    http       https://mcp.example.com/mcp  FAR_TOKEN               enabled",
    ]
    as_json = json.loads(codeloop(home, "mcp", "list", "--json").stdout)
    assert [s["name"] for s in as_json] == ["alpha", "beta", "far"]
    assert as_json[1]["transport"] == {"type": "stdio", "command": "python3", "args": ["srv.py"], "env": {"API_KEY": "*****"}, "cwd": None}
    got = json.loads(codeloop(home, "mcp", "get", "far", "--json").stdout)
    assert got["transport"] == {
        "type": "streamable_http", "url": "https://mcp.example.com/mcp", "bearer_token_env_var": "FAR_TOKEN",
        "http_headers": {}, "env_http_headers": {},
    }  # fmt: skip
    text = codeloop(home, "mcp", "get", "beta", FAR_TOKEN="tok-live-123456789").stdout
    assert "  env: API_KEY=*****\n" in text and "  remove: codeloop mcp remove beta\n" in text
    everything = listed.stdout + json.dumps(as_json) + json.dumps(got) + text
    assert "s3cret-value" not in everything and "tok-live-123456789" not in everything


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "my server", "--", "x"], "codeloop: invalid server name 'my server': use only letters, digits, '_' and '-'"),
        (["add", "a.b", "--url", "https://x"], "codeloop: invalid server name 'a.b'"),
        (["add", "x", "--url", "ftp://x"], "codeloop: mcp_servers.x: `url` must start with http:// or https://"),
        (["add", "x", "--env", "NOEQUALS", "--", "y"], "codeloop: --env takes KEY=VALUE, got 'NOEQUALS'"),
        (["add", "x"], "codeloop: say how to reach the server: `-- COMMAND [ARGS...]` or --url URL"),
        (["add", "x", "--url", "https://x", "--", "y"], "codeloop: give either --url or `-- COMMAND` (with --env), not both"),
        (["remove", "ghost"], "codeloop: no MCP server named 'ghost' in "),
        (["get", "ghost"], "codeloop: no MCP server named 'ghost'; `codeloop mcp list` shows the configured ones"),
    ],
)
def test_bad_input_is_refused_clearly_and_the_file_is_untouched(home: Path, args: list[str], message: str) -> None:
    before = (home / ".codeloop" / "config.toml").stat()
    run = codeloop(home, "mcp", *args)
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.startswith(message), run.stderr
    assert config_text(home) == HAND_WRITTEN
    assert (home / ".codeloop" / "config.toml").stat().st_mtime_ns == before.st_mtime_ns


def test_a_config_that_does_not_parse_is_refused_with_the_parse_error(home: Path) -> None:
    broken = HAND_WRITTEN + "oops = [\n"
    (home / ".codeloop" / "config.toml").write_text(broken)
    for args in (["add", "x", "--", "y"], ["remove", "alpha"]):
        run = codeloop(home, "mcp", *args)
        assert run.returncode == 1
        assert "config.toml: invalid TOML: " in run.stderr and "nothing changed" in run.stderr, run.stderr
        assert config_text(home) == broken


def test_a_symlinked_config_stays_a_link_to_the_edited_file(home: Path) -> None:
    real = home / "dotfiles" / "codeloop.toml"
    real.parent.mkdir()
    (home / ".codeloop" / "config.toml").rename(real)
    (home / ".codeloop" / "config.toml").symlink_to(real)
    assert codeloop(home, "mcp", "remove", "alpha").returncode == 0
    assert (home / ".codeloop" / "config.toml").is_symlink()
    assert "alpha" not in real.read_text() and "# servers below" in real.read_text()


def test_mcp_help_has_a_line_per_subcommand(tmp_path: Path) -> None:
    run = codeloop(tmp_path, "mcp", "--help")
    assert run.returncode == 0
    summaries = {line.split()[0]: " ".join(line.split()[1:]) for line in run.stdout.splitlines() if line.startswith("    ")}
    assert set(summaries) == {"add", "list", "get", "remove"} and all(summaries.values()), summaries


def test_get_shows_the_approval_settings(home: Path) -> None:
    (home / ".codeloop" / "config.toml").write_text(
        '[mcp_servers.docs]\ncommand = "npx"\ndefault_tools_approval_mode = "prompt"\n'
        '[mcp_servers.docs.tools.search]\napproval_mode = "approve"\n'
        '[mcp_servers.docs.tools."odd\\u001b]0;x\\u0007name"]\napproval_mode = "auto"\n',
        encoding="utf-8",
    )
    shown = codeloop(home, "mcp", "get", "docs")
    assert shown.returncode == 0, shown.stderr
    assert "  default_tools_approval_mode: prompt" in shown.stdout
    assert "  tools.search.approval_mode: approve" in shown.stdout
    assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout and '"odd\\u001b]0;x\\u0007name"' in shown.stdout
    got = json.loads(codeloop(home, "mcp", "get", "docs", "--json").stdout)
    assert got["default_tools_approval_mode"] == "prompt"
    assert got["tools"]["search"] == {"approval_mode": "approve"}
