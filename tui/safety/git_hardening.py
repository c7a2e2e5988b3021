"""Git with every repository-configured program switched off: the one builder of git argv/env.

A repository is untrusted (DESIGN.md, trust boundaries): its `.git/config` — or a bare or nested
repository shipped inside the workspace, or a file it `include.path`s — can name programs that
git runs on its own: `core.fsmonitor` on every index refresh, `diff.external` and
`diff.<driver>.command`/`textconv` when diffing, `filter.<driver>.clean` when `git status` or
`git diff` rehashes a file `.gitattributes` points at that driver, hooks, pagers, `gpg.program`
for `log --show-signature`, transports (`ext::`, `core.sshCommand`, credential helpers) when a
partial clone fetches a missing object lazily.

Two kinds of git run here, both through this module:

- codeloop's own (`/diff`, undo snapshots, the status-line branch, the `@` file index) run
  outside any sandbox, so every executing key is overridden: the static ones below, plus an
  empty value for every `filter.*` driver the repository's own config defines (git skips a
  filter whose command is empty; measured on git 2.39), and the callers pass `--no-ext-diff
  --no-textconv` where they diff;
- the model's known-safe git runs with the same environment; what we cannot switch off from
  the environment (`diff.external`, `diff.<driver>.command` and `textconv`, which only a
  command-line flag disables) makes the command not known-safe: it asks.

Config from the user's own files (system, global) is trusted: only the repository's scopes
(`local`, `worktree`, and what they include) are judged.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Overrides given on git's command line (via GIT_CONFIG_COUNT), which beat every config file.
STATIC_OVERRIDES: tuple[tuple[str, str], ...] = (
    ("core.fsmonitor", "false"),
    ("core.hooksPath", "/dev/null"),
    ("core.pager", "cat"),
    ("core.sshCommand", "false"),
    ("core.askPass", "false"),
    ("credential.helper", ""),  # an empty value resets the list of helpers
    ("gpg.program", "false"),
    ("gpg.openpgp.program", "false"),
    ("gpg.x509.program", "false"),
    ("gpg.ssh.program", "false"),
    ("log.showSignature", "false"),
    # A lazy fetch of a partial clone's missing object would run a transport: none is allowed.
    ("protocol.allow", "never"),
    *((f"protocol.{name}.allow", "never") for name in ("ext", "file", "ssh", "git", "http", "https")),
    # Submodules carry configs of their own, with driver names this module has not listed.
    ("diff.ignoreSubmodules", "all"),
    ("submodule.recurse", "false"),
    ("status.submoduleSummary", "false"),
    # A bare repository found by walking up from the working directory (a `fixture.git` shipped
    # in the workspace) is ignored: git then only uses one named explicitly, which we never do.
    ("safe.bareRepository", "explicit"),
)

# Keys whose value is a program git runs, by pattern, for the repository's own config.
_FILTER_KEY = re.compile(r"filter\..+\.(clean|smudge|process)", re.IGNORECASE)
_DIFF_PROGRAM_KEY = re.compile(r"(diff\.external|diff\..+\.(command|textconv))", re.IGNORECASE)

_UNTRUSTED_SCOPES = frozenset({"local", "worktree"})

# Variables from our own environment that would point git elsewhere or run something.
_DROPPED_PREFIX = "GIT_"
_KEPT_GIT_VARIABLES = frozenset({"GIT_CEILING_DIRECTORIES"})

_LIST_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class RepositoryConfig:
    """What the repository's own config (not the user's) asks git to run."""

    filters: tuple[str, ...]
    """`filter.<driver>.<clean|smudge|process>` keys, overridden with an empty value."""
    diff_programs: tuple[str, ...]
    """`diff.external`, `diff.<driver>.command`/`textconv`: only flags switch these off."""


def hardened_env(base: Mapping[str, str] | None = None, overrides: Sequence[tuple[str, str]] = ()) -> dict[str, str]:
    """`base` (default: ours) without GIT_* variables, plus pagers off and the overrides."""
    source = os.environ if base is None else base
    env = {k: v for k, v in source.items() if not k.startswith(_DROPPED_PREFIX) or k in _KEPT_GIT_VARIABLES}
    env.update({"GIT_PAGER": "cat", "PAGER": "cat", "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"})
    pairs = [*STATIC_OVERRIDES, *overrides]
    env["GIT_CONFIG_COUNT"] = str(len(pairs))
    for index, (key, value) in enumerate(pairs):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


def repository_config(cwd: Path, base: Mapping[str, str] | None = None) -> RepositoryConfig:
    """The executing keys the repository holding `cwd` sets in its own config (none outside one).

    `git config --list` only reads files (includes too), so it runs nothing itself; it runs with
    the hardened environment, so it finds the same repository the hardened command will."""
    try:
        out = subprocess.run(
            ["git", "config", "--list", "--includes", "--show-scope", "-z"],
            cwd=cwd, env=hardened_env(base), capture_output=True, timeout=_LIST_TIMEOUT_S,
            stdin=subprocess.DEVNULL, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return RepositoryConfig((), ())
    filters: list[str] = []
    programs: list[str] = []
    # With -z and --show-scope the output is `scope\0key\nvalue\0` per entry.
    fields = out.stdout.split(b"\0")
    for scope, entry in zip(fields[0::2], fields[1::2]):
        key = os.fsdecode(entry.partition(b"\n")[0])
        if os.fsdecode(scope) not in _UNTRUSTED_SCOPES:
            continue
        if _FILTER_KEY.fullmatch(key) and key not in filters:
            filters.append(key)
        elif _DIFF_PROGRAM_KEY.fullmatch(key) and key not in programs:
            programs.append(key)
    return RepositoryConfig(tuple(filters), tuple(programs))


def git_environment(cwd: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for any git codeloop runs in `cwd`: static overrides and the repository's
    filters emptied. Diff programs are left to the caller's `--no-ext-diff --no-textconv`."""
    config = repository_config(cwd, base)
    return hardened_env(base, [(key, "") for key in config.filters])


def hardened_git(directory: Path) -> Any:
    """A gitpython `git.Git` for `directory` with the hardened environment (imported lazily:
    gitpython costs ~40 ms, never on the start path)."""
    import git

    runner = git.Git(directory)
    env = git_environment(directory)
    # gitpython lays these over codeloop's own environment (it cannot unset a variable there,
    # so a GIT_DIR the user exported stays theirs: the user's environment is trusted).
    runner.update_environment(**{k: v for k, v in env.items() if k.startswith("GIT_") or k == "PAGER"})
    return runner


def run_git(args: Sequence[str], cwd: Path, *, timeout: float) -> subprocess.CompletedProcess[str]:
    """`git ARGS` in `cwd`, hardened, text output, never raising for git's exit status."""
    return subprocess.run(
        ["git", *args], cwd=cwd, env=git_environment(cwd), capture_output=True, text=True,
        timeout=timeout, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
