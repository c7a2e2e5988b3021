"""The layers hold: the protocol at the bottom needs only the standard library, the tools, the
model clients and the safety code never reach up into the engine or the app, and the engine never
into the app or Textual. Read from the source with `ast`, imports inside functions and
TYPE_CHECKING blocks included: a lazy or type-only import is still a dependency on that layer."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import tui

TUI = Path(tui.__file__).parent


def _imported(path: Path, package: Path = TUI) -> Iterator[tuple[int, str]]:
    """(line, dotted name) for every import in the file; `from a import b` yields a and a.b."""
    module = ".".join(path.relative_to(package.parent).with_suffix("").parts)
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against the importing module's package
                base = module.split(".")[: -node.level]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            yield node.lineno, name
            for alias in node.names:
                yield node.lineno, f"{name}.{alias.name}"


def _violations(layer: str, forbidden: tuple[str, ...], package: Path = TUI) -> list[str]:
    found = []
    for path in sorted((package / layer).rglob("*.py")):
        for line, name in _imported(path, package):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                found.append(f"{path.relative_to(package.parent)}:{line} imports {name}")
    return found


def test_protocol_imports_only_the_standard_library() -> None:
    files = sorted((TUI / "protocol").glob("*.py"))
    assert len(files) >= 4, files  # __init__, base, ops and the events
    outside = [
        f"{path.relative_to(TUI.parent)}:{line} imports {name}"
        for path in files
        for line, name in _imported(path)
        if name.split(".")[0] not in sys.stdlib_module_names and not name.startswith("tui.protocol")
    ]
    assert not outside, outside


def test_no_shim_is_left_at_the_old_protocol_path() -> None:
    assert not (TUI / "engine" / "events.py").exists()


def test_tools_model_and_safety_do_not_import_the_engine_or_the_app() -> None:
    found = [v for layer in ("tools", "model", "safety") for v in _violations(layer, ("tui.engine", "tui.app"))]
    assert not found, found


def test_engine_imports_neither_the_app_nor_textual() -> None:
    found = _violations("engine", ("tui.app", "textual"))
    assert not found, found


def test_the_import_reader_sees_lazy_relative_and_from_imports(tmp_path: Path) -> None:
    # The rules above pass on an empty answer; this proves the reader would see a breach.
    package = tmp_path / "tui"
    (package / "tools").mkdir(parents=True)
    sample = package / "tools" / "probe.py"
    sample.write_text(
        "def f():\n    from tui.engine.session import Session\n"
        "from ..app import widgets\nimport textual.app\nfrom tui import engine\n"
    )
    names = {name for _, name in _imported(sample, package)}
    found = _violations("tools", ("tui.engine", "tui.app"), package)
    assert {"tui.engine.session", "tui.app", "tui.app.widgets", "textual.app", "tui.engine"} <= names
    assert len(found) == 5, found
