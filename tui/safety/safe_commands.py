"""Commands that only read, so they may run without asking.

The list follows Codex (`is_safe_command.rs`, the version with git still in
it). A command is known-safe when it is one of a few read-only programs with
arguments that keep it read-only, or a `bash -lc` script made only of such
commands joined by `&&`, `||`, `;` or `|`.

Anything this module cannot fully understand is *not* safe: the cost of a
false "unsafe" is one approval prompt, the cost of a false "safe" is a command
the user never saw.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

from tui.safety.shell_script import Word, split_script, squeeze_blanks

_ALWAYS_SAFE = frozenset(
    "cat cd cut echo expr false grep head id ls nl paste pwd seq stat tail true "
    "uname wc which whoami numfmt tac".split()
)
# Not here on purpose: encoders (`rev`, `tr`, `base64`, `xxd`, `od`, `hexdump`, `basenc`,
# `gzip -c`) print a file in a form redaction cannot recognise, so a secret would leave unseen.

# Programs whose every option is harmless, so a glob that expands into an
# option-looking file name (`-delete`, `--pre=x`) cannot make them write or
# execute anything. Commands with conditional rules are absent on purpose.
_GLOB_TOLERANT = _ALWAYS_SAFE

_SHELLS = frozenset({"bash", "sh", "zsh"})
_SHELL_SCRIPT_FLAGS = frozenset({"-c", "-lc"})

# A program named by absolute path counts only from directories that only
# root can write to; `./ls` or `/tmp/ls` could be anything.
_TRUSTED_BIN_DIRS = ("/bin/", "/usr/bin/")

_UNSAFE_FIND_ACTIONS = frozenset(
    {"-exec", "-execdir", "-ok", "-okdir", "-delete", "-fls", "-fprint", "-fprint0", "-fprintf"}
)
_UNSAFE_RG_FLAGS_WITH_VALUE = ("--pre", "--hostname-bin")
_UNSAFE_RG_FLAGS = frozenset({"--search-zip", "-z"})

_GIT_READ_SUBCOMMANDS = frozenset({"status", "log", "diff", "show", "branch"})
# `--output` makes log/diff/show write a file; `--ext-diff` and `--textconv` run programs the
# repository configures. git accepts any unambiguous prefix of a long option (`--ext`,
# `--out=f`), so a prefix of one of these counts as it.
_UNSAFE_GIT_LONG_OPTIONS = ("output", "output-directory", "ext-diff", "textconv", "exec-path", "paginate")
# Global options that only change how git prints, never where it looks or what it runs.
# (`-C`, `--git-dir`, `--work-tree` would point it at a repository whose config we never judged.)
_SAFE_GIT_GLOBAL_OPTIONS = frozenset({"--no-pager", "-P", "--no-optional-locks"})
_GIT_BRANCH_LIST_FLAGS = frozenset(
    {
        "-a", "--all", "-r", "--remotes", "-l", "--list", "-v", "-vv", "--verbose",
        "--show-current", "-i", "--ignore-case", "--no-color", "--no-column",
        "--omit-empty",
    }
)  # fmt: skip
# Listing filters whose value may come as the next word.
_GIT_BRANCH_VALUE_FLAGS = frozenset(
    {"--contains", "--no-contains", "--merged", "--no-merged", "--points-at", "--sort", "--format"}
)
_GIT_BRANCH_EQUALS_FLAGS = (*_GIT_BRANCH_VALUE_FLAGS, "--color", "--column", "--abbrev")

_SED_PRINT_RANGE = re.compile(r"\d+(,\d+)?p")


def is_known_safe(argv: Sequence[str]) -> bool:
    """True when `argv` only reads, by the Codex known-safe rules."""
    if not argv:
        return False
    if _is_safe_exec(argv):
        return True
    script = _shell_script(argv)
    if script is None:
        return False
    commands = split_script(script)
    if not commands:
        return False
    programs = {_program_name(command[0].text) for command in commands}
    # After a `cd` git would find a repository other than the one the gate judged.
    if "git" in programs and programs & {"cd", "pushd"}:
        return False
    return all(_is_safe_scripted(command) for command in commands)


def known_safe_commands(argv: Sequence[str]) -> list[list[str]] | None:
    """The plain commands `argv` runs (one, or each of a `bash -lc` script's, words after quote
    removal), or None when it is not known-safe. For checks that need the file system."""
    if not is_known_safe(argv):
        return None
    if _is_safe_exec(argv):
        return [list(argv)]
    script = _shell_script(argv)
    commands = split_script(script) if script is not None else None
    return [[word.text for word in command] for command in commands or []]


def normalize_command(argv: Sequence[str]) -> str:
    """The key under which "approve for this session" remembers a command.

    For a shell wrapper (`bash -lc SCRIPT`, `bash -c`, `sh -c`, `zsh -lc`) the
    key is the script with runs of unquoted blanks squeezed to one space;
    otherwise it is `shlex.join(argv)`. So `["bash", "-lc", "ls  -la"]` and
    `["ls", "-la"]` share the key `ls -la`: the user approves the text they
    were shown, and `shlex.join` text run by a shell is exactly that argv. The
    approval UI should display this same string (Codex #4212: approvals were
    cached under the wrapped argv while the user saw the script, so they never
    matched).

    Leading `VAR=value` assignments stay in the key: `PAGER=evil git log` is a
    different command from `git log`. Which shell runs the script is not part
    of the key, since it is not what the user reads.
    """
    script = _shell_script(argv)
    if script is not None:
        return squeeze_blanks(script)
    return shlex.join(argv)


def _shell_script(argv: Sequence[str]) -> str | None:
    if len(argv) != 3 or argv[1] not in _SHELL_SCRIPT_FLAGS:
        return None
    if _program_name(argv[0]) not in _SHELLS:
        return None
    return argv[2]


def _program_name(arg0: str) -> str | None:
    if "/" not in arg0:
        return arg0
    for directory in _TRUSTED_BIN_DIRS:
        rest = arg0.removeprefix(directory)
        if rest != arg0 and rest and "/" not in rest:
            return rest
    return None


def _is_safe_exec(argv: Sequence[str]) -> bool:
    name = _program_name(argv[0])
    args = list(argv[1:])
    if name is None:
        return False
    if name in _ALWAYS_SAFE:
        return True
    if name == "uniq":
        return _is_safe_uniq(args)
    if name == "find":
        return not any(arg in _UNSAFE_FIND_ACTIONS for arg in args)
    if name == "rg":
        return not any(_is_unsafe_rg_arg(arg) for arg in args)
    if name == "git":
        return _is_safe_git(args)
    if name == "sed":
        return (
            len(args) == 3
            and args[0] == "-n"
            and _SED_PRINT_RANGE.fullmatch(args[1]) is not None
            and not args[2].startswith("-")
        )
    return False


def _is_safe_uniq(args: list[str]) -> bool:
    # `uniq INPUT OUTPUT` overwrites OUTPUT, which Codex's plain entry misses.
    # Option values (`-f 2`) count as operands here: wrong only towards asking.
    operands = 0
    options_done = False
    for arg in args:
        if not options_done and arg == "--":
            options_done = True
        elif options_done or not arg.startswith("-") or arg == "-":
            operands += 1
    return operands <= 1


def _is_unsafe_rg_arg(arg: str) -> bool:
    if arg in _UNSAFE_RG_FLAGS:
        return True
    if any(arg == flag or arg.startswith(flag + "=") for flag in _UNSAFE_RG_FLAGS_WITH_VALUE):
        return True
    # `-z` hides in clusters such as `-iz`.
    return arg.startswith("-") and not arg.startswith("--") and "z" in arg


def is_git(argv: Sequence[str]) -> bool:
    return bool(argv) and _program_name(argv[0]) == "git"


def _is_safe_git(args: list[str]) -> bool:
    if any(arg == "-c" or arg.startswith("--config-env") for arg in args):
        return False
    index = 0
    while index < len(args) and args[index].startswith("-"):
        if args[index] not in _SAFE_GIT_GLOBAL_OPTIONS:
            return False
        index += 1
    if index >= len(args) or args[index] not in _GIT_READ_SUBCOMMANDS:
        return False
    subcommand, rest = args[index], args[index + 1 :]
    if any(_is_unsafe_git_option(arg) for arg in rest):
        return False
    if subcommand == "branch":
        return _is_git_branch_listing(rest)
    return True


def _is_unsafe_git_option(arg: str) -> bool:
    if not arg.startswith("--") or arg == "--":
        return False
    name = arg[2:].partition("=")[0]
    if name in _GIT_OPTIONS_SHARING_A_PREFIX:
        return False
    # Any prefix git could take for a dangerous option is refused (two letters are always
    # ambiguous among git's options, so git itself refuses those).
    return len(name) >= 3 and any(option.startswith(name) for option in _UNSAFE_GIT_LONG_OPTIONS)


# Real options, spelled in full, that are also prefixes of a dangerous one.
_GIT_OPTIONS_SHARING_A_PREFIX = frozenset({"text"})


def _is_git_branch_listing(args: list[str]) -> bool:
    """Only the listing forms of `git branch`: a bare name would create a branch."""
    listing = False
    positional = 0
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in ("-l", "--list"):
            listing = True
        elif arg in _GIT_BRANCH_VALUE_FLAGS:
            if index + 1 < len(args) and not args[index + 1].startswith("-"):
                index += 1
        elif arg in _GIT_BRANCH_LIST_FLAGS:
            pass
        elif arg.startswith("--") and any(arg.startswith(flag + "=") for flag in _GIT_BRANCH_EQUALS_FLAGS):
            pass
        elif arg.startswith("-"):
            return False
        else:
            positional += 1
        index += 1
    # With --list, positional words are name patterns; without it, a new branch.
    return positional == 0 or listing


def _is_safe_scripted(command: list[Word]) -> bool:
    if command[0].pattern:
        return False
    name = _program_name(command[0].text)
    if any(word.pattern for word in command) and name not in _GLOB_TOLERANT:
        return False
    return _is_safe_exec([word.text for word in command])
