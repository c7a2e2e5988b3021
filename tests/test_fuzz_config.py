"""Property tests of config.toml and -c overrides: any config loads or says what is wrong.

Shared settings and strategies: tests/fuzz_support.py."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from tests.fuzz_support import FUZZ, fixed
from tui.config import ConfigError, ResolvedConfig, load_config

# ---------------------------------------------------------------------------------------- config
#
# Whatever config.toml holds and whatever `-c` says, load_config gives a valid config or a
# ConfigError that names the problem: never a traceback.


def _config_fields(model: type[Any] | None = None, prefix: str = "") -> dict[str, Any]:
    """Every key of the config with its type; tables of user-named entries get a sample name."""
    from pydantic import BaseModel

    from tui.config import Config
    from tui.config_errors import unwrap

    out: dict[str, Any] = {}
    for name, field in (model or Config).model_fields.items():
        key = f"{prefix}{name}"
        tp = out[key] = unwrap(field.annotation)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            out.update(_config_fields(tp, key + "."))
        elif getattr(tp, "__origin__", None) is dict:
            value = unwrap(tp.__args__[1])
            if isinstance(value, type) and issubclass(value, BaseModel):
                out.update(_config_fields(value, f"{key}.p."))
            else:
                out[f"{key}.p"] = value
    return out


def _plausible(tp: Any) -> st.SearchStrategy[str]:
    """TOML text of a value that the key's type would likely accept."""
    from typing import Literal, get_args, get_origin

    if get_origin(tp) is Literal:
        return st.sampled_from(get_args(tp)).map(json.dumps)
    if tp is bool:
        return st.sampled_from(["true", "false"])
    if tp is int:
        return st.integers(1, 10**6).map(str)
    if tp is float:
        return st.floats(0, 100).map(repr)
    if tp is Path:
        return st.sampled_from(['"config.toml"', '"."', '"sub/dir"', '"/tmp"'])
    if get_origin(tp) is list:
        return st.lists(_plausible(get_args(tp)[0]), max_size=2).map(lambda xs: f"[{', '.join(xs)}]")
    if tp is str:
        return st.sampled_from(["p", "x", "m"]).map(json.dumps) | st.text(max_size=8).map(json.dumps)
    return st.just("{}")


_FIELDS = _config_fields()
_plausible_line = st.sampled_from(sorted(_FIELDS)).flatmap(
    lambda key: _plausible(_FIELDS[key]).map(lambda value: f"{key} = {value}")
)


_toml_scalar = st.one_of(
    st.text(max_size=10).map(json.dumps),
    st.integers(-(2**70), 2**70).map(str),
    st.floats().map(lambda f: "nan" if f != f else "inf" if f == float("inf") else "-inf" if f == -float("inf") else repr(f)),
    st.sampled_from(["true", "false", '"never"', '"high"', '"chat"', '"danger-full-access"', '"."', '"sub/dir"', '"x"']),
)
_toml_value = st.recursive(
    _toml_scalar,
    lambda inner: st.lists(inner, max_size=3).map(lambda xs: f"[{', '.join(xs)}]")
    | st.lists(st.tuples(st.sampled_from(["a", "model", "base_url", "input", "x"]), inner), max_size=3).map(
        lambda kvs: "{" + ", ".join(f"{k} = {v}" for k, v in dict(kvs).items()) + "}"
    ),
    max_leaves=6,
)
_key = st.sampled_from(sorted(_FIELDS)) | st.text(max_size=8)
_toml_line = st.one_of(
    _plausible_line,
    _plausible_line,
    st.builds("{} = {}".format, _key, _toml_value),
    _key.map("[{}]".format),
    st.text(max_size=20),
)
_config_text = st.one_of(st.lists(_toml_line, max_size=6).map("\n".join), st.binary(max_size=40).map(lambda b: b.decode("latin-1")))
_override = _plausible_line.map(lambda line: line.replace(" = ", "=", 1)) | st.one_of(
    st.builds("{}={}".format, _key, _toml_value | st.text(max_size=10)), st.text(max_size=12)
)
_flags = st.fixed_dictionaries(
    {},
    optional={
        "model": st.text(max_size=6),
        "approval_policy": st.sampled_from(["never", "untrusted", "sometimes"]),
        "sandbox_mode": st.sampled_from(["read-only", "danger-full-access", "nope"]),
        "full_auto": st.booleans(),
        "yolo": st.booleans(),
        "profile": st.sampled_from(["x", "p"]) | st.text(max_size=4),
        "theme": st.text(max_size=6),
    },
)
_CONFIG_BUGS = {
    "tilde-user-in-a-path": (
        ('instructions_file = "~nosuchuser/x"\n', []),
        "anchor_paths: Path('~nosuchuser/x').expanduser() raises RuntimeError",
    ),
    "tilde-user-in-writable-roots": (
        ("", ['sandbox_workspace_write.writable_roots=["~0"]']),
        "anchor_paths: Path('~0').expanduser() raises RuntimeError",
    ),
    "nul-in-instructions-file": (
        ("", ['instructions_file="a\\u0000b"']),
        "load_config: read_text of a path with a NUL raises ValueError (catches OSError, UnicodeDecodeError)",
    ),
}


@pytest.fixture(scope="module")
def config_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("codeloop_home")


def load(home: Path, text: str, overrides: list[str], flags: dict[str, Any] | None = None) -> ResolvedConfig | ConfigError:
    (home / "config.toml").write_text(text, encoding="utf-8", errors="surrogateescape")
    args = argparse.Namespace(config=overrides, **(flags or {}))
    try:
        return load_config(args, env={"CODELOOP_HOME": str(home), "HOME": str(home)})
    except ConfigError as e:
        return e


@FUZZ
@given(text=_config_text, overrides=st.lists(_override, max_size=3), flags=_flags)
@example(text='model = "m"\n[profiles.p]\nmodel = "n"\n', overrides=["profile=p"], flags={})
def test_any_config_loads_or_says_what_is_wrong(config_home: Path, text: str, overrides: list[str], flags: dict[str, Any]) -> None:
    loaded = load(config_home, text, overrides, flags)
    if isinstance(loaded, ConfigError):
        assert str(loaded), "an empty message"
        event("ConfigError")
    else:
        assert isinstance(loaded, ResolvedConfig)
        event("loaded")


@pytest.mark.parametrize("case", fixed(_CONFIG_BUGS))
def test_known_bad_config_says_what_is_wrong(config_home: Path, case: tuple[str, list[str]]) -> None:
    text, overrides = case
    assert isinstance(load(config_home, text, overrides), ConfigError | ResolvedConfig)
