"""Where users keep credentials: the one list the approval gate (reads ask) and the sandbox
(paths hidden) both use.

A read of one of these by a "known-safe" command would send a private key to the provider
without the user seeing it, so `reaches_credentials` judges every word of such a command: as a
path (relative to the working directory, `..` and symlinks resolved), a `~` path, or a glob
that may expand into one; and for recursive readers (`grep -r`, `rg`) a directory that holds
a credential store.
"""

from __future__ import annotations

import glob
import os
import pwd
from collections.abc import Sequence
from pathlib import Path

# Relative to a home folder: reads of these ask (the gate), and the sandbox hides them unless
# config exposes one (`sandbox_exposed_paths`).
CREDENTIAL_STORES: tuple[str, ...] = (
    ".ssh", ".gnupg", ".aws", ".azure", ".config/gcloud", ".kube", ".docker/config.json",
    ".netrc", ".git-credentials", ".config/git/credentials", ".npmrc", ".yarnrc.yml", ".pypirc",
    ".cargo/credentials", ".cargo/credentials.toml", ".password-store", ".local/share/keyrings",
    ".config/gh", ".config/hub", ".terraform.d/credentials.tfrc.json", ".terraformrc",
    ".config/op", ".vault-token", ".config/doctl", ".config/helm", ".oci", ".m2/settings.xml",
    ".gradle/gradle.properties", ".gem/credentials", ".config/rclone", ".s3cfg", ".boto",
    ".pgpass", ".my.cnf", ".mozilla", ".config/google-chrome", ".config/chromium",
    ".codex", ".config/openai", ".config/anthropic", ".config/glab-cli", ".databrickscfg",
    ".local/share/atuin", ".bash_history", ".zsh_history", ".python_history", ".psql_history",
    ".mysql_history", ".lesshst", ".viminfo",
)  # fmt: skip

# Absolute paths hidden the same way: root runs the sandbox without capabilities but still owns
# these files, so their owner-only mode would not keep it out.
HOST_SECRETS: tuple[str, ...] = (
    "/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-", "/etc/ssh/ssh_host_rsa_key",
    "/etc/ssh/ssh_host_ecdsa_key", "/etc/ssh/ssh_host_ed25519_key", "/etc/ssh/ssh_host_dsa_key",
)  # fmt: skip


_GLOB_CHARS = frozenset("*?[")
# Readers that descend into a directory named on their command line (or the working directory).
_RECURSIVE_FLAGS = frozenset({"-r", "-R", "--recursive", "--dereference-recursive"})


def credential_stores(home: Path | None = None) -> list[Path]:
    """The stores under `home`, or (by default) under both $HOME and the account's home from
    the password database: a HOME pointed elsewhere must not unguard the real one."""
    bases = [home] if home is not None else home_folders()
    return [base / rel for base in bases for rel in CREDENTIAL_STORES]


def home_folders() -> list[Path]:
    """$HOME and the account's home from the password database (they differ under sudo, in CI and
    in our tests); resolved, without duplicates."""
    folders: list[Path] = []
    candidates = [os.environ.get("HOME", "")]
    try:
        candidates.append(pwd.getpwuid(os.getuid()).pw_dir)
    except KeyError:
        pass
    for value in candidates:
        if value and os.path.isabs(value):
            resolved = Path(value).resolve()
            if resolved not in folders:
                folders.append(resolved)
    return folders


def is_credential_path(path: Path, home: Path | None = None) -> bool:
    """Whether `path` (resolved: symlinks followed) is, or lies under, a credential store."""
    target = _resolve(path)
    for store in credential_stores(home):
        for candidate in {store, _resolve(store)}:
            if target == candidate or candidate in target.parents:
                return True
    return False


def holds_credentials(path: Path, home: Path | None = None) -> bool:
    """Whether the directory `path` contains a credential store somewhere below it."""
    target = _resolve(path)
    return any(target in _resolve(store).parents or target in store.parents for store in credential_stores(home))


def reaches_credentials(commands: Sequence[Sequence[str]], cwd: Path) -> str | None:
    """The first word of these commands (run in order, `cd` followed) that may read a credential
    store, or None. Conservative: a word that cannot be judged counts as reaching one."""
    here = cwd
    for argv in commands:
        if not argv:
            continue
        name = os.path.basename(argv[0])
        recursive = name == "rg" or any(a in _RECURSIVE_FLAGS or _short_cluster_has(a, "rR") for a in argv[1:])
        if name == "cd":
            target = argv[1] if len(argv) > 1 else "~"
            if any(c in target for c in _GLOB_CHARS):
                return target
            here = _as_path(target, here)
        if is_credential_path(here):
            return str(here)
        # `grep -r PATTERN` and `rg PATTERN` with no path search the working directory.
        operands = [w for w in argv[1:] if not w.startswith("-")]
        if recursive and len(operands) <= 1 and holds_credentials(here):
            return str(here)
        for word in argv[1:]:
            # `--file=PATH` and `-fPATH` name a path after the option.
            for candidate in {word, word.partition("=")[2]} - {""}:
                if _word_reaches(candidate, here, recursive):
                    return word
    return None


def _word_reaches(word: str, cwd: Path, recursive: bool) -> bool:
    if word.startswith("~") and not (word == "~" or word.startswith("~/")):
        return True  # ~otheruser: someone else's home, judged as one
    if any(c in word for c in _GLOB_CHARS):
        pattern = str(_as_path(word, cwd, resolve=False))
        matches = glob.glob(pattern)
        return any(_path_reaches(Path(m), recursive) for m in matches)
    return _path_reaches(_as_path(word, cwd), recursive)


def _path_reaches(path: Path, recursive: bool) -> bool:
    if is_credential_path(path):
        return True
    return recursive and path.is_dir() and holds_credentials(path)


def _as_path(word: str, cwd: Path, *, resolve: bool = True) -> Path:
    if word == "~" or word.startswith("~/"):
        path = Path.home() / word[2:]
    else:
        path = cwd / word
    return _resolve(path) if resolve else path


def _resolve(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL: judged as written
        return Path(os.path.abspath(path))


def _short_cluster_has(arg: str, letters: str) -> bool:
    return arg.startswith("-") and not arg.startswith("--") and any(c in arg[1:] for c in letters)
