"""Theme files: built-ins load, bad user files are reported and skipped, nothing is clobbered."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import pytest
from textual.app import App
from textual.theme import BUILTIN_THEMES

from tui.app.themes import APP_VARIABLES, app_color, app_variable_defaults, load_themes

BUILTIN_NAMES = ["codeloop-dark", "codeloop-high-contrast", "codeloop-light"]
REPO = Path(__file__).resolve().parents[1]

GOOD = """
name = "midnight"
primary = "#3366ff"
background = "#000010"
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_each_builtin_theme_loads_and_sets_every_codeloop_variable(name: str) -> None:
    themes, errors = load_themes(None)
    assert errors == []
    theme = themes[name]
    assert set(APP_VARIABLES) <= set(theme.variables)
    # The shipped files spell every variable out rather than leaning on the fallbacks.
    raw = tomllib.loads((REPO / "themes" / f"{name}.toml").read_text(encoding="utf-8"))
    assert set(APP_VARIABLES) <= set(raw["variables"])
    assert theme.dark is (name != "codeloop-light")


def test_a_missing_user_folder_is_not_an_error(tmp_path: Path) -> None:
    themes, errors = load_themes(tmp_path / "themes")
    assert sorted(themes) == BUILTIN_NAMES and errors == []


def test_broken_user_themes_are_reported_by_file_and_the_others_still_load(
    tmp_path: Path,
) -> None:
    write(tmp_path, "good.toml", GOOD)
    not_toml = write(tmp_path, "broken.toml", 'name = "x"\nprimary = \n')
    wrong = write(
        tmp_path,
        "typos.toml",
        'name = "typos"\nprimry = "#fff"\nprimary = "blurple"\ndark = "no"\n'
        '[variables]\ndiff-added-bg = "greenish"\n',
    )
    write(tmp_path, "notes.txt", "not a theme, not even looked at")

    themes, errors = load_themes(tmp_path)

    assert "midnight" in themes and set(BUILTIN_NAMES) <= set(themes)
    assert "typos" not in themes
    assert len(errors) == 2
    broken, typos = errors
    assert str(not_toml) in broken and "not valid TOML" in broken
    assert str(wrong) in typos
    for problem in (
        "unknown key 'primry'",
        "primary: 'blurple' is not a colour",
        "dark: Input should be a valid boolean",
        "diff-added-bg: 'greenish' is not a colour",
    ):
        assert problem in typos


def test_missing_required_keys_are_named(tmp_path: Path) -> None:
    path = write(tmp_path, "empty.toml", "dark = false\n")
    _, errors = load_themes(tmp_path)
    assert errors == [
        f"theme file {path}: missing required key 'name'; missing required key 'primary'"
    ]


def test_a_user_theme_cannot_replace_a_builtin_or_an_earlier_user_theme(tmp_path: Path) -> None:
    builtin_before, _ = load_themes(None)
    textual_before = copy.deepcopy(BUILTIN_THEMES)
    write(tmp_path, "a.toml", 'name = "codeloop-dark"\nprimary = "#ff0000"\n')
    write(tmp_path, "b.toml", 'name = "textual-dark"\nprimary = "#ff0000"\n')
    write(tmp_path, "c.toml", GOOD)
    second = write(tmp_path, "d.toml", GOOD.replace("#3366ff", "#ff0000"))

    themes, errors = load_themes(tmp_path)

    assert themes["codeloop-dark"] == builtin_before["codeloop-dark"]
    assert themes["midnight"].primary == "#3366ff"  # the first file of a name wins
    assert BUILTIN_THEMES == textual_before
    assert [e.split(": ", 1)[1] for e in errors] == [
        "name 'codeloop-dark' is taken by a built-in theme; choose another name",
        "name 'textual-dark' is taken by a built-in theme; choose another name",
        f"name 'midnight' is already used by {tmp_path / 'c.toml'}",
    ]
    assert str(second) in errors[2]


def test_a_user_theme_gets_fallbacks_for_its_darkness_and_keeps_its_own_values(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        "paper.toml",
        'name = "paper"\nprimary = "#333333"\ndark = false\n'
        '[variables]\nbudget-ok = "#008800"\nfooter-key-foreground = "#aa0000"\n',
    )
    themes, errors = load_themes(tmp_path)
    assert errors == []
    variables = themes["paper"].variables
    light = app_variable_defaults(dark=False)
    assert variables["budget-ok"] == "#008800"
    assert variables["footer-key-foreground"] == "#aa0000"  # Textual's own variables pass through
    assert {k: variables[k] for k in APP_VARIABLES if k != "budget-ok"} == {
        k: v for k, v in light.items() if k != "budget-ok"
    }


async def test_a_registered_theme_feeds_the_widgets_colours() -> None:
    app: App[None] = App()
    async with app.run_test() as pilot:
        assert app_color(app, "diff-added-bg") == app_variable_defaults(dark=True)["diff-added-bg"]
        themes, _ = load_themes(None)
        app.register_theme(themes["codeloop-light"])
        app.theme = "codeloop-light"
        await pilot.pause()
        assert app_color(app, "diff-added-bg") == "#dafbe1"


def test_the_wheel_lists_what_package_discovery_would_find_plus_the_themes() -> None:
    # pyproject lists packages by hand (only so `tui._themes` can be mapped onto themes/); a
    # package added under tui/ without being listed would silently go missing from the wheel.
    import setuptools  # a test dependency (pyproject), also on Pythons whose venvs lack it
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    listed = pyproject["tool"]["setuptools"]["packages"]
    discovered = setuptools.find_namespace_packages(where=str(REPO), include=["tui*"])
    assert sorted(listed) == sorted([*discovered, "tui._themes"])
