"""codeloop's built-in themes, installed as the data-only package `tui._themes`.

This file exists only so the package is a regular one: setuptools' editable installs cannot
map a namespace sub-package (`tui._themes` → `themes/`), and importlib.resources then fails.
Copy any `*.toml` here into `$CODELOOP_HOME/themes/` to start a theme of your own.
"""
