"""Config loading: defaults < config.toml < profile < -c overrides < CLI flags, and errors that
say where, which key and what is allowed."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import pytest

from tui import cli
from tui.config import (
    ApprovalPolicy,
    Config,
    ConfigError,
    ModelProviderInfo,
    Profile,
    ResolvedConfig,
    SandboxMode,
    SandboxWorkspaceWrite,
    codeloop_home,
    load_config,
    resolve_provider,
)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    return {"CODELOOP_HOME": str(home)}


def write_config(home: Path, text: str) -> Path:
    path = home / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load(env: dict[str, str], *argv: str) -> ResolvedConfig:
    """Parse argv with the real CLI parser, so attribute names stay in step with cli.py."""
    return load_config(cli.build_parser().parse_args(list(argv)), env=env)


def load_error(env: dict[str, str], *argv: str) -> str:
    with pytest.raises(ConfigError) as info:
        load(env, *argv)
    return str(info.value)


# --- defaults and the file ------------------------------------------------------------------


def test_missing_file_means_defaults(env: dict[str, str], home: Path) -> None:
    rc = load(env)
    assert rc.config_file is None
    assert rc.home == home.resolve()
    assert rc.instructions is None
    c = rc.config
    assert (c.model, c.model_provider) == ("gpt-5.3-codex", "openai")
    assert (c.approval_policy, c.sandbox_mode) == ("untrusted", "workspace-write")
    assert c.sandbox_workspace_write == SandboxWorkspaceWrite()
    assert c.sandbox_workspace_write.writable_roots == []
    assert (c.project_doc_max_bytes, c.tool_output_token_limit) == (32768, 10_000)
    assert c.apply_patch_tool_type is None and c.parallel_tool_calls is True
    assert c.model_reasoning_effort is None and c.profile is None


def test_load_config_without_args_uses_the_process_cwd(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_config(env=env).cwd == tmp_path.resolve()


def test_home_is_codeloop_home_env_else_dot_codeloop(tmp_path: Path) -> None:
    assert codeloop_home({"CODELOOP_HOME": str(tmp_path)}) == tmp_path.resolve()
    assert codeloop_home({"HOME": str(tmp_path)}) == tmp_path / ".codeloop"


def test_every_key_is_read_from_the_file(env: dict[str, str], home: Path) -> None:
    (home / "notes.md").write_text("be brief", encoding="utf-8")
    path = write_config(
        home,
        """
model = "o3"
model_provider = "local"
model_context_window = 200000
model_auto_compact_token_limit = 150000
model_reasoning_effort = "high"
model_reasoning_summary = "detailed"
approval_policy = "on-failure"
sandbox_mode = "read-only"
developer_instructions = "Use tabs."
instructions_file = "notes.md"
project_doc_max_bytes = 0
tool_output_token_limit = 2000
apply_patch_tool_type = "function"
parallel_tool_calls = false

[sandbox_workspace_write]
writable_roots = ["/opt/cache"]
network_access = true

[model_providers.local]
name = "Ollama"
base_url = "http://localhost:11434/v1"
wire_api = "chat"
query_params = { "api-version" = "2025-01-01" }
http_headers = { "X-Team" = "core" }
stream_max_retries = 0
request_max_retries = 1
stream_idle_timeout_ms = 1000
""",
    )
    rc = load(env)
    c = rc.config
    assert rc.config_file == path
    assert (c.model, c.model_provider) == ("o3", "local")
    assert (c.model_context_window, c.model_auto_compact_token_limit) == (200000, 150000)
    assert (c.model_reasoning_effort, c.model_reasoning_summary) == ("high", "detailed")
    assert (c.approval_policy, c.sandbox_mode) == ("on-failure", "read-only")
    assert c.developer_instructions == "Use tabs."
    assert c.instructions_file == home / "notes.md" and rc.instructions == "be brief"
    assert (c.project_doc_max_bytes, c.tool_output_token_limit) == (0, 2000)
    assert c.apply_patch_tool_type == "function" and c.parallel_tool_calls is False
    assert c.sandbox_workspace_write.writable_roots == [Path("/opt/cache")]
    assert c.sandbox_workspace_write.network_access is True
    assert c.model_providers["local"] == ModelProviderInfo(
        name="Ollama",
        base_url="http://localhost:11434/v1",
        wire_api="chat",
        query_params={"api-version": "2025-01-01"},
        http_headers={"X-Team": "core"},
        stream_max_retries=0,
        request_max_retries=1,
        stream_idle_timeout_ms=1000,
    )


@pytest.mark.parametrize("model", [Config, Profile, ModelProviderInfo, SandboxWorkspaceWrite])
def test_every_config_field_has_a_description(model: type[Config]) -> None:
    undocumented = [name for name, f in model.model_fields.items() if not f.description]
    assert undocumented == []


def test_cli_choices_match_the_config_literals() -> None:
    # cli.py cannot import pydantic (start path stays light), so it keeps its own tuples.
    assert cli.APPROVAL_POLICIES == get_args(ApprovalPolicy)
    assert cli.SANDBOX_MODES == get_args(SandboxMode)


def test_relative_writable_roots_are_anchored_at_the_config_folder(
    env: dict[str, str], home: Path
) -> None:
    write_config(home, '[sandbox_workspace_write]\nwritable_roots = ["cache", "/abs"]\n')
    roots = load(env).config.sandbox_workspace_write.writable_roots
    assert roots == [home / "cache", Path("/abs")]


# --- profiles ---------------------------------------------------------------------------------

PROFILES = """
model = "gpt-5.3-codex"
approval_policy = "on-request"

[profiles.fast]
model = "gpt-5-mini"
model_reasoning_effort = "low"

[profiles.careful]
model_reasoning_effort = "xhigh"
approval_policy = "untrusted"
"""


def test_profile_flag_overrides_the_file(env: dict[str, str], home: Path) -> None:
    write_config(home, PROFILES)
    c = load(env, "-p", "fast").config
    assert (c.model, c.model_reasoning_effort) == ("gpt-5-mini", "low")
    assert c.approval_policy == "on-request"  # not in the profile: the file's value stays
    assert c.profile == "fast"


def test_profile_key_in_the_file_selects_a_profile(env: dict[str, str], home: Path) -> None:
    write_config(home, 'profile = "careful"\n' + PROFILES)
    c = load(env).config
    assert (c.model_reasoning_effort, c.approval_policy) == ("xhigh", "untrusted")


def test_profile_flag_beats_the_profile_key(env: dict[str, str], home: Path) -> None:
    write_config(home, 'profile = "careful"\n' + PROFILES)
    assert load(env, "-p", "fast").config.model_reasoning_effort == "low"


def test_profile_can_be_picked_with_a_c_override(env: dict[str, str], home: Path) -> None:
    write_config(home, PROFILES)
    assert load(env, "-c", "profile=fast").config.model == "gpt-5-mini"


def test_unknown_profile_lists_the_known_ones(env: dict[str, str], home: Path) -> None:
    write_config(home, PROFILES)
    message = load_error(env, "-p", "fsat")
    assert "command line" in message and "'fsat'" in message
    assert "'careful', 'fast'" in message


def test_unknown_profile_named_in_the_file_names_the_file(env: dict[str, str], home: Path) -> None:
    path = write_config(home, 'profile = "nope"\n')
    message = load_error(env)
    assert str(path) in message and "unknown profile 'nope'" in message
    assert "none are defined" in message


# --- -c overrides ---------------------------------------------------------------------------


def test_c_override_beats_the_profile_and_the_file(env: dict[str, str], home: Path) -> None:
    write_config(home, PROFILES)
    c = load(env, "-p", "fast", "-c", "model=o3", "-c", "approval_policy=never").config
    assert (c.model, c.approval_policy, c.model_reasoning_effort) == ("o3", "never", "low")


def test_c_dotted_key_sets_one_nested_value(env: dict[str, str], home: Path) -> None:
    write_config(home, '[sandbox_workspace_write]\nwritable_roots = ["/a"]\n')
    rc = load(env, "-c", "sandbox_workspace_write.network_access=true")
    sww = rc.config.sandbox_workspace_write
    assert sww.network_access is True
    assert sww.writable_roots == [Path("/a")]  # the sibling from the file survives


def test_c_values_are_parsed_as_toml(env: dict[str, str]) -> None:
    c = load(
        env,
        "-c", "model_context_window=128000",
        "-c", "parallel_tool_calls=false",
        "-c", 'sandbox_workspace_write.writable_roots=["/x", "/y"]',
        "-c", 'developer_instructions="quoted = string"',
    ).config  # fmt: skip
    assert c.model_context_window == 128000
    assert c.parallel_tool_calls is False
    assert c.sandbox_workspace_write.writable_roots == [Path("/x"), Path("/y")]
    assert c.developer_instructions == "quoted = string"


def test_c_bare_word_is_taken_as_a_string(env: dict[str, str]) -> None:
    c = load(env, "-c", "model_reasoning_effort=high", "-c", "model=gpt-4.1").config
    assert (c.model_reasoning_effort, c.model) == ("high", "gpt-4.1")


def test_c_value_cannot_smuggle_in_a_second_key(env: dict[str, str]) -> None:
    c = load(env, "-c", 'developer_instructions="a"\nmodel = "evil"').config
    assert c.model == "gpt-5.3-codex"
    assert c.developer_instructions == '"a"\nmodel = "evil"'


def test_c_can_define_a_provider_table(env: dict[str, str]) -> None:
    rc = load(
        env,
        "-c", 'model_providers.local.base_url="http://localhost:11434/v1"',
        "-c", "model_providers.local.wire_api=chat",
        "-c", "model_provider=local",
    )  # fmt: skip
    info = rc.config.model_providers["local"]
    assert (info.base_url, info.wire_api) == ("http://localhost:11434/v1", "chat")
    assert "openai" in rc.config.model_providers


def test_c_without_equals_is_an_error(env: dict[str, str]) -> None:
    message = load_error(env, "-c", "model")
    assert "-c override" in message and "'model' is not KEY=VALUE" in message


def test_c_unknown_key_suggests_the_closest(env: dict[str, str]) -> None:
    message = load_error(env, "-c", "model_reasoning_efort=high")
    assert "unknown key 'model_reasoning_efort' in -c override" in message
    assert "did you mean 'model_reasoning_effort'?" in message


def test_c_bad_value_is_blamed_on_the_override_not_the_file(
    env: dict[str, str], home: Path
) -> None:
    path = write_config(home, 'model = "o3"\n')
    message = load_error(env, "-c", "sandbox_mode=open")
    assert message.startswith("-c override: sandbox_mode: 'open' is not one of")
    assert str(path) not in message


def test_c_relative_instructions_file_is_anchored_at_the_cwd(
    env: dict[str, str], tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "prompt.md").write_text("from cwd", encoding="utf-8")
    rc = load(env, "-C", str(work), "-c", "instructions_file=prompt.md")
    assert rc.instructions == "from cwd"


# --- CLI flags ------------------------------------------------------------------------------


def test_cli_flags_beat_c_overrides_and_profiles(env: dict[str, str], home: Path) -> None:
    write_config(home, PROFILES)
    argv = ["-p", "fast", "-c", "model=o3", "-c", "sandbox_mode=read-only"]
    c = load(env, *argv, "-m", "gpt-5", "-a", "never", "-s", "danger-full-access").config
    assert (c.model, c.approval_policy, c.sandbox_mode) == ("gpt-5", "never", "danger-full-access")


def test_flags_given_to_the_exec_subcommand_apply(env: dict[str, str]) -> None:
    assert load(env, "exec", "-m", "o3", "do it").config.model == "o3"


def test_full_auto_means_on_request_in_workspace_write(env: dict[str, str], home: Path) -> None:
    write_config(home, 'approval_policy = "never"\nsandbox_mode = "read-only"\n')
    c = load(env, "--full-auto").config
    assert (c.approval_policy, c.sandbox_mode) == ("on-request", "workspace-write")


def test_yolo_means_never_without_a_sandbox(env: dict[str, str]) -> None:
    c = load(env, "--yolo").config
    assert (c.approval_policy, c.sandbox_mode) == ("never", "danger-full-access")


def test_full_auto_agrees_with_a_matching_flag(env: dict[str, str]) -> None:
    c = load(env, "--full-auto", "-a", "on-request", "-s", "workspace-write").config
    assert c.approval_policy == "on-request"


def test_full_auto_with_yolo_is_an_error(env: dict[str, str]) -> None:
    message = load_error(env, "--full-auto", "--yolo")
    assert "command line" in message and "--full-auto and --yolo" in message


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--full-auto", "-a", "never"], "conflicts with -a never"),
        (["--full-auto", "-s", "read-only"], "conflicts with -s read-only"),
        (["--yolo", "-a", "untrusted"], "conflicts with -a untrusted"),
    ],
)
def test_shorthand_with_a_conflicting_flag_is_an_error(
    env: dict[str, str], argv: list[str], needle: str
) -> None:
    message = load_error(env, *argv)
    assert message.startswith("command line:") and needle in message


# --- -C ---------------------------------------------------------------------------------------


def test_cd_sets_a_resolved_cwd(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    rc = load(env, "-C", str(tmp_path / "proj" / ".." / "proj"))
    assert rc.cwd == (tmp_path / "proj").resolve()


def test_cd_to_a_missing_directory_is_an_error(env: dict[str, str], tmp_path: Path) -> None:
    message = load_error(env, "-C", str(tmp_path / "nope"))
    assert "-C/--cd" in message and "no such directory" in message


def test_cd_to_a_file_is_an_error(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "f").write_text("", encoding="utf-8")
    assert "not a directory" in load_error(env, "-C", str(tmp_path / "f"))


# --- file errors ----------------------------------------------------------------------------


def test_unreadable_file_is_an_error(
    env: dict[str, str], home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(home, 'model = "o3"\n')
    # chmod 000 is no use under root (CI), so the refusal is simulated at the read.
    real_read_text = Path.read_text

    def refuse(self: Path, *args: Any, **kwargs: Any) -> str:
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", refuse)
    message = load_error(env)
    assert message == f"{path}: cannot read config file: Permission denied"


def test_config_path_that_is_a_directory_is_an_error(env: dict[str, str], home: Path) -> None:
    (home / "config.toml").mkdir()
    message = load_error(env)
    assert str(home / "config.toml") in message and "cannot read" in message


def test_invalid_toml_gives_line_and_column(env: dict[str, str], home: Path) -> None:
    path = write_config(home, 'model = "o3"\napproval_policy = \n')
    message = load_error(env)
    assert str(path) in message and "invalid TOML" in message and "line 2, column" in message


def test_unknown_key_names_the_file_and_suggests_the_closest(
    env: dict[str, str], home: Path
) -> None:
    path = write_config(home, 'modle = "o3"\n')
    message = load_error(env)
    assert f"unknown key 'modle' in {path}" in message
    assert "did you mean 'model'?" in message
    assert "known keys: " in message and "sandbox_mode" in message


def test_unknown_nested_key_lists_the_keys_of_its_table(env: dict[str, str], home: Path) -> None:
    write_config(home, '[model_providers.local]\nbse_url = "http://x"\n')
    message = load_error(env)
    assert "unknown key 'model_providers.local.bse_url'" in message
    assert "did you mean 'base_url'?" in message and "wire_api" in message
    assert "sandbox_mode" not in message  # top-level keys don't belong to this table


def test_unknown_key_in_a_profile_is_an_error(env: dict[str, str], home: Path) -> None:
    write_config(home, '[profiles.fast]\nsandbox_workspace_write = {}\n')
    message = load_error(env)
    assert "unknown key 'profiles.fast.sandbox_workspace_write'" in message
    assert "known keys: " in message and "sandbox_mode" in message


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        (
            'approval_policy = "sometimes"',
            "approval_policy: 'sometimes' is not one of "
            "'untrusted', 'on-request', 'on-failure', 'never'",
        ),
        (
            '[profiles.x]\nmodel_reasoning_effort = "max"',
            "profiles.x.model_reasoning_effort: 'max' is not one of 'none', 'minimal'",
        ),
        ("model_context_window = 0", "model_context_window: must be greater than 0, got 0"),
        ("project_doc_max_bytes = -1", "project_doc_max_bytes: must be at least 0, got -1"),
        ("model = 5", "model: expected a string, got 5"),
        ("tool_output_token_limit = 1.5", "tool_output_token_limit: expected an integer, got 1.5"),
        (
            '[sandbox_workspace_write]\nnetwork_access = "yes"',
            "sandbox_workspace_write.network_access: expected true or false, got 'yes'",
        ),
        ("sandbox_workspace_write = 5", "sandbox_workspace_write: expected a table, got 5"),
        (
            "[sandbox_workspace_write]\nwritable_roots = [1]",
            "sandbox_workspace_write.writable_roots[0]: expected a path",
        ),
        (
            '[model_providers.p]\nwire_api = "grpc"',
            "model_providers.p.wire_api: 'grpc' is not one of 'responses', 'chat'",
        ),
        (
            "[model_providers.p]\nstream_max_retries = -1",
            "model_providers.p.stream_max_retries: must be at least 0",
        ),
    ],
)
def test_bad_value_names_the_file_the_key_and_what_is_allowed(
    env: dict[str, str], home: Path, toml: str, needle: str
) -> None:
    path = write_config(home, toml + "\n")
    message = load_error(env)
    assert message.startswith(f"{path}: ")
    assert needle in message
    assert "pydantic" not in message and "\n" not in message


def test_several_problems_are_counted_not_dumped(env: dict[str, str], home: Path) -> None:
    write_config(home, 'model = 1\nsandbox_mode = "x"\nmodel_context_window = 0\n')
    assert load_error(env).endswith("(and 2 more problems)")


# --- instructions_file ------------------------------------------------------------------------


def test_instructions_file_is_relative_to_the_config_folder(
    env: dict[str, str], home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a cwd-relative lookup would miss the file
    (home / "prompts").mkdir()
    (home / "prompts" / "base.md").write_text("You are terse.", encoding="utf-8")
    write_config(home, 'instructions_file = "prompts/base.md"\n')
    rc = load(env)
    assert rc.config.instructions_file == home / "prompts" / "base.md"
    assert rc.instructions == "You are terse."


def test_missing_instructions_file_is_an_error(env: dict[str, str], home: Path) -> None:
    path = write_config(home, 'instructions_file = "gone.md"\n')
    message = load_error(env)
    assert message.startswith(f"{path}: instructions_file: cannot read")
    assert str(home / "gone.md") in message


# --- providers --------------------------------------------------------------------------------


def test_builtin_openai_provider_is_always_there(env: dict[str, str]) -> None:
    rc = load(env)
    settings = resolve_provider(rc, {"OPENAI_API_KEY": "sk-test"})
    assert (settings.id, settings.base_url) == ("openai", "https://api.openai.com/v1")
    assert (settings.api_key, settings.wire_api) == ("sk-test", "responses")
    assert settings.info.env_key == "OPENAI_API_KEY"


def test_openai_base_url_env_overrides_the_builtin_url(env: dict[str, str]) -> None:
    rc = load_config(env={**env, "OPENAI_BASE_URL": "http://proxy/v1"})
    assert resolve_provider(rc, {"OPENAI_API_KEY": "k"}).base_url == "http://proxy/v1"


def test_user_openai_table_is_layered_over_the_builtin(env: dict[str, str], home: Path) -> None:
    write_config(home, '[model_providers.openai]\nhttp_headers = { "OpenAI-Organization" = "o" }\n')
    settings = resolve_provider(load(env), {"OPENAI_API_KEY": "k"})
    assert settings.base_url == "https://api.openai.com/v1"
    assert settings.info.http_headers == {"OpenAI-Organization": "o"}


@pytest.mark.parametrize("provider_env", [{}, {"OPENAI_API_KEY": "  "}])
def test_missing_api_key_names_the_variable_and_the_provider(
    env: dict[str, str], provider_env: dict[str, str]
) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_provider(load(env), provider_env)
    message = str(info.value)
    assert "OPENAI_API_KEY is not set" in message and "'openai'" in message
    assert "-c model_provider=" in message
    # The three ways on: set the key, the demo (no key), a Chat Completions server.
    assert "export OPENAI_API_KEY=" in message and "codeloop --demo" in message
    assert 'wire_api = "chat"' in message and "base_url" in message


def test_custom_provider_reads_its_own_env_key(env: dict[str, str], home: Path) -> None:
    write_config(
        home,
        'model_provider = "azure"\n[model_providers.azure]\n'
        'base_url = "https://x.azure.com/openai"\nenv_key = "AZURE_KEY"\n',
    )
    assert resolve_provider(load(env), {"AZURE_KEY": "az"}).api_key == "az"


def test_provider_without_env_key_gets_a_placeholder_key(env: dict[str, str]) -> None:
    rc = load(
        env,
        "-c", 'model_providers.ollama.base_url="http://localhost:11434/v1"',
        "-c", "model_provider=ollama",
    )  # fmt: skip
    settings = resolve_provider(rc, {})
    assert (settings.id, settings.api_key) == ("ollama", "unused")


def test_custom_provider_without_base_url_is_an_error(env: dict[str, str]) -> None:
    rc = load(env, "-c", "model_providers.local.wire_api=chat", "-c", "model_provider=local")
    with pytest.raises(ConfigError, match=r"model_providers\.local\.base_url is not set"):
        resolve_provider(rc, {})


def test_unknown_model_provider_lists_the_known_ones(env: dict[str, str]) -> None:
    rc = load(env, "-c", "model_provider=olama")
    with pytest.raises(ConfigError) as info:
        resolve_provider(rc, {"OPENAI_API_KEY": "k"})
    assert "'olama' is not a known provider" in str(info.value)
    assert "known providers: 'openai'" in str(info.value)
