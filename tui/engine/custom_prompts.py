"""Custom prompts, Codex's convention: `$CODELOOP_HOME/prompts/NAME.md` is `/prompts:NAME`.

A file may open with front matter (`---`, `key: value` lines, `---`): `description` and
`argument-hint` say what the slash popup shows; the rest is the prompt. What follows the command
fills its placeholders: `$1`…`$9` the words in order (shell-style quoting keeps spaces inside a
word), `$ARGUMENTS` all of them, `$NAME` (capitals, digits, `_`) the value of a `NAME=value`
word, and `$$` is a literal `$`. Substitution is one pass over the prompt, so a value holding
`$1` or `$NAME` stays as typed. A named placeholder with no value is an error that names it.

A file that cannot be used (not UTF-8, control characters, front matter left open or malformed, over
`MAX_PROMPT_BYTES`, a name that cannot be typed as a command, not a regular file) is skipped with
a message naming it; loading never fails as a whole.
"""

from __future__ import annotations

import re
import shlex
import stat
from dataclasses import dataclass
from pathlib import Path

PREFIX = "/prompts:"
MAX_PROMPT_BYTES = 64 * 1024
MAX_PROMPTS = 200
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_PLACEHOLDER = re.compile(r"\$(\$|[1-9]|[A-Z][A-Z0-9_]*)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_ASSIGNMENT = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)$", re.DOTALL)


class PromptArgsError(ValueError):
    """What follows the command does not fill the prompt; the message says what is missing."""


@dataclass(frozen=True)
class CustomPrompt:
    name: str
    body: str
    description: str = ""
    argument_hint: str = ""

    @property
    def command(self) -> str:
        return PREFIX + self.name

    @property
    def named(self) -> list[str]:
        """The named placeholders, in order of first use (`$ARGUMENTS` is not one)."""
        names: list[str] = []
        for m in _PLACEHOLDER.finditer(self.body):
            key = m.group(1)
            if key[0].isalpha() and key != "ARGUMENTS" and key not in names:
                names.append(key)
        return names

    @property
    def takes_arguments(self) -> bool:
        return any(m.group(1) != "$" for m in _PLACEHOLDER.finditer(self.body))

    @property
    def summary(self) -> str:
        """The popup's line: the description, else the first words of the prompt."""
        if self.description:
            return self.description
        first = next((line for line in self.body.splitlines() if line.strip()), "")
        words = _PLACEHOLDER.sub("", first.lstrip("# ").replace("`", "").replace("*", "")).split()
        return " ".join(words[:8]) + (" …" if len(words) > 8 else "")

    def expand(self, arguments: str) -> str:
        """The prompt with its placeholders filled from `arguments`. Raises PromptArgsError."""
        try:
            words = shlex.split(arguments)
        except ValueError as e:
            raise PromptArgsError(f"{self.command}: cannot read the arguments ({e}); quote a value with spaces in double quotes") from None
        wanted = set(self.named)
        values: dict[str, str] = {}
        positional: list[str] = []
        for word in words:
            m = _ASSIGNMENT.match(word)
            if m is not None and m.group(1) in wanted:
                values[m.group(1)] = m.group(2)
            else:
                positional.append(word)
        missing = [name for name in self.named if name not in values]
        if missing:
            raise PromptArgsError(
                f"{self.command} needs {', '.join(missing)}: give them as NAME=value "
                f"(quote values with spaces: NAME=\"two words\")"
            )

        def fill(m: re.Match[str]) -> str:
            key = m.group(1)
            if key == "$":
                return "$"
            if key.isdigit():
                i = int(key) - 1
                return positional[i] if i < len(positional) else ""
            if key == "ARGUMENTS":
                return " ".join(positional)
            return values[key]

        return _PLACEHOLDER.sub(fill, self.body)


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """The front matter's keys and the body. Raises ValueError for front matter left open or a
    line in it that is not `key: value`."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return {}, text
    meta: dict[str, str] = {}
    for i, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            return meta, "".join(lines[i + 1 :])
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep or not _KEY.match(key.strip()):
            raise ValueError(f"front matter line {i + 1} is not `key: value`")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        meta[key.strip().lower()] = value
    raise ValueError("its front matter has no closing `---`")


def load_prompts(home: Path, reserved: frozenset[str] = frozenset()) -> tuple[list[CustomPrompt], list[str]]:
    """The prompts in `home/prompts`, by name, and a message for each file skipped."""
    folder = home / "prompts"
    try:
        entries = sorted(p for p in folder.iterdir() if p.suffix == ".md")
    except FileNotFoundError:
        return [], []
    except OSError as e:
        return [], [f"Custom prompts not read: {folder}: {e.strerror or e}"]
    prompts: list[CustomPrompt] = []
    problems: list[str] = []
    for path in entries:
        if len(prompts) >= MAX_PROMPTS:
            problems.append(f"Custom prompts: only the first {MAX_PROMPTS} files of {folder} are offered.")
            break
        try:
            prompts.append(_load(path, reserved))
        except ValueError as e:
            problems.append(f"Custom prompt {path.name!r} skipped: {e}.")
    return prompts, problems


def _load(path: Path, reserved: frozenset[str]) -> CustomPrompt:
    name = path.stem
    if not _NAME.match(name):
        raise ValueError("a name is letters, digits, `.`, `_` and `-` (up to 64), starting with a letter or digit")
    if PREFIX + name in reserved:
        raise ValueError("its name is taken by a built-in command")
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("it is not a regular file")
        if info.st_size > MAX_PROMPT_BYTES:
            raise ValueError(f"it is {info.st_size // 1024} KB; a prompt may be at most {MAX_PROMPT_BYTES // 1024} KB")
        raw = path.read_bytes()[: MAX_PROMPT_BYTES + 1]
    except OSError as e:
        raise ValueError(f"it cannot be read ({e.strerror or e})") from None
    if len(raw) > MAX_PROMPT_BYTES:
        raise ValueError(f"it is over {MAX_PROMPT_BYTES // 1024} KB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"it is not UTF-8 text (byte {e.start})") from None
    text = text.removeprefix("\ufeff")
    if _CONTROL.search(text):
        # It is shown as the user's message: an escape sequence in it would reach the terminal.
        raise ValueError("it contains control characters (escape sequences and the like)")
    meta, body = split_front_matter(text)
    if not body.strip():
        raise ValueError("it has no prompt text")
    return CustomPrompt(name, body, meta.get("description", ""), meta.get("argument-hint", ""))
