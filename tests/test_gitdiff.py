"""The working-tree diff, against real git repositories made in a temporary directory."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import git
import pytest

from tests.git_support import ScratchRepo, count_git_calls
from tui.app.gitdiff import diff_summary, working_tree_diff


class Repo(ScratchRepo):
    def diff(self, **kwargs: Any) -> str:
        text = working_tree_diff(self.root, **kwargs)
        assert text is not None
        return text


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the user's git config and any surrounding repository out of the tests."""
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    # Discovery stops at tmp_path, so "not a repository" holds even if /tmp sits inside one.
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repo]:
    root = tmp_path / "repo"
    root.mkdir()
    yield Repo(root)


def _git_own_rendering(repo: Repo) -> str:
    """What git prints for the untracked files once marked intent-to-add, minus `index` lines."""
    repo.git.add("-N", ".")
    try:
        text = repo.git(c="core.quotePath=false").diff(
            "HEAD", "--no-renames", "--", stdout_as_string=False, strip_newline_in_stdout=False
        )
    finally:
        repo.git.reset("-q")
    return re.sub(r"(?m)^index [0-9a-f]+\.\.[0-9a-f]+.*\n", "", text.decode("utf-8", "replace"))


# --- tracked changes ------------------------------------------------------------------------


def test_clean_tree_gives_an_empty_diff(repo: Repo) -> None:
    repo.commit(**{"a.txt": "one\n"})
    assert repo.diff() == ""


def test_modified_file_shows_as_gits_own_hunk(repo: Repo) -> None:
    repo.commit(**{"a.txt": "one\ntwo\nthree\n"})
    repo.write("a.txt", "one\n2\nthree\n")
    text = repo.diff()
    assert text.startswith("diff --git a/a.txt b/a.txt\nindex ")
    assert "--- a/a.txt\n+++ b/a.txt\n@@ -1,3 +1,3 @@\n one\n-two\n+2\n three\n" in text
    assert diff_summary(text) == [("a.txt", 1, 1)]


def test_staged_and_unstaged_changes_both_count_against_head(repo: Repo) -> None:
    repo.commit(**{"a.txt": "one\ntwo\n", "b.txt": "bee\n"})
    repo.write("a.txt", "ONE\ntwo\n")
    repo.git.add("a.txt")
    repo.write("a.txt", "ONE\nTWO\n")  # a second, unstaged edit on top of the staged one
    repo.write("b.txt", "bee\nmore\n")
    text = repo.diff()
    assert "-one\n-two\n+ONE\n+TWO\n" in text
    assert diff_summary(text) == [("a.txt", 2, 2), ("b.txt", 1, 0)]


def test_deleted_files_show_every_line_removed_staged_or_not(repo: Repo) -> None:
    repo.commit(**{"gone.txt": "a\nb\n", "rm.txt": "c\n"})
    (repo.root / "gone.txt").unlink()
    repo.git.rm("-q", "rm.txt")
    text = repo.diff()
    assert "diff --git a/gone.txt b/gone.txt\ndeleted file mode 100644\n" in text
    assert "--- a/gone.txt\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-a\n-b\n" in text
    assert diff_summary(text) == [("gone.txt", 0, 2), ("rm.txt", 0, 1)]


def test_a_rename_shows_as_deletion_plus_addition_even_when_git_would_detect_it(repo: Repo) -> None:
    repo.commit(**{"old.py": "x = 1\ny = 2\n"})
    repo.git.config("diff.renames", "copies")
    repo.git.mv("old.py", "new.py")
    text = repo.diff()
    assert "rename from" not in text
    assert "deleted file mode" in text and "new file mode" in text
    assert diff_summary(text) == [("new.py", 2, 0), ("old.py", 0, 2)]


def test_a_move_without_git_mv_reads_the_same_way(repo: Repo) -> None:
    repo.commit(**{"old.py": "x = 1\n"})
    (repo.root / "old.py").rename(repo.root / "new.py")
    assert diff_summary(repo.diff()) == [("old.py", 0, 1), ("new.py", 1, 0)]


def test_tracked_binary_change_is_gits_one_line_note(repo: Repo) -> None:
    repo.commit(**{"img.bin": b"\x00\x01"})
    repo.write("img.bin", b"\x00\x02")
    text = repo.diff()
    assert "Binary files a/img.bin and b/img.bin differ\n" in text
    assert diff_summary(text) == [("img.bin", 0, 0)]


def test_the_users_diff_config_does_not_change_the_format(repo: Repo) -> None:
    repo.commit(**{"a.txt": "one\n"})
    for key, value in {
        "diff.noprefix": "true",
        "diff.mnemonicPrefix": "true",
        "color.ui": "always",
        "diff.external": "false",
    }.items():
        repo.git.config(key, value)
    repo.write("a.txt", "two\n")
    text = repo.diff()
    assert "\x1b[" not in text
    assert "--- a/a.txt\n+++ b/a.txt\n" in text


# --- untracked files -------------------------------------------------------------------------


def test_untracked_file_shows_as_a_new_file_diff(repo: Repo) -> None:
    repo.commit(**{"a.txt": "one\n"})
    repo.write("notes.md", "first\nsecond\n")
    assert repo.diff() == (
        "diff --git a/notes.md b/notes.md\nnew file mode 100644\n"
        "--- /dev/null\n+++ b/notes.md\n@@ -0,0 +1,2 @@\n+first\n+second\n"
    )
    assert diff_summary(repo.diff()) == [("notes.md", 2, 0)]


def test_untracked_files_follow_the_tracked_changes(repo: Repo) -> None:
    repo.commit(**{"z.txt": "one\n"})
    repo.write("z.txt", "two\n")
    repo.write("a.txt", "new\n")
    assert [path for path, _, _ in diff_summary(repo.diff())] == ["z.txt", "a.txt"]


def test_untracked_files_render_exactly_as_git_renders_them_once_added(repo: Repo) -> None:
    repo.commit()
    repo.write("plain.txt", "a\nb\n")
    repo.write("one line.txt", "only")
    repo.write("empty", "")
    repo.write("crlf.txt", b"a\r\nb\r\n")
    repo.write("form\x0cfeed.txt", "page\x0cbreak\x1cgroup\u2028sep\n")  # not line breaks to git
    repo.write('quote"and\\slash', "q\n")
    repo.write("tab\tname", "t\n")
    repo.write("héllo wörld/日本.txt", "ünïcode\n")
    repo.write("latin1.txt", "caf\xe9\n".encode("latin-1"))
    repo.write("blob.bin", b"head\x00tail")
    run = repo.write("run.sh", "#!/bin/sh\n")
    run.chmod(0o755)
    (repo.root / "link").symlink_to("plain.txt")
    ours = repo.diff()
    assert ours == _git_own_rendering(repo)


def test_ignored_files_are_left_out(repo: Repo) -> None:
    repo.commit(**{".gitignore": "*.log\nbuild/\n"})
    repo.write("debug.log", "noise\n")
    repo.write("build/out.txt", "artifact\n")
    repo.write("src/keep.py", "pass\n")
    (repo.root / ".git" / "info" / "exclude").write_text("secret.txt\n")
    repo.write("secret.txt", "x\n")
    assert diff_summary(repo.diff()) == [("src/keep.py", 1, 0)]


def test_untracked_binary_file_is_one_line_note(repo: Repo) -> None:
    repo.commit()
    repo.write("pic.png", b"\x89PNG\r\n\x1a\n\x00\x00" + b"x" * 100)
    assert repo.diff() == (
        "diff --git a/pic.png b/pic.png\nnew file mode 100644\n"
        "Binary files /dev/null and b/pic.png differ\n"
    )
    assert diff_summary(repo.diff()) == [("pic.png", 0, 0)]


def test_a_nul_byte_past_the_sniffed_prefix_leaves_the_file_text(repo: Repo) -> None:
    repo.commit()
    repo.write("late.txt", "a" * 9000 + "\x00\n")
    assert "Binary files" not in repo.diff()


def test_untracked_file_over_the_limit_is_skipped_with_its_size(repo: Repo) -> None:
    repo.commit()
    repo.write("big data.csv", "row\n" * 300)
    repo.write("small.txt", "ok\n")
    text = repo.diff(max_untracked_bytes=1000)
    assert "# skipped big data.csv: 1200 bytes\n" in text
    assert "row" not in text
    assert diff_summary(text) == [("big data.csv", 0, 0), ("small.txt", 1, 0)]


def test_a_nested_repository_is_not_descended_into(repo: Repo) -> None:
    repo.commit()
    inner = Repo(repo.root / "vendor")
    inner.commit(**{"lib.py": "x = 1\n"})
    assert repo.diff() == ""


def test_an_unreadable_untracked_file_is_noted_not_raised(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.commit()
    repo.write("locked.txt", "secret\n")
    real_open = Path.open

    # Stands in for chmod 000, which does not stop root (and CI containers often run as root).
    def denying_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self.name == "locked.txt":
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", denying_open)
    text = repo.diff()
    assert text == "# skipped locked.txt: unreadable\n"
    assert diff_summary(text) == [("locked.txt", 0, 0)]


def test_the_diff_applied_to_a_clean_clone_rebuilds_the_working_tree(repo: Repo, tmp_path: Path) -> None:
    repo.commit(**{"keep.txt": "1\n2\n3\n", "gone.txt": "g\n", "my file.txt": "s\n"})
    repo.write("keep.txt", "1\ntwo\n3\n")
    (repo.root / "gone.txt").unlink()
    repo.write("my file.txt", "s\nmore")
    repo.write("dir é/new.txt", "n\n")
    repo.write("huge.txt", "x" * 2000)  # skipped: its comment line must not upset `git apply`
    patch = tmp_path / "change.patch"
    patch.write_text(repo.diff(max_untracked_bytes=1000), encoding="utf-8")
    clone = tmp_path / "clone"
    git.Git(tmp_path).clone("-q", str(repo.root), str(clone))
    git.Git(clone).apply(str(patch))
    for name in ("keep.txt", "my file.txt", "dir é/new.txt"):
        assert (clone / name).read_bytes() == (repo.root / name).read_bytes()
    assert not (clone / "gone.txt").exists() and not (clone / "huge.txt").exists()


# --- where the diff is taken from ---------------------------------------------------------------


def test_unborn_head_diffs_against_the_empty_tree(repo: Repo) -> None:
    repo.write("staged.txt", "s\n")
    repo.git.add("staged.txt")
    repo.write("loose.txt", "l\n")
    text = repo.diff()
    assert "--- /dev/null\n+++ b/staged.txt\n@@ -0,0 +1 @@\n+s\n" in text
    assert diff_summary(text) == [("staged.txt", 1, 0), ("loose.txt", 1, 0)]


def test_outside_a_work_tree_there_is_no_diff(tmp_path: Path, repo: Repo) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert working_tree_diff(plain) is None
    assert working_tree_diff(tmp_path / "missing") is None
    assert working_tree_diff(repo.root / ".git") is None  # inside the git dir is no work tree


def test_a_subdirectory_sees_the_whole_tree_with_paths_from_the_top(repo: Repo) -> None:
    repo.commit(**{"top.txt": "t\n", "pkg/sub/mod.py": "m\n"})
    repo.write("top.txt", "T\n")
    repo.write("other/new.txt", "n\n")
    text = working_tree_diff(repo.root / "pkg" / "sub")
    assert text is not None
    assert diff_summary(text) == [("top.txt", 1, 1), ("other/new.txt", 1, 0)]


def test_paths_with_spaces_and_non_ascii_stay_readable(repo: Repo) -> None:
    repo.commit(**{"my file.txt": "a\n", "héllo.txt": "b\n"})
    repo.write("my file.txt", "A\n")
    repo.write("héllo.txt", "B\n")
    repo.write("new дир/файл 1.txt", "c\n")
    text = repo.diff()
    assert "diff --git a/héllo.txt b/héllo.txt\n" in text
    assert "+++ b/my file.txt\t\n" in text  # git's tab ends a name that has spaces
    assert diff_summary(text) == [("héllo.txt", 1, 1), ("my file.txt", 1, 1), ("new дир/файл 1.txt", 1, 0)]


def test_content_that_is_not_utf8_does_not_break_the_diff(repo: Repo) -> None:
    repo.commit(**{"old.txt": "caf\xe9\n".encode("latin-1")})
    repo.write("old.txt", "th\xe9\n".encode("latin-1"))
    assert diff_summary(repo.diff()) == [("old.txt", 1, 1)]


def test_a_thousand_files_cost_a_fixed_number_of_git_processes(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.commit(**{f"src/m{i:04}.py": f"value = {i}\n" for i in range(1000)})
    for i in range(0, 1000, 10):
        repo.write(f"src/m{i:04}.py", f"value = {i} + 1\n")
    for i in range(100):
        repo.write(f"new/n{i:03}.py", "pass\n")
    calls = count_git_calls(monkeypatch)
    text = repo.diff()
    assert len(diff_summary(text)) == 200
    assert len(calls) <= 4


# --- diff_summary on its own -------------------------------------------------------------------


def test_summary_of_nothing_is_empty() -> None:
    assert diff_summary("") == []


def test_summary_is_not_fooled_by_removed_lines_that_look_like_headers() -> None:
    text = (
        "diff --git a/notes.md b/notes.md\n"
        "--- a/notes.md\n+++ b/notes.md\n"
        "@@ -1,3 +1,1 @@\n"
        "--- a/fake\n"
        "-+++ b/fake\n"
        " kept\n"
    )
    assert diff_summary(text) == [("notes.md", 0, 2)]


def test_summary_unquotes_names_git_had_to_quote() -> None:
    text = (
        'diff --git "a/tab\\there" "b/tab\\there"\n'
        "new file mode 100644\n"
        "--- /dev/null\n"
        '+++ "b/tab\\there"\n'
        "@@ -0,0 +1 @@\n"
        "+x\n"
        '# skipped "odd\\"name": 5000 bytes\n'
        'diff --git "a/\\303\\251t\\303\\251" "b/\\303\\251t\\303\\251"\n'
        "deleted file mode 100644\n"
    )
    assert diff_summary(text) == [("tab\there", 1, 0), ('odd"name', 0, 0), ("été", 0, 0)]
