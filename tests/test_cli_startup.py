"""The start path stays lazy: --version and --help (also `serve --help`) import neither textual nor openai."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tui import __version__


@pytest.mark.parametrize("flag", ["--version", "--help", "serve --help"])
def test_start_path_imports_neither_textual_nor_openai(flag: str) -> None:
    code = (
        "import sys\n"
        "from tui.cli import main\n"
        "try:\n"
        f"    main({flag.split()!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in {'textual', 'openai', 'pydantic', 'tiktoken'})\n"
        "print('HEAVY:' + ','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY:\n" in out.stdout, out.stdout
    if flag == "--version":
        assert f"codeloop {__version__}" in out.stdout


def test_console_script_prints_version() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tui", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"codeloop {__version__}"
