"""Themes are data: TOML files validated by a pydantic model and turned into Textual themes.

Built-in themes live in the repository's top-level `themes/` folder, installed as the package
`tui._themes`; user themes are `*.toml` files in `$CODELOOP_HOME/themes/`. A broken user file
is skipped with a message naming the file and the problem, never a crash: a typo in a colour
must not stop the agent from starting.

Besides Textual's own theme variables, codeloop defines `APP_VARIABLES` (diff and budget
colours). Widgets read them through `app_color`, not `$name` in their CSS, because Textual
refuses to parse CSS that mentions a variable the running app never declared.
"""

from __future__ import annotations

import importlib.resources
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)
from textual.color import Color, ColorParseError
from textual.theme import BUILTIN_THEMES, Theme

if TYPE_CHECKING:
    from textual.app import App

BUILTIN_PACKAGE = "tui._themes"
DEFAULT_THEME = "codeloop-dark"

# Fallbacks for codeloop's own variables, chosen by the theme's darkness so that a user theme
# (or one of Textual's) that leaves them out still gets readable diff and budget colours.
_DARK_DEFAULTS: dict[str, str] = {
    "diff-added-bg": "#173322",
    "diff-removed-bg": "#3b1d23",
    "diff-added-fg": "#6fdc8c",
    "diff-removed-fg": "#ff8a8a",
    "budget-ok": "#5cc98a",
    "budget-warn": "#e8b44c",
    "budget-danger": "#e5616b",
}
_LIGHT_DEFAULTS: dict[str, str] = {
    "diff-added-bg": "#dafbe1",
    "diff-removed-bg": "#ffebe9",
    "diff-added-fg": "#1a7f37",
    "diff-removed-fg": "#cf222e",
    "budget-ok": "#1a7f37",
    "budget-warn": "#9a6700",
    "budget-danger": "#cf222e",
}
APP_VARIABLES: tuple[str, ...] = tuple(_DARK_DEFAULTS)
"""The theme variables codeloop adds to Textual's; every value must be a colour."""


def app_variable_defaults(dark: bool) -> dict[str, str]:
    """Defaults for `APP_VARIABLES`; return these from `App.get_theme_variable_defaults`."""
    return dict(_DARK_DEFAULTS if dark else _LIGHT_DEFAULTS)


def known_themes(app: App[Any]) -> str:
    """Every theme `/theme NAME` accepts, as every message about themes lists them."""
    return ", ".join(sorted(app.available_themes))


def app_color(app: App[Any], name: str) -> str:
    """The value of one of codeloop's variables under the app's current theme."""
    return app.theme_variables.get(name) or app_variable_defaults(app.current_theme.dark)[name]


class ThemeError(Exception):
    """A theme file that cannot be used; the message names the file and the problem."""


def _colour(value: str) -> str:
    try:
        Color.parse(value)
    except ColorParseError:
        raise ValueError(f"{value!r} is not a colour") from None
    return value


Colour = Annotated[str, AfterValidator(_colour)]


class ThemeFile(BaseModel):
    """One theme file. Field names are those of `textual.theme.Theme`."""

    # Strict because TOML values are already typed (`dark = "no"` must not pass as True);
    # extra="forbid" so a misspelt key is reported rather than silently ignored. No
    # use_attribute_docstrings: nothing reads them at run time, and pydantic finds them through
    # inspect.getmodule, which scans every loaded module (~25 ms before the first frame).
    model_config = ConfigDict(extra="forbid", strict=True)

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")]
    """How the theme is selected: `theme = "<name>"` in config.toml."""
    primary: Colour
    """The main accent: focused borders, highlighted rows, the footer keys."""
    secondary: Colour | None = None
    """A second accent; Textual derives one from `primary` when unset."""
    accent: Colour | None = None
    """Draws the eye: links, the diff file counts' emphasis, keywords."""
    foreground: Colour | None = None
    """Default text colour."""
    background: Colour | None = None
    """The screen behind everything."""
    surface: Colour | None = None
    """Widgets' own background (panes, the diff body)."""
    panel: Colour | None = None
    """Headers and bars that sit on a surface."""
    boost: Colour | None = None
    """A translucent colour laid over surfaces for subtle emphasis."""
    success: Colour | None = None
    """Completed plan steps, applied changes."""
    warning: Colour | None = None
    """Things that need attention soon."""
    error: Colour | None = None
    """Failures and denials."""
    dark: bool = True
    """Whether the theme is dark; also picks the defaults for codeloop's variables."""
    variables: dict[str, str] = Field(default_factory=dict)
    """Theme variables: codeloop's `APP_VARIABLES` and any of Textual's (e.g. `border`)."""

    @field_validator("variables")
    @classmethod
    def _app_variables_are_colours(cls, variables: dict[str, str]) -> dict[str, str]:
        for key in APP_VARIABLES:
            if key in variables:
                try:
                    _colour(variables[key])
                except ValueError as exc:
                    raise ValueError(f"{key}: {exc}") from None
        return variables

    def to_theme(self) -> Theme:
        """The Textual theme, with codeloop's variables filled in where the file omits them."""
        fields = self.model_dump(exclude={"name", "variables", "dark"}, exclude_none=True)
        variables = {**app_variable_defaults(self.dark), **self.variables}
        return Theme(name=self.name, dark=self.dark, variables=variables, **fields)


def parse_theme(text: str, origin: str) -> ThemeFile:
    """Validate one theme file's text; `origin` (its path) starts every error message."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ThemeError(f"theme file {origin}: not valid TOML: {exc}") from None
    try:
        return ThemeFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(_describe(error) for error in exc.errors())
        raise ThemeError(f"theme file {origin}: {problems}") from None


def _describe(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return f"unknown key {where!r}"
    if error["type"] == "missing":
        return f"missing required key {where!r}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def builtin_themes() -> dict[str, Theme]:
    """codeloop's own themes. These ship with the package, so a bad one is a bug: it raises."""
    themes: dict[str, Theme] = {}
    folder = importlib.resources.files(BUILTIN_PACKAGE)
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            theme = parse_theme(entry.read_text(encoding="utf-8"), entry.name).to_theme()
            themes[theme.name] = theme
    return themes


def load_themes(user_dir: Path | None) -> tuple[dict[str, Theme], list[str]]:
    """Built-in themes plus the valid `*.toml` files in `user_dir`, and a message per bad file.

    A user theme cannot take the name of a built-in theme (codeloop's or Textual's) or of
    another user file: replacing a theme behind the user's back would be a surprise, and the
    first file of a name wins so the outcome does not depend on anything but file names.
    """
    themes = builtin_themes()
    errors: list[str] = []
    if user_dir is None or not user_dir.exists():
        return themes, errors
    if not user_dir.is_dir():
        return themes, [f"theme folder {user_dir}: not a directory"]
    reserved = set(themes) | set(BUILTIN_THEMES)
    origins: dict[str, Path] = {}
    for path in sorted(user_dir.glob("*.toml")):
        try:
            theme = parse_theme(path.read_text(encoding="utf-8"), str(path)).to_theme()
        except ThemeError as exc:
            errors.append(str(exc))
            continue
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(f"theme file {path}: cannot be read: {exc}")
            continue
        if theme.name in reserved:
            errors.append(
                f"theme file {path}: name {theme.name!r} is taken by a built-in theme; "
                "choose another name"
            )
        elif theme.name in origins:
            errors.append(
                f"theme file {path}: name {theme.name!r} is already used by {origins[theme.name]}"
            )
        else:
            origins[theme.name] = path
            themes[theme.name] = theme
    return themes, errors


def markdown_styles(theme: Theme) -> dict[str, str]:
    """Rich's Markdown styles for inline code and plain code blocks, from the app theme: Rich's
    own are cyan on black, a black stripe in a light theme."""
    background = theme.panel or theme.surface or ("#1e1e1e" if theme.dark else "#eeeeee")
    accent = theme.accent or theme.primary
    return {
        "markdown.code": f"bold {accent} on {background}",
        "markdown.code_block": f"{theme.foreground or ('#e0e0e0' if theme.dark else '#1f2328')} on {background}",
    }


def follow_theme_in_markdown(app: App[Any]) -> None:
    """Keep the console's Markdown styles in step with the app theme, now and on every switch."""
    from rich.theme import Theme as RichTheme

    pushed = False

    def apply(theme: Theme) -> None:
        nonlocal pushed
        if pushed:
            app.console.pop_theme()  # the previous theme's, so the stack does not grow
        app.console.push_theme(RichTheme(markdown_styles(theme)))
        pushed = True

    apply(app.current_theme)
    app.theme_changed_signal.subscribe(app, apply)
