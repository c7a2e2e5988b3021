"""Hostile repositories and credential stores for the approval-gate attacks (test_attacks_gate).

Every hostile config names a program that, if git ever runs it, creates a marker file: a test
then asserts the marker does not exist.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

GIT_IDENTITY = ["-c", "user.name=Attacker", "-c", "user.email=a@example.com"]


def git(cwd: Path, *args: str) -> str:
    """Plain git, as the attacker preparing the repository would run it (not hardened)."""
    out = subprocess.run(["git", *GIT_IDENTITY, *args], cwd=cwd, capture_output=True, text=True, check=True)
    return out.stdout


def marker_program(marker: Path, *, then: str = "false") -> str:
    """A shell command that creates `marker`, then runs `then` (its exit status matters to git)."""
    return f"touch {shlex.quote(str(marker))}; {then}"


def repo_with_history(root: Path, files: dict[str, str] | None = None) -> Path:
    """A work tree with two commits, `a.txt` changed in the second and left modified after it."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    for name, text in {"a.txt": "one\n", **(files or {})}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "first")
    (root / "a.txt").write_text("two\n")
    git(root, "commit", "-qam", "second")
    (root / "a.txt").write_text("three\n")
    return root


def hostile_repo(root: Path, marker: Path, *settings: str) -> Path:
    """`repo_with_history` whose `.git/config` sets each `key=value` (a `{marker}` in the value
    becomes the marker program), and whose `.gitattributes` sends every file to driver `evil`."""
    repo_with_history(root, {".gitattributes": "* diff=evil filter=evil\n"})
    for setting in settings:
        key, _, value = setting.partition("=")
        git(root, "config", key, value.replace("{marker}", marker_program(marker)))
    # A stat change makes the next status/diff rehash the file (and so run clean filters).
    (root / "a.txt").touch()
    return root


def hostile_bare_repo(path: Path, marker: Path, *settings: str) -> Path:
    """A bare copy of a hostile repository, as shipped inside a workspace (`fixture.git`)."""
    source = repo_with_history(path.parent / (path.name + "-src"))
    subprocess.run(["git", "clone", "-q", "--bare", str(source), str(path)], check=True)
    (path / "info").mkdir(exist_ok=True)
    (path / "info" / "attributes").write_text("* diff=evil filter=evil\n")
    for setting in settings:
        key, _, value = setting.partition("=")
        git(path, "config", key, value.replace("{marker}", marker_program(marker)))
    return path


def credential_store(home: Path) -> Path:
    """A fake private key at ~/.ssh/id_rsa and AWS keys at ~/.aws/credentials; the key's path."""
    ssh = home / ".ssh"
    ssh.mkdir(parents=True, exist_ok=True)
    key = ssh / "id_rsa"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nSECRETKEYMATERIAL\n-----END OPENSSH PRIVATE KEY-----\n")
    aws = home / ".aws"
    aws.mkdir(parents=True, exist_ok=True)
    (aws / "credentials").write_text("[default]\naws_secret_access_key = AWSSECRETMATERIAL\n")
    (home / ".netrc").write_text("machine example.com login me password NETRCSECRET\n")
    return key


def lazy_fetching_clone(tmp: Path, dest: Path, url: str, *settings: str) -> Path:
    """A partial clone (`--filter=blob:none`, no checkout) at `dest` whose blobs are all missing,
    so reading one makes git fetch it lazily from `url` with `settings` (`key=value`) applied."""
    source = tmp / "lazy-src"
    repo_with_history(source)
    git(source, "config", "uploadpack.allowFilter", "true")
    subprocess.run(
        ["git", "clone", "-q", "--filter=blob:none", "--no-checkout", f"file://{source}", str(dest)], check=True
    )
    git(dest, "config", "remote.origin.url", url)
    for setting in settings:
        key, _, value = setting.partition("=")
        git(dest, "config", key, value)
    return dest
