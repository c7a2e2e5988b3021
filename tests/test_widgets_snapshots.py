"""The diff, plan and budget panes: SVG snapshots, keys driven through Pilot, the diff parser.

Snapshot tests are sync `def`s (pytest-textual-snapshot runs its own event loop), each in a
tiny host app with codeloop's themes registered, animations off and a fixed terminal size.
Regenerate after an intended change with `pytest tests/test_widgets_snapshots.py
--snapshot-update` and review the SVGs under snapshots/ before committing them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import App, ComposeResult
from textual.widget import Widget

from tui.app.themes import app_variable_defaults, load_themes
from tui.app.widgets.budget import BudgetView, Prices
from tui.app.widgets.diff_view import DiffView, highlight_file, parse_unified_diff
from tui.app.widgets.plan import PlanView
from tui.protocol import CacheMissed, FileChangeSummary, PlanStep, TokenUsage

PYTHON_DIFF = '''\
--- a/tui/greet.py
+++ b/tui/greet.py
@@ -1,7 +1,9 @@
 """Greetings."""
 
-def greet(name):
-    return "Hello " + name
+def greet(name: str, *, excited: bool = False) -> str:
+    """Say hello; `excited` adds a bang."""
+    mark = "!" if excited else "."
+    return f"Hello {name}{mark}"
 
 
 GREETING = greet("world")
'''
MARKDOWN_DIFF = """\
--- a/README.md
+++ b/README.md
@@ -3,4 +3,4 @@
 ## Usage
 
-Run `greet` with a **name**.
+Run `greet` with a **name**; pass `--excited` for a bang.
 See [docs](docs/index.md).
"""
CHANGES = [
    FileChangeSummary("tui/greet.py", "update", 4, 2, PYTHON_DIFF),
    FileChangeSummary("README.md", "update", 1, 1, MARKDOWN_DIFF),
]


class WidgetHost(App[None]):
    """One widget, full screen, under a codeloop theme; `setup` feeds it its data."""

    def __init__(
        self, widget: Widget, setup: Callable[[Any], None], *, theme: str = "codeloop-dark"
    ) -> None:
        super().__init__()
        self.animation_level = "none"
        self.widget, self.setup, self.theme_name = widget, setup, theme

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return app_variable_defaults(dark=True)

    def compose(self) -> ComposeResult:
        yield self.widget

    def on_mount(self) -> None:
        themes, errors = load_themes(None)
        assert not errors
        for theme in themes.values():
            self.register_theme(theme)
        self.theme = self.theme_name
        self.setup(self.widget)


def diff_host(theme: str = "codeloop-dark") -> WidgetHost:
    return WidgetHost(
        DiffView(), lambda view: view.show_changes(CHANGES, label="pending approval"), theme=theme
    )


def feed_budget(view: BudgetView) -> None:
    view.set_limits(200_000, 180_000)
    view.record_usage(TokenUsage(12_000, 0, 800, 200, 12_800, 12_800, 200_000))
    view.record_usage(TokenUsage(30_000, 11_000, 1_500, 600, 31_500, 44_300, 200_000))
    view.record_compaction(150_000, 20_000)
    view.record_usage(TokenUsage(24_000, 20_000, 900, 100, 24_900, 69_200, 200_000))
    view.set_estimate(1_500, approximate=True)


def feed_budget_turns(view: BudgetView) -> None:
    """Two turns of two requests; the second turn's requests missed the cache (a model switch,
    then an eviction)."""
    view.set_limits(200_000, 180_000)
    view.start_turn()
    view.record_usage(TokenUsage(12_000, 0, 800, 200, 12_800, 12_800, 200_000))
    view.record_usage(TokenUsage(13_000, 11_904, 500, 100, 13_500, 26_300, 200_000))
    view.start_turn()
    view.record_usage(TokenUsage(14_000, 0, 600, 0, 14_600, 40_900, 200_000))
    view.record_miss(CacheMissed("model", "gpt-5.4 → gpt-5-mini", 12_928, 0, 3))
    view.record_usage(TokenUsage(15_000, 1_024, 700, 0, 15_700, 56_600, 200_000))
    view.record_miss(CacheMissed("provider_evicted", "the prefix was sent unchanged", 13_952, 1_024, 4))


def feed_plan(view: PlanView) -> None:
    view.update_plan(
        [
            PlanStep("Read the config loader", "completed"),
            PlanStep("Validate theme files and report every bad one by name", "in_progress"),
            PlanStep("Write the snapshot tests", "pending"),
        ],
        "Themes first, then the widgets that use them.",
    )


# ---------------------------------------------------------------- snapshots


def test_diff_view_shows_a_python_and_a_markdown_change(snap_compare: Any) -> None:
    assert snap_compare(diff_host(), terminal_size=(80, 24))


def test_diff_view_follows_the_light_theme(snap_compare: Any) -> None:
    assert snap_compare(diff_host("codeloop-light"), terminal_size=(80, 24))


def test_plan_view_marks_each_step_by_status(snap_compare: Any) -> None:
    assert snap_compare(WidgetHost(PlanView(), feed_plan), terminal_size=(50, 12))


def test_budget_view_after_three_requests_and_a_compaction(snap_compare: Any) -> None:
    view = BudgetView(prices=Prices(input=1.25, cached_input=0.125, output=10.0))
    assert snap_compare(WidgetHost(view, feed_budget), terminal_size=(60, 16))


def test_budget_view_explains_cache_misses_and_prices_the_last_turn(snap_compare: Any) -> None:
    view = BudgetView(prices=Prices(input=1.25, cached_input=0.125, output=10.0))
    assert snap_compare(WidgetHost(view, feed_budget_turns), terminal_size=(60, 22))


# ---------------------------------------------------------------- keys


async def test_bracket_moves_to_the_next_file_and_back() -> None:
    app = diff_host()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(DiffView)
        view.focus()
        await pilot.pause()
        assert view.selected == 0
        await pilot.press("]")
        assert view.selected == 1
        assert view.query_one("#diff-body").file.path == "README.md"  # type: ignore[attr-defined]
        await pilot.press("[")
        assert view.selected == 0
        await pilot.press("n", "n")  # wraps around: two files, two steps
        assert view.selected == 0


async def test_plan_view_says_so_when_there_is_no_plan() -> None:
    app = WidgetHost(PlanView(), lambda view: view.update_plan([], None))
    async with app.run_test(size=(50, 8)):
        texts = [str(static.render()) for static in app.query(".plan-empty")]
        assert texts == [PlanView.EMPTY_TEXT]


async def test_clearing_the_diff_view_shows_the_empty_state() -> None:
    app = diff_host()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(DiffView)
        view.clear()
        await pilot.pause()
        assert view.has_class("-empty") and view.files == [] and view.selected is None


def test_every_diff_binding_has_an_id_for_the_keymap() -> None:
    ids = [binding.id for binding in DiffView.BINDINGS]  # type: ignore[union-attr]
    assert all(ids) and len(set(ids)) == len(ids)
    assert {"diff.next_file", "diff.previous_file"} <= set(ids)


# ---------------------------------------------------------------- parsing

GIT_DIFF = """\
diff --git a/src/app.py b/src/app.py
index 83db48f..bf269f4 100644
--- a/src/app.py
+++ b/src/app.py
@@ -10,3 +10,3 @@ def main():
 keep
--- not a header, a removed line
+++ not a header, an added line
 keep
diff --git a/docs/new.md b/docs/new.md
new file mode 100644
--- /dev/null
+++ b/docs/new.md
@@ -0,0 +1,2 @@
+# New
+text
\\ No newline at end of file
diff --git a/old.txt b/old.txt
deleted file mode 100644
--- a/old.txt
+++ /dev/null
@@ -1 +0,0 @@
-gone
diff --git a/a.py b/b.py
similarity index 100%
rename from a.py
rename to b.py
diff --git a/logo.png b/logo.png
Binary files a/logo.png and b/logo.png differ
"""


def test_git_diff_splits_into_one_section_per_file() -> None:
    files = parse_unified_diff(GIT_DIFF)
    summary = [(f.path, f.kind, f.added, f.removed, f.move_to, f.binary) for f in files]
    assert summary == [
        ("src/app.py", "update", 1, 1, None, False),
        ("docs/new.md", "add", 2, 0, None, False),
        ("old.txt", "delete", 0, 1, None, False),
        ("a.py", "update", 0, 0, "b.py", False),
        ("logo.png", "update", 0, 0, None, True),
    ]
    assert files[3].title == "a.py → b.py"


def test_hunk_lines_carry_old_and_new_line_numbers() -> None:
    lines = parse_unified_diff(GIT_DIFF)[0].lines
    numbered = [(line.kind, line.old_no, line.new_no) for line in lines]
    assert numbered == [
        ("hunk", None, None),
        ("context", 10, 10),
        ("removed", 11, None),
        ("added", None, 11),
        ("context", 12, 12),
    ]
    assert lines[2].text == "-- not a header, a removed line"


def test_plain_diffs_without_git_headers_still_split_per_file() -> None:
    files = parse_unified_diff(PYTHON_DIFF + MARKDOWN_DIFF)
    assert [(f.path, f.added, f.removed) for f in files] == [
        ("tui/greet.py", 4, 2),
        ("README.md", 1, 1),
    ]


def test_highlighting_keeps_one_line_per_diff_line_across_a_docstring() -> None:
    diff = '--- a/m.py\n+++ b/m.py\n@@ -1,3 +1,3 @@\n x = """\n-old\n+new\n """\n'
    file = parse_unified_diff(diff)[0]
    code = highlight_file(file)
    assert [content.plain for content in code] == ["@@ -1,3 +1,3 @@", 'x = """', "old", "new", '"""']
    # Lexed as one text per side, "new" is inside the string literal, so it is styled as one.
    assert code[3].spans and code[2].spans


def test_unknown_file_types_fall_back_to_plain_text() -> None:
    file = parse_unified_diff("--- a/x.unknownext\n+++ b/x.unknownext\n@@ -1 +1 @@\n-a\tb\n+c\n")[0]
    code = highlight_file(file)
    assert [content.spans for content in code] == [[], [], []]
    assert code[1].plain == "a   b"  # tabs expanded so columns line up with the gutter


async def test_panes_repaint_in_the_new_theme_colours_after_a_switch() -> None:
    dark_added, light_added = "#6fdc8c", "#1a7f37"  # diff-added-fg in the two themes
    app = diff_host()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert dark_added in app.export_screenshot().lower()
        app.theme = "codeloop-light"
        await pilot.pause()
        screenshot = app.export_screenshot().lower()
        assert light_added in screenshot and dark_added not in screenshot


async def test_budget_values_wrap_under_their_own_column_in_a_narrow_pane() -> None:
    view = BudgetView()
    async with WidgetHost(view, feed_budget).run_test(size=(30, 30)) as pilot:
        await pilot.pause()
        lines = str(view.render()).split("\n")
        assert all(len(line) <= view.size.width for line in lines)
        assert view.size.height == len(lines)
        last = lines.index(next(line for line in lines if line.startswith("Last")))
        assert lines[last + 1].startswith(" " * 10) and lines[last + 1].strip()


async def test_arrow_keys_scroll_the_code_but_the_line_numbers_stay() -> None:
    long_line = "x = " + " + ".join(f"value_{n}" for n in range(40))
    diff = f"--- a/long.py\n+++ b/long.py\n@@ -1 +1 @@\n-x = 0\n+{long_line}\n"
    app = WidgetHost(DiffView(), lambda view: view.show_unified(diff, label="working tree"))
    async with app.run_test(size=(60, 12)) as pilot:
        view = app.query_one(DiffView)
        view.focus()
        body = view.query_one("#diff-body")
        await pilot.pause()
        before = body.render_line(2).text
        await pilot.press("l", "l")
        after = body.render_line(2).text
        assert body.scroll_offset.x == 8
        gutter = "   1 + "  # no old line number, new line 1, the sign
        assert before.startswith(gutter) and after.startswith(gutter)
        visible = len(before) - len(gutter)
        assert before[len(gutter) :] == long_line[:visible]
        assert after[len(gutter) :] == long_line[8 : 8 + visible]
