"""Edge cases of the apply_patch tool beyond the portable Codex scenarios."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tui.tools.apply_patch import (
    AddFile,
    DeleteFile,
    FileChange,
    PatchError,
    UpdateFile,
    apply_changes,
    diff_stats,
    parse_patch,
    plan_patch,
    unified_diff,
)


def patch(*lines: str) -> str:
    return "\n".join(["*** Begin Patch", *lines, "*** End Patch"]) + "\n"


def apply(root: Path, text: str) -> str:
    return apply_changes(plan_patch(text, root))


def tree(root: Path) -> dict[str, bytes | None]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes() if p.is_file() else None
        for p in sorted(root.rglob("*"))
    }


# ---------------------------------------------------------------------------------------- parse


@pytest.mark.parametrize(
    "opener", ["<<EOF", "<<'EOF'", '<<"EOF"', "apply_patch <<'EOF'", "apply_patch <<EOF"]
)
def test_heredoc_wrapper_is_stripped(tmp_path: Path, opener: str) -> None:
    text = f"{opener}\n" + patch("*** Add File: a.txt", "+hi") + "EOF\n"
    apply(tmp_path, text)
    assert (tmp_path / "a.txt").read_text() == "hi\n"


def test_padded_markers_and_headers_are_tolerated(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("def f():\n    return 1\n")
    text = (
        "\n  *** Begin Patch  \n"
        "   *** Update File:   f.txt  \n"
        "  @@  \n"
        "@@ def f():   \n"
        "-    return 1\n"
        "+    return 2\n"
        "   *** End Patch   \n\n"
    )
    apply(tmp_path, text)
    assert (tmp_path / "f.txt").read_text() == "def f():\n    return 2\n"


def test_patch_written_with_crlf_lines_is_understood(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("one\ntwo\n")
    apply(tmp_path, patch("*** Update File: f.txt", "@@", "-two", "+three").replace("\n", "\r\n"))
    assert (tmp_path / "f.txt").read_bytes() == b"one\nthree\n"


def test_parse_returns_one_hunk_per_file_operation() -> None:
    hunks = parse_patch(
        patch(
            "*** Add File: new.txt",
            "+a",
            "",
            "+b",
            "*** Delete File: old.txt",
            "*** Update File: src.py",
            "*** Move to: dst.py",
            "@@ class Foo",
            "@@     def bar",
            " x",
            "-y",
            "+z",
        )
    )
    assert hunks[0] == AddFile("new.txt", "a\n\nb\n")
    assert hunks[1] == DeleteFile("old.txt")
    update = hunks[2]
    assert isinstance(update, UpdateFile)
    assert (update.path, update.move_to) == ("src.py", "dst.py")
    [chunk] = update.chunks
    assert chunk.anchors == ["class Foo", "    def bar"]
    assert chunk.lines == [(" ", "x"), ("-", "y"), ("+", "z")]


def test_invalid_hunk_header_names_the_line_and_its_number() -> None:
    expected = r"line 4: '\*\*\* Frob File: x' is not a valid hunk header"
    with pytest.raises(PatchError, match=expected):
        parse_patch(patch("*** Add File: a", "+a", "*** Frob File: x"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Empty patch"),
        ("  \n\n", "Empty patch"),
        ("*** Add File: a\n+a\n*** End Patch\n", "first line of the patch must be '\\*{3} Begin"),
        ("*** Begin Patch\n*** Add File: a\n+a\n", "last line of the patch must be '\\*{3} End"),
        (patch(), "Empty patch"),
        (patch("*** Update File: a.txt"), "'a.txt' has no changes"),
        (patch("*** Update File: a.txt", "@@ def f"), "'@@' header .* has no lines"),
        (patch("*** Update File: a.txt", "@@", "*x"), "line 4 .*'\\*x'. Every line"),
        (patch("*** Delete File:   "), "missing its file path"),
    ],
)
def test_malformed_patch_is_rejected_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(PatchError, match=message):
        parse_patch(text)


# ---------------------------------------------------------------------------------------- match


def update(root: Path, name: str, before: str, *change: str) -> str:
    (root / name).write_bytes(before.encode())
    apply(root, patch(f"*** Update File: {name}", *change))
    return (root / name).read_bytes().decode()


def test_exact_match_further_down_beats_a_fuzzy_one_earlier(tmp_path: Path) -> None:
    after = update(tmp_path, "f.txt", "x  \na\nx\n", "@@", "-x", "+y")
    assert after == "x  \na\ny\n"


def test_trailing_whitespace_is_ignored_in_the_second_pass(tmp_path: Path) -> None:
    after = update(tmp_path, "f.txt", "keep  \nold\t\n", "@@", " keep", "-old", "+new")
    assert after == "keep  \nnew\n"


def test_indentation_is_ignored_in_the_third_pass(tmp_path: Path) -> None:
    after = update(tmp_path, "f.py", "if x:\n        a()\n", "@@", " if x:", "-a()", "+    b()")
    assert after == "if x:\n    b()\n"


@pytest.mark.parametrize(
    ("file_line", "patch_line"),
    [
        ("x = \u201cquoted\u201d", 'x = "quoted"'),
        ("it\u2019s \u2018so\u2019", "it's 'so'"),
        ("a \u2013 b \u2014 c \u2212 d", "a - b - c - d"),
        ("a\u00a0=\u2009b", "a = b"),
    ],
)
def test_typographic_punctuation_is_normalised_in_the_fourth_pass(
    tmp_path: Path, file_line: str, patch_line: str
) -> None:
    after = update(tmp_path, "f.txt", f"top\n{file_line}\n", "@@", " top", f"-{patch_line}", "+ok")
    assert after == "top\nok\n"


def test_fuzzy_matched_context_lines_keep_the_files_own_text(tmp_path: Path) -> None:
    after = update(tmp_path, "f.txt", "\tindented  \nold\n", "@@", " indented", "-old", "+new")
    assert after == "\tindented  \nnew\n"


def test_stacked_anchors_narrow_down_to_the_nested_definition(tmp_path: Path) -> None:
    source = (
        "class A:\n    def bar(self):\n        return 1\n\n"
        "class Foo:\n    def baz(self):\n        return 1\n\n    def bar(self):\n        return 1\n"
    )
    change = ("@@ class Foo", "@@     def bar", "-        return 1", "+        return 2")
    after = update(tmp_path, "m.py", source, *change)
    assert after == source[: source.rindex("return 1")] + "return 2\n"


def test_anchor_may_abbreviate_the_line_it_names(tmp_path: Path) -> None:
    source = "def g(a, b):\n    return a\n\ndef f(a, b):\n    return a\n"
    after = update(tmp_path, "m.py", source, "@@ def f", "-    return a", "+    return b")
    assert after == source[: source.rindex("return a")] + "return b\n"


def test_whole_line_anchor_beats_an_earlier_abbreviation_match(tmp_path: Path) -> None:
    after = update(tmp_path, "m.txt", "foo bar\nx\nfoo\nx\n", "@@ foo", "-x", "+y")
    assert after == "foo bar\nx\nfoo\ny\n"


def test_missing_anchor_is_reported_with_its_text(tmp_path: Path) -> None:
    with pytest.raises(PatchError, match="Failed to find context 'class Nope' in m.py"):
        update(tmp_path, "m.py", "x\n", "@@ class Nope", "-x", "+y")


def test_missing_lines_are_reported_with_the_lines_sought(tmp_path: Path) -> None:
    with pytest.raises(PatchError, match="Failed to find expected lines in m.py:\nnope\nnada$"):
        update(tmp_path, "m.py", "x\n", "@@", " nope", "-nada", "+y")


def test_end_of_file_marker_prefers_the_last_occurrence(tmp_path: Path) -> None:
    after = update(tmp_path, "f.txt", "end\nmid\nend\n", "@@", "-end", "+END", "*** End of File")
    assert after == "end\nmid\nEND\n"


def test_end_of_file_marker_falls_back_to_searching_from_the_cursor(tmp_path: Path) -> None:
    after = update(tmp_path, "f.txt", "a\nb\nc\n", "@@", "-a", "+A", "*** End of File")
    assert after == "A\nb\nc\n"


def test_trailing_blank_context_line_that_is_not_in_the_file_is_dropped(tmp_path: Path) -> None:
    after = update(tmp_path, "f.txt", "a\nb\n", "@@", " a", "-b", "+B", "")
    assert after == "a\nB\n"


def test_pure_addition_without_anchor_appends_at_end_of_file(tmp_path: Path) -> None:
    assert update(tmp_path, "f.txt", "a\nb\n", "@@", "+c") == "a\nb\nc\n"


def test_pure_addition_under_an_anchor_goes_right_below_it(tmp_path: Path) -> None:
    after = update(tmp_path, "f.py", "def f():\n    pass\n", "@@ def f():", '+    """Doc."""')
    assert after == 'def f():\n    """Doc."""\n    pass\n'


def test_stray_blank_line_in_a_pure_addition_still_appends_at_end_of_file(tmp_path: Path) -> None:
    assert update(tmp_path, "f.txt", "a\nb\n", "@@", "+c", "", "+d") == "a\nb\nc\n\nd\n"


def test_trailing_blank_line_after_a_pure_addition_is_not_added(tmp_path: Path) -> None:
    (tmp_path / "g.txt").write_text("g\n")
    text = patch("*** Update File: f.txt", "@@", "+c", "", "*** Update File: g.txt", "@@", "+h")
    (tmp_path / "f.txt").write_text("a\n")
    apply(tmp_path, text)
    assert (tmp_path / "f.txt").read_text() == "a\nc\n"


def test_git_style_range_header_counts_as_a_bare_anchor(tmp_path: Path) -> None:
    assert update(tmp_path, "f.txt", "a\nb\n", "@@ -1,2 +1,2 @@", " a", "-b", "+c") == "a\nc\n"


def test_chunks_apply_in_order_and_the_file_gains_a_final_newline(tmp_path: Path) -> None:
    after = update(tmp_path, "f.txt", "1\n2\n3\n4", "@@", "-2", "+two", "@@", "-4", "+four")
    assert after == "1\ntwo\n3\nfour\n"


def test_deleting_every_line_leaves_an_empty_file(tmp_path: Path) -> None:
    assert update(tmp_path, "f.txt", "a\nb\n", "@@", "-a", "-b") == ""


def test_crlf_file_keeps_crlf_endings(tmp_path: Path) -> None:
    after = update(tmp_path, "w.txt", "one\r\ntwo\r\nthree\r\n", "@@", " one", "-two", "+2", "+2b")
    assert after == "one\r\n2\r\n2b\r\nthree\r\n"


def test_lf_file_stays_lf_and_new_files_get_lf(tmp_path: Path) -> None:
    assert update(tmp_path, "u.txt", "a\nb\n", "@@", "-a", "+A") == "A\nb\n"
    apply(tmp_path, patch("*** Add File: n.txt", "+x", "+y"))
    assert (tmp_path / "n.txt").read_bytes() == b"x\ny\n"


def test_fifty_thousand_line_file_is_patched_correctly(tmp_path: Path) -> None:
    lines = [f"line {i}" for i in range(50_000)]
    after = update(
        tmp_path,
        "big.txt",
        "\n".join(lines) + "\n",
        "@@",
        " line 24998",
        "-line 24999",
        "+middle",
        "@@",
        " line 49998",
        "-line 49999",
        "+last",
        "*** End of File",
    )
    expected = lines[:24999] + ["middle"] + lines[25000:49999] + ["last"]
    assert after == "\n".join(expected) + "\n"


# ---------------------------------------------------------------------------------------- paths


@pytest.mark.parametrize("bad", ["/etc/passwd", "~/x", "../x", "a/../../x", "a/..", "C:/x"])
def test_absolute_and_parent_paths_are_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(PatchError, match="Refusing"):
        plan_patch(patch(f"*** Add File: {bad}", "+x"), tmp_path)


def test_symlinked_file_escaping_the_root_is_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside.txt"
    root.mkdir()
    outside.write_text("secret\n")
    (root / "link.txt").symlink_to(outside)
    with pytest.raises(PatchError, match="outside the workspace"):
        plan_patch(patch("*** Update File: link.txt", "@@", "-secret", "+gone"), root)
    assert outside.read_text() == "secret\n"


def test_symlinked_parent_directory_escaping_the_root_is_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "sub").symlink_to(outside, target_is_directory=True)
    with pytest.raises(PatchError, match="outside the workspace"):
        plan_patch(patch("*** Add File: sub/new.txt", "+x"), root)
    assert list(outside.iterdir()) == []


def test_move_destination_escaping_the_root_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "a.txt").write_text("a\n")
    (root / "out").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(PatchError, match="outside the workspace"):
        plan_patch(patch("*** Update File: a.txt", "*** Move to: out/a.txt", "@@", "+b"), root)


def test_extra_allowed_root_accepts_paths_resolving_into_it(tmp_path: Path) -> None:
    root, extra = tmp_path / "root", tmp_path / "extra"
    root.mkdir()
    extra.mkdir()
    (root / "ext").symlink_to(extra, target_is_directory=True)
    apply_changes(plan_patch(patch("*** Add File: ext/n.txt", "+x"), root, [root, extra]))
    assert (extra / "n.txt").read_text() == "x\n"


def test_deleting_a_symlink_removes_the_link_not_its_target(tmp_path: Path) -> None:
    (tmp_path / "target.txt").write_text("t\n")
    (tmp_path / "link.txt").symlink_to(tmp_path / "target.txt")
    apply(tmp_path, patch("*** Delete File: link.txt"))
    assert not (tmp_path / "link.txt").is_symlink()
    assert (tmp_path / "target.txt").read_text() == "t\n"


# -------------------------------------------------------------------------------- all or nothing


def test_failing_second_hunk_leaves_the_first_file_untouched(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a\n")
    text = patch(
        "*** Update File: a.txt", "@@", "-a", "+A", "*** Update File: b.txt", "@@", "-b", "+B"
    )
    with pytest.raises(PatchError, match="'b.txt': no such file"):
        apply(tmp_path, text)
    assert tree(tmp_path) == {"a.txt": b"a\n"}


def test_write_failure_midway_rolls_back_every_earlier_write(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a\n")
    (tmp_path / "gone.sh").write_text("#!/bin/sh\n")
    (tmp_path / "gone.sh").chmod(0o755)
    (tmp_path / "blocker").write_text("a file where a directory is needed\n")
    before = tree(tmp_path)
    text = patch(
        "*** Update File: a.txt",
        "@@",
        "-a",
        "+A",
        "*** Delete File: gone.sh",
        "*** Add File: fresh/deep/n.txt",
        "+n",
        "*** Add File: blocker/x.txt",
        "+x",
    )
    changes = plan_patch(text, tmp_path)
    with pytest.raises(PatchError, match="Failed to write 'blocker/x.txt'.*No files were changed"):
        apply_changes(changes)
    assert tree(tmp_path) == before
    assert stat.S_IMODE((tmp_path / "gone.sh").stat().st_mode) == 0o755


def test_rollback_removes_a_folder_the_patch_made_where_a_moved_file_was(tmp_path: Path) -> None:
    (tmp_path / "c.py").write_text("c\n")
    (tmp_path / "blocker").write_text("a file where a directory is needed\n")
    before = tree(tmp_path)
    text = patch(
        *("*** Update File: c.py", "*** Move to: moved.py", "@@", " c"),
        *("*** Add File: c.py/x", "+x", "*** Add File: blocker/x.txt", "+x"),
    )
    with pytest.raises(PatchError, match="No files were changed"):
        apply(tmp_path, text)
    assert tree(tmp_path) == before


def test_file_changed_after_planning_is_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a\n")
    changes = plan_patch(patch("*** Update File: a.txt", "@@", "-a", "+A"), tmp_path)
    (tmp_path / "a.txt").write_text("someone else\n")
    with pytest.raises(PatchError, match="changed since the patch was checked"):
        apply_changes(changes)
    assert (tmp_path / "a.txt").read_text() == "someone else\n"


def test_later_hunks_see_what_earlier_hunks_of_the_same_patch_did(tmp_path: Path) -> None:
    text = patch(
        "*** Add File: a.txt", "+one", "*** Update File: a.txt", "@@", "-one", "+two"
    )
    apply(tmp_path, text)
    assert (tmp_path / "a.txt").read_text() == "two\n"


def test_move_into_a_new_directory_keeps_the_file_mode(tmp_path: Path) -> None:
    (tmp_path / "run.sh").write_text("echo a\n")
    (tmp_path / "run.sh").chmod(0o755)
    out = apply(
        tmp_path,
        patch("*** Update File: run.sh", "*** Move to: bin/new/run.sh", "@@", "-echo a", "+echo b"),
    )
    assert out == "Success. Updated the following files:\nM bin/new/run.sh"
    assert tree(tmp_path) == {"bin": None, "bin/new": None, "bin/new/run.sh": b"echo b\n"}
    assert os.access(tmp_path / "bin/new/run.sh", os.X_OK)


def test_add_over_an_existing_file_replaces_it_and_creates_parents(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("old\n")
    out = apply(tmp_path, patch("*** Add File: a.txt", "+new", "*** Add File: d/e/f.txt", "+f"))
    assert out == "Success. Updated the following files:\nA a.txt\nA d/e/f.txt"
    assert (tmp_path / "a.txt").read_text() == "new\n"
    assert (tmp_path / "d/e/f.txt").read_text() == "f\n"


def test_adding_over_a_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    with pytest.raises(PatchError, match="'d': it is a directory"):
        plan_patch(patch("*** Add File: d", "+x"), tmp_path)


def test_summary_lists_added_then_modified_then_deleted(tmp_path: Path) -> None:
    (tmp_path / "m.txt").write_text("m\n")
    (tmp_path / "d.txt").write_text("d\n")
    text = patch(
        *("*** Delete File: d.txt", "*** Update File: m.txt", "@@", "-m", "+M"),
        *("*** Add File: a.txt", "+a"),
    )
    summary = "Success. Updated the following files:\nA a.txt\nM m.txt\nD d.txt"
    assert apply(tmp_path, text) == summary


# ----------------------------------------------------------------------------------------- diff


def test_unified_diff_of_an_update_is_git_style(tmp_path: Path) -> None:
    change = FileChange("update", tmp_path / "f.txt", "f.txt", "a\nb\nc\n", "a\nB\nc\nd\n")
    assert unified_diff(change) == (
        "--- a/f.txt\n+++ b/f.txt\n@@ -1,3 +1,4 @@\n a\n-b\n+B\n c\n+d\n"
    )
    assert diff_stats(change) == (2, 1)


def test_unified_diff_of_add_delete_and_move(tmp_path: Path) -> None:
    add = FileChange("add", tmp_path / "n.txt", "n.txt", None, "x\r\ny\r\n")
    delete = FileChange("delete", tmp_path / "o.txt", "o.txt", "z\n", None)
    move = FileChange("update", tmp_path / "a", "a", "k\n", "k\n", tmp_path / "b", "b")
    assert unified_diff(add) == "--- /dev/null\n+++ b/n.txt\n@@ -0,0 +1,2 @@\n+x\n+y\n"
    assert unified_diff(delete) == "--- a/o.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-z\n"
    assert unified_diff(move) == "--- a/a\n+++ b/b\n"
    assert [diff_stats(c) for c in (add, delete, move)] == [(2, 0), (0, 1), (0, 0)]


def test_unified_diff_context_width_is_configurable(tmp_path: Path) -> None:
    old = "".join(f"{i}\n" for i in range(10))
    change = FileChange("update", tmp_path / "f", "f", old, old.replace("5\n", "five\n"))
    expected = "--- a/f\n+++ b/f\n@@ -5,3 +5,3 @@\n 4\n-5\n+five\n 6\n"
    assert unified_diff(change, context=1) == expected
