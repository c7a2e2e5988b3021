"""Ghost-commit snapshots and /undo, against real git repositories made in a temporary directory."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import git
import pytest

from tests.git_support import ScratchRepo, count_git_calls
from tui.engine.undo import Snapshot, describe_restore, restore_snapshot, take_snapshot

SESSION = "0b7e-session"

# path -> ("link", target) or (mode bits, content): everything a restore must bring back.
Tree = dict[str, tuple[str | int, bytes]]


class Repo(ScratchRepo):
    def tree(self) -> Tree:
        """Every file under the root except .git, with its mode bits and bytes."""
        found: Tree = {}
        for directory, dirs, files in os.walk(self.root):
            dirs[:] = [d for d in dirs if d != ".git"]
            for name in files + [d for d in dirs if (Path(directory) / d).is_symlink()]:
                path = Path(directory) / name
                key = path.relative_to(self.root).as_posix()
                if path.is_symlink():
                    found[key] = ("link", os.fsencode(os.readlink(path)))
                else:
                    found[key] = (stat.S_IMODE(path.lstat().st_mode), path.read_bytes())
        return found

    def dirs(self) -> set[str]:
        return {
            Path(d).relative_to(self.root).as_posix()
            for d, subdirs, _ in os.walk(self.root)
            if ".git" not in Path(d).relative_to(self.root).parts
        }

    def state(self) -> tuple[str, bytes, str, str]:
        """What the user sees of git: status, the index file's bytes, HEAD, branches and stash."""
        # --no-optional-locks: a plain `status` would refresh the index and so rewrite its bytes.
        status = self.git(no_optional_locks=True).status("--porcelain=v1", "-z", "-uall")
        index_file = self.root / ".git" / "index"
        index = index_file.read_bytes() if index_file.exists() else b"(none)"
        head = self.git.rev_parse("--verify", "--quiet", "HEAD", with_exceptions=False)
        refs = self.git.for_each_ref(
            "--format=%(refname) %(objectname)", "refs/heads", "refs/stash"
        )
        return status, index, head, refs

    def snapshot(self, seq: int = 1, **kwargs: Any) -> Snapshot:
        snap = take_snapshot(self.root, session_id=SESSION, seq=seq, **kwargs)
        assert snap is not None
        return snap


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the user's git config and any surrounding repository out of the tests."""
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_CONFIG_GLOBAL"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    # Discovery stops at tmp_path, so "not a repository" holds even if /tmp sits inside one.
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "repo")


def _agent_edits(repo: Repo) -> None:
    """A turn's worth of damage: edits, a new directory, deletions, mode changes, a retyped path."""
    repo.write("src/app.py", "print('rewritten')\n")
    repo.write("README.md", "# gone wrong\r\n")
    repo.write("new/deep/module.py", "x = 1\n")
    repo.write("scratch.txt", "notes\n")
    (repo.root / "docs" / "guide.md").unlink()
    (repo.root / "run.sh").chmod(0o644)
    (repo.root / "tool.py").chmod(0o755)
    (repo.root / "link").unlink()
    repo.write("link", "now a plain file\n")
    (repo.root / "untracked-before.txt").unlink()


def _starting_tree(repo: Repo) -> None:
    files: dict[str, str | bytes] = {
        "src/app.py": "print('hello')\n",
        "README.md": "# project\r\nCRLF kept as is\r\n",
        "docs/guide.md": "guide\n",
        "run.sh": "#!/bin/sh\necho hi\n",
        "tool.py": "pass\n",
        "blob.bin": bytes(range(256)) * 4,
    }
    repo.commit(**files)
    (repo.root / "run.sh").chmod(0o755)
    os.symlink("src/app.py", repo.root / "link")
    repo.git.add("-A")
    repo.git.commit("-q", "-m", "exec bit and symlink")
    repo.write("src/app.py", "print('hello, edited by the user')\n")  # uncommitted work
    repo.write("untracked-before.txt", "user's notes\n")


# --- the round trip ---------------------------------------------------------------------------


def test_restore_brings_back_every_byte_and_mode(repo: Repo) -> None:
    _starting_tree(repo)
    before, dirs_before = repo.tree(), repo.dirs()
    snap = repo.snapshot()
    _agent_edits(repo)
    changed = restore_snapshot(snap)
    assert repo.tree() == before
    assert repo.dirs() == dirs_before  # new/deep/ went with its only file
    assert changed == sorted(
        ["README.md", "docs/guide.md", "link", "new/deep/module.py", "run.sh", "scratch.txt",
         "src/app.py", "tool.py", "untracked-before.txt"]
    )


def test_restoring_an_unchanged_tree_changes_nothing(repo: Repo) -> None:
    _starting_tree(repo)
    snap = repo.snapshot()
    state = repo.state()
    assert restore_snapshot(snap) == []
    assert repo.state() == state


def test_an_older_snapshot_can_be_restored_past_a_newer_one(repo: Repo) -> None:
    repo.commit(**{"a.txt": "one\n"})
    first = repo.snapshot(seq=1)
    repo.write("a.txt", "two\n")
    repo.write("b.txt", "bee\n")
    repo.snapshot(seq=2)
    repo.write("a.txt", "three\n")
    assert restore_snapshot(first) == ["a.txt", "b.txt"]
    assert repo.tree() == {"a.txt": (0o644, b"one\n")}


# --- what is left alone -----------------------------------------------------------------------


def test_ignored_files_are_not_snapshotted_and_survive_the_restore(repo: Repo) -> None:
    repo.commit(**{".gitignore": "*.log\nbuild/\n", "a.txt": "a\n"})
    (repo.root / ".git" / "info" / "exclude").write_text("secret.env\n")
    repo.write("old.log", "kept\n")
    repo.write("secret.env", "TOKEN=1\n")
    snap = repo.snapshot()
    names = repo.git.ls_tree("-r", "--name-only", snap.sha).split("\n")
    assert sorted(names) == [".gitignore", "a.txt"]
    repo.write("old.log", "appended by the agent\n")
    repo.write("build/out.o", "object\n")
    repo.write("a.txt", "changed\n")
    assert restore_snapshot(snap) == ["a.txt"]
    assert (repo.root / "old.log").read_text() == "appended by the agent\n"
    assert (repo.root / "build" / "out.o").read_text() == "object\n"
    assert (repo.root / "secret.env").read_text() == "TOKEN=1\n"


def test_big_untracked_files_are_skipped_and_never_deleted(repo: Repo) -> None:
    repo.commit(**{"a.txt": "a\n"})
    repo.write("data [1].bin", b"x" * 2048)  # glob characters: the exclusion must be literal
    repo.write("data 1.bin", b"small")  # which a glob `data [1].bin` would have matched
    snap = repo.snapshot(max_untracked_bytes=1024)
    assert snap.skipped == ["data [1].bin"]
    names = repo.git.ls_tree("-r", "--name-only", snap.sha).split("\n")
    assert sorted(names) == ["a.txt", "data 1.bin"]
    repo.write("data [1].bin", b"y" * 10)  # shrank: now small, yet not the agent's to delete
    repo.write("huge.bin", b"z" * 4096)  # created since but too big to have been backed up
    repo.write("data 1.bin", b"w" * 4096)  # grew past the limit: still restored
    changed = restore_snapshot(snap, max_untracked_bytes=1024)
    assert changed == ["data 1.bin"]
    assert (repo.root / "data [1].bin").read_bytes() == b"y" * 10
    assert (repo.root / "huge.bin").read_bytes() == b"z" * 4096
    assert (repo.root / "data 1.bin").read_bytes() == b"small"


def test_a_directory_holding_ignored_files_where_a_file_was_is_kept(repo: Repo) -> None:
    repo.commit(**{".gitignore": "__pycache__/\n", "pkg": "was a file\n"})
    snap = repo.snapshot()
    (repo.root / "pkg").unlink()
    repo.write("pkg/__init__.py", "")
    repo.write("pkg/__pycache__/__init__.cpython-311.pyc", b"\0cache")
    assert restore_snapshot(snap) == ["pkg/__init__.py"]
    assert (repo.root / "pkg" / "__pycache__" / "__init__.cpython-311.pyc").exists()


def test_a_file_marked_assume_unchanged_is_snapshotted_and_restored_all_the_same(
    repo: Repo,
) -> None:
    repo.commit(**{"settings.cfg": "shared\n"})
    repo.git.update_index("--assume-unchanged", "settings.cfg")
    repo.write("settings.cfg", "the user's local tweak\n")
    before = repo.state()
    snap = repo.snapshot()
    assert repo.git.show(f"{snap.sha}:settings.cfg") == "the user's local tweak"
    repo.write("settings.cfg", "agent\n")
    assert restore_snapshot(snap) == ["settings.cfg"]
    assert (repo.root / "settings.cfg").read_text() == "the user's local tweak\n"
    assert repo.state() == before
    assert repo.git.ls_files("-v") == "h settings.cfg"


def test_a_file_turned_into_a_directory_comes_back_as_a_file(repo: Repo) -> None:
    repo.commit(**{"pkg": "was a file\n", "z.txt": "z\n"})
    tree = repo.tree()
    snap = repo.snapshot()
    (repo.root / "pkg").unlink()
    repo.write("pkg/sub/__init__.py", "")
    (repo.root / "z.txt").unlink()
    repo.write("z.txt/inner", "")
    assert restore_snapshot(snap) == ["pkg", "pkg/sub/__init__.py", "z.txt", "z.txt/inner"]
    assert repo.tree() == tree


def test_a_nested_repository_is_left_alone(repo: Repo) -> None:
    repo.commit(**{"a.txt": "a\n"})
    snap = repo.snapshot()
    nested = Repo(repo.root / "vendor" / "lib")
    nested.commit(**{"lib.py": "lib\n"})
    assert restore_snapshot(snap) == []
    assert (repo.root / "vendor" / "lib" / "lib.py").read_text() == "lib\n"


# --- the user's git state ---------------------------------------------------------------------


def test_snapshot_leaves_index_head_branches_and_stash_alone(repo: Repo) -> None:
    repo.commit(**{"a.txt": "a\n", "b.txt": "b\n"})
    repo.git.branch("feature")
    repo.write("a.txt", "stashed\n")
    repo.git.stash("-q")
    repo.write("a.txt", "staged\n")
    repo.git.add("a.txt")
    repo.write("a.txt", "staged, then edited\n")
    repo.write("c.txt", "untracked\n")
    (repo.root / "b.txt").unlink()
    before = repo.state()
    repo.snapshot()
    assert repo.state() == before


def test_restore_leaves_the_index_file_alone_when_nothing_was_staged(repo: Repo) -> None:
    repo.commit(**{"a.txt": "a\n", "b.txt": "b\n"})
    repo.write("a.txt", "staged\n")
    repo.git.add("a.txt")
    before = repo.state()
    snap = repo.snapshot()
    repo.write("a.txt", "agent\n")
    (repo.root / "b.txt").unlink()
    repo.write("c.txt", "new\n")
    restore_snapshot(snap)
    assert repo.state() == before


def test_restore_undoes_the_agents_staging_on_the_paths_it_restores(repo: Repo) -> None:
    repo.commit(**{"a.txt": "a\n", "b.txt": "b\n", "c.txt": "c\n"})
    repo.write("a.txt", "user staged\n")
    repo.git.add("a.txt")
    status = repo.state()[0]
    snap = repo.snapshot()
    repo.write("a.txt", "agent staged\n")
    repo.write("new.txt", "agent added\n")
    repo.git.add("a.txt", "new.txt")
    repo.git.rm("-q", "b.txt")
    repo.git.add("--intent-to-add", repo.write("intent.txt", "i\n"))
    restore_snapshot(snap)
    assert repo.state()[0] == status
    assert repo.git.show(":a.txt") == "user staged"


def test_head_stays_on_the_agents_commit_and_the_index_follows_the_files(repo: Repo) -> None:
    repo.commit(**{"a.txt": "a\n"})
    tree = repo.tree()
    snap = repo.snapshot()
    repo.commit(**{"a.txt": "agent\n", "b.txt": "b\n"})
    agent_head = repo.git.rev_parse("HEAD")
    assert restore_snapshot(snap) == ["a.txt", "b.txt"]
    assert repo.git.rev_parse("HEAD") == agent_head
    assert repo.tree() == tree
    # The index is back as it was for the restored paths: the agent's commit shows as undone.
    assert repo.git.status("--porcelain").split("\n") == ["M  a.txt", "D  b.txt"]


def test_a_conflicted_index_still_gets_a_snapshot_and_is_not_rewritten(repo: Repo) -> None:
    repo.commit(**{"a.txt": "base\n"})
    repo.git.checkout("-q", "-b", "other")
    repo.commit(**{"a.txt": "other\n"})
    repo.git.checkout("-q", "main")
    repo.commit(**{"a.txt": "main\n"})
    repo.git.merge("other", with_exceptions=False)
    tree, before = repo.tree(), repo.state()
    snap = repo.snapshot()
    assert repo.state() == before
    repo.write("a.txt", "resolved by the agent\n")
    repo.git.add("a.txt")
    assert restore_snapshot(snap) == ["a.txt"]
    assert repo.tree() == tree
    assert "<<<<<<<" in (repo.root / "a.txt").read_text()


def test_the_snapshot_is_a_commit_on_no_branch_kept_by_a_codeloop_ref(repo: Repo) -> None:
    repo.commit(**{"a.txt": "a\n"})
    head = repo.git.rev_parse("HEAD")
    snap = repo.snapshot(seq=7)
    assert snap.ref == f"refs/codeloop/snapshots/{SESSION}/7"
    assert repo.git.rev_parse(snap.ref) == snap.sha
    assert repo.git.log("-1", "--format=%s", snap.sha) == "codeloop snapshot"
    assert repo.git.rev_parse(f"{snap.sha}^1") == head
    assert repo.git.branch("--contains", snap.sha) == ""
    assert repo.git.stash("list") == ""


def test_an_unborn_branch_can_be_snapshotted_and_restored(repo: Repo) -> None:
    repo.write("first.txt", "first\n")
    before = repo.state()
    snap = repo.snapshot()
    assert repo.state() == before
    assert repo.git.show(f"{snap.sha}:first.txt") == "first"
    repo.write("first.txt", "second\n")
    repo.write("other.txt", "o\n")
    assert restore_snapshot(snap) == ["first.txt", "other.txt"]
    assert repo.tree() == {"first.txt": (0o644, b"first\n")}


def test_signing_config_does_not_reach_the_snapshot(repo: Repo) -> None:
    repo.commit(**{"a.txt": "a\n"})
    repo.git.config("commit.gpgSign", "true")
    # commit-tree does not read commit.gpgSign; pinned because a passphrase prompt mid-turn, or
    # a failing signer, would cost the user their undo.
    repo.git.config("gpg.program", "false")
    assert repo.snapshot().sha


# --- where and what -----------------------------------------------------------------------------


def test_outside_a_work_tree_there_is_no_snapshot(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert take_snapshot(plain, session_id=SESSION, seq=1) is None
    assert take_snapshot(tmp_path / "missing", session_id=SESSION, seq=1) is None
    bare = tmp_path / "bare.git"
    git.Git(tmp_path).init("-q", "--bare", str(bare))
    assert take_snapshot(bare, session_id=SESSION, seq=1) is None


def test_a_session_id_that_cannot_name_a_ref_is_refused(repo: Repo) -> None:
    with pytest.raises(ValueError):
        take_snapshot(repo.root, session_id="a/../b", seq=1)


def test_a_nested_cwd_snapshots_and_restores_the_whole_work_tree(repo: Repo) -> None:
    repo.commit(**{"top.txt": "top\n", "pkg/sub/mod.py": "mod\n"})
    tree = repo.tree()
    snap = take_snapshot(repo.root / "pkg" / "sub", session_id=SESSION, seq=1)
    assert snap is not None and snap.repo_root == repo.root
    repo.write("top.txt", "changed outside cwd\n")
    repo.write("pkg/sub/mod.py", "changed inside\n")
    assert restore_snapshot(snap) == ["pkg/sub/mod.py", "top.txt"]
    assert repo.tree() == tree


def test_names_with_spaces_and_non_ascii_round_trip(repo: Repo) -> None:
    repo.commit(**{"my notes.txt": "one\n", "naïve résumé.md": "două\n", "-dash": "d\n"})
    repo.write("日本語 ファイル.txt", "untracked before\n")
    tree = repo.tree()
    snap = repo.snapshot()
    repo.write("my notes.txt", "two\n")
    (repo.root / "naïve résumé.md").unlink()
    (repo.root / "日本語 ファイル.txt").unlink()
    repo.write("-dash", "edited\n")
    repo.write("nouveau ø.txt", "new\n")
    changed = restore_snapshot(snap)
    assert repo.tree() == tree
    assert changed == sorted(
        ["-dash", "my notes.txt", "naïve résumé.md", "nouveau ø.txt", "日本語 ファイル.txt"]
    )
    assert "naïve résumé.md" in describe_restore(changed)


def test_snapshot_of_two_thousand_files_runs_a_fixed_number_of_git_processes(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.commit(**{f"src/d{i % 20:02}/m{i:04}.py": f"value = {i}\n" for i in range(2000)})
    for i in range(0, 2000, 10):
        repo.write(f"src/d{i % 20:02}/m{i:04}.py", f"value = {i} + 1\n")
    for i in range(100):
        repo.write(f"new/n{i:03}.py", "pass\n")
    calls = count_git_calls(monkeypatch)
    snap = repo.snapshot()
    processes = len(calls)
    assert len(repo.git.ls_tree("-r", "--name-only", snap.sha).split("\n")) == 2100
    assert processes <= 9


# --- the note to the model --------------------------------------------------------------------


def test_the_note_names_each_restored_path() -> None:
    note = describe_restore(["a.py", "dir/b.py"])
    assert note.startswith("<undo>\n") and note.endswith("\n</undo>")
    assert "Restored 2 files:\n- a.py\n- dir/b.py\n" in note


def test_the_note_for_a_no_op_undo_says_nothing_changed() -> None:
    assert "nothing changed" in describe_restore([])


def test_the_note_caps_long_lists_and_survives_undecodable_names() -> None:
    paths = [f"f{i:03}" for i in range(120)] + [os.fsdecode(b"bad\xff.txt")]
    note = describe_restore(paths)
    assert "Restored 121 files:" in note
    assert "- ... and 71 more\n" in note
    assert "f049" in note and "f050" not in note
    describe_restore([os.fsdecode(b"bad\xff.txt")]).encode("utf-8")  # no lone surrogates
