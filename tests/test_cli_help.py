"""`codeloop --help` and every subcommand's: a one-line summary, every flag described, examples
that the real parser takes as written (the README's too)."""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tui.cli import build_parser
from tui.cli_help import EXAMPLES, SUMMARY

README = Path(__file__).parent.parent / "README.md"


def parsers() -> dict[str, argparse.ArgumentParser]:
    """Every parser by its command words ("codeloop", "exec", "mcp add", …)."""
    found = {"codeloop": build_parser()}
    todo = [("", found["codeloop"])]
    while todo:
        prefix, parser = todo.pop()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    words = f"{prefix} {name}".strip()
                    found[words] = sub
                    todo.append((words, sub))
    return found


def command_lines(text: str) -> list[list[str]]:
    """The `codeloop …` command of each example line: comments, the part before a pipe and a
    redirection dropped."""
    out = []
    for line in text.splitlines():
        line = line.split(" # ")[0].strip()
        line = line.split("|")[-1].strip()
        if not line.startswith("codeloop"):
            continue
        words = shlex.split(line)
        words = [w for i, w in enumerate(words) if w not in ("<", ">") and (i == 0 or words[i - 1] not in ("<", ">"))]
        out.append(words[1:])
    return out


def test_every_command_has_a_summary_examples_and_help_for_each_flag() -> None:
    found = parsers()
    assert set(found) == set(SUMMARY) == set(EXAMPLES), "a (sub)command without its help texts"
    for words, parser in found.items():
        help_text = parser.format_help()
        summary = SUMMARY[words]
        assert "\n" not in summary and summary.endswith(".") and len(summary) <= 56, words  # one line in the parent's list
        assert summary in help_text.replace("\n", " ") or summary in help_text, words
        assert "\nexamples:\n  codeloop" in help_text, words
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                assert all(a.help for a in action._choices_actions), f"{words}: a subcommand without a summary"
                continue
            assert action.help and action.help != argparse.SUPPRESS, f"{words}: {action.option_strings or action.dest} has no help"


@pytest.mark.parametrize("words", sorted(EXAMPLES))
def test_every_example_parses_as_written(words: str) -> None:
    parser = build_parser()
    for argv in command_lines("\n".join(EXAMPLES[words])):
        cut = argv.index("--") if "--" in argv else len(argv)  # `mcp add NAME -- COMMAND` (see cli.main)
        args, extra = parser.parse_known_args(argv[:cut])
        assert not [w for w in extra if w.startswith("-")], (argv, extra)
        assert (args.command or "codeloop") in (words.split()[0], "exec", "resume"), argv


def test_the_readmes_commands_parse_as_written() -> None:
    parser = build_parser()
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(), re.S)
    commands = [argv for block in blocks for argv in command_lines(block)]
    assert len(commands) > 10 and ["exec", "--full-auto", "fix the failing test"] in commands
    for argv in commands:
        cut = argv.index("--") if "--" in argv else len(argv)
        args, extra = parser.parse_known_args(argv[:cut])
        assert not [w for w in extra if w.startswith("-") and w != "-"], (argv, extra)


def test_the_readme_does_not_show_an_exec_example_that_edits_under_the_default_policy() -> None:
    """Under `untrusted` exec declines every edit: an example that asks for one shows a flag."""
    asking_to_edit = re.compile(r"\b(fix|add|write|change|refactor|implement)\b", re.I)
    for line in README.read_text().splitlines():
        line = line.split(" # ")[0]
        if line.lstrip().startswith(("codeloop exec", "echo")) and "codeloop exec" in line:
            if asking_to_edit.search(line.replace("--verbose", "")):
                assert re.search(r"--full-auto|--yolo|-a never|-a on-request", line), line


@pytest.mark.parametrize("words", ["", "exec", "resume", "serve", "apply-patch", "mcp", "mcp add", "mcp get"])
def test_help_prints_from_the_real_binary(words: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tui", *words.split(), "--help"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith("usage: codeloop") and "examples:\n  codeloop" in proc.stdout
