"""Shared pieces of the property tests (tests/test_fuzz_*.py): settings, regression-case helper,
and the strategies more than one fuzzer draws from (patch texts, odd JSON values).

The fuzzers pin what untrusted input (a model's patches and arguments, a server's stream, a user's
config) may never do to codeloop; every bug they found is fixed and kept as a named regression
case (`fixed`, `@example`).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# CODELOOP_FUZZ_EXAMPLES=20000 (with `-o timeout=0`) for a longer hunt; the default keeps each test to seconds.
EXAMPLES = int(os.environ.get("CODELOOP_FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def fixed(bugs: dict[str, tuple[Any, str]]) -> list[Any]:
    """Bugs found by fuzzing and since fixed: kept as named regression cases."""
    return [pytest.param(body, id=name) for name, (body, _) in bugs.items()]


# ------------------------------------------------------------------ apply_patch texts
#
# The workspace lives in `outer/root`; `outer` also holds a canary file and a sibling folder that
# symlinks in the workspace point at. Every example starts from the same tree.

FILES = {
    "a.txt": b"alpha\nbeta\ngamma\n",
    "b.txt": b"one\r\ntwo\r\n",
    "dir/c.py": b"def f():\n    return 1\n\ndef g():\n    return 2\n",
    "blocker": b"a file where a directory is needed\n",
    "latin1.txt": b"caf\xe9\n",
}
LINKS = {"out": "../sibling", "link": "../canary.txt", "inlink": "a.txt", "dangling": "nowhere.txt"}
OUTER = "{outer}"  # replaced by the real folder: absolute paths aimed at the canary
PATHS = [
    *FILES, *LINKS, "dir", "new.txt", "new/deep/n.txt", "blocker/x.txt", "dir/c.py/x",
    "./a.txt", "dir//c.py", "a.txt/", "", ".", "a\x00b", "é\udcff", "x" * 300,
    "../canary.txt", "../sibling/s.txt", "out/s.txt", "out/new.txt", "dir/../../canary.txt",
    f"{OUTER}/canary.txt", f"{OUTER}/root/a.txt", "~/x", "C:/x", "\\x",
]  # fmt: skip
FILE_LINES = [
    line for data in FILES.values() for line in data.decode("utf-8", "replace").splitlines()
]
any_path = st.sampled_from(PATHS) | st.text(max_size=12)
any_line = st.sampled_from([*FILE_LINES, "", "  alpha  ", "\u201cbeta\u201d", "    return 1"]) | st.text(max_size=12)
_change = st.builds("{}{}".format, st.sampled_from([" ", "-", "+", ""]), any_line)
_chunk = st.builds(
    lambda header, lines, eof: [header, *lines, *(["*** End of File"] if eof else [])],
    st.sampled_from(["@@", "@@ def g():", "@@ def f", "@@ -1,2 +1,2 @@"]) | _change.map("@@ {}".format),
    st.lists(_change, max_size=5),
    st.booleans(),
)
_hunk = st.one_of(
    st.builds(lambda p, lines: [f"*** Add File: {p}", *("+" + x for x in lines)], any_path, st.lists(any_line, max_size=4)),
    st.builds(lambda p: [f"*** Delete File: {p}"], any_path),
    st.builds(
        lambda p, move, chunks: [
            f"*** Update File: {p}", *([f"*** Move to: {move}"] if move is not None else []),
            *(line for chunk in chunks for line in chunk),
        ],
        any_path,
        st.none() | any_path,
        st.lists(_chunk, max_size=3),
    ),
)  # fmt: skip


def _render(parts: list[list[str]], framed: bool, crlf: bool) -> str:
    lines = [line for part in parts for line in part]
    if framed:
        lines = ["*** Begin Patch", *lines, "*** End Patch"]
    text = "\n".join(lines) + "\n"
    return text.replace("\n", "\r\n") if crlf else text


@st.composite
def _matching_update(draw: st.DrawFn) -> list[str]:
    """An Update File hunk whose lines come from the file itself, so it usually applies."""
    rel = draw(st.sampled_from(["a.txt", "b.txt", "dir/c.py", "inlink", "latin1.txt"]))
    lines = FILES[LINKS.get(rel, rel)].decode("utf-8", "surrogateescape").splitlines()
    start = draw(st.integers(0, len(lines) - 1))
    stop = draw(st.integers(start + 1, len(lines)))
    body = [draw(st.sampled_from([" ", "-"])) + line for line in lines[start:stop]]
    at = draw(st.integers(0, len(body)))
    body[at:at] = ["+" + added for added in draw(st.lists(any_line, max_size=2))]
    move = draw(st.none() | st.sampled_from(["moved.txt", "dir/m.py", "a.txt", "blocker/m.txt", *PATHS]))
    return [f"*** Update File: {rel}", *([f"*** Move to: {move}"] if move is not None else []), "@@", *body]


# Plans fine, fails at write time: the parent "folder" is a file.
_unwritable_add = st.sampled_from(["blocker/x.txt", "dir/c.py/x"]).map(lambda p: [f"*** Add File: {p}", "+x"])
# Loose lines that break the structure: stray markers, heredoc wrappers, anything at all.
_PIECES = st.one_of(
    st.sampled_from(
        ["*** Begin Patch", "*** End Patch", "*** End of File", "@@", "@@ def f", "", " a", "-a", "+b", "<<'EOF'", "EOF"]
    ),
    st.builds("{}{}".format, st.sampled_from(["*** Add File: ", "*** Delete File: ", "*** Update File: ", "*** Move to: "]), any_path),
    st.builds("{}{}".format, st.sampled_from([" ", "-", "+", "@@ "]), st.text(max_size=12)),
    st.text(max_size=20),
)  # fmt: skip
patch_text = st.one_of(
    # Well-formed patches, mostly over real files: these get planned, written and rolled back.
    st.builds(
        _render,
        st.lists(_matching_update() | _hunk | _unwritable_add, min_size=1, max_size=4),
        st.just(True),
        st.booleans(),
    ),
    # Anything near a patch.
    st.builds(_render, st.lists(_hunk | _PIECES.map(lambda line: [line]), max_size=6), st.booleans(), st.booleans()),
)


# ------------------------------------------------------------------ odd JSON values

# Characters that trip up encoders: NUL, lone surrogates (JSON `\udcff` escapes decode to them),
# a non-BMP emoji, a bidi override.
odd_text = st.text(st.sampled_from(["a", " ", "\n", "\x00", "é", "\udcff", "\ud800", "😀", "\u202e", "\\", '"']), max_size=8)
any_str = st.text(max_size=12) | odd_text
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | any_str,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
