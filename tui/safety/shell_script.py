"""A deliberately small shell-script reader, for the known-safe check and approval keys.

It understands words, quotes, backslashes, comments and the four joining operators; everything
else (redirections, substitutions, expansions, subshells, background jobs) makes the script
unsupported, which means "not known-safe".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Word:
    text: str
    """The word after quote removal."""
    pattern: bool
    """Contains an unquoted glob or brace character, so the shell may turn it into other words."""


class _Unsupported(Exception):
    pass


def split_script(script: str) -> list[list[Word]] | None:
    """The plain commands of `script`, or None when it uses anything else."""
    try:
        return _Splitter(script).split()
    except _Unsupported:
        return None


class _Splitter:
    def __init__(self, script: str) -> None:
        self.script = script
        self.pos = 0
        self.commands: list[list[Word]] = []
        self.current: list[Word] = []
        self.chars: list[str] = []
        self.in_word = False
        self.pattern = False
        # An operator that still needs a command after it (`ls &&` alone is incomplete).
        self.dangling = False

    def split(self) -> list[list[Word]]:
        script = self.script
        while self.pos < len(script):
            char = script[self.pos]
            if char in " \t":
                self._end_word()
            elif char == "\n":
                self._end_word()
                self._end_command(operator=None)
            elif char == "#" and not self.in_word:
                newline = script.find("\n", self.pos)
                self.pos = len(script) if newline < 0 else newline
                continue
            elif char == "'":
                close = script.find("'", self.pos + 1)
                if close < 0:
                    raise _Unsupported
                self._take(script[self.pos + 1 : close])
                self.pos = close
            elif char == '"':
                self._double_quoted()
            elif char == "\\":
                following = script[self.pos + 1 : self.pos + 2]
                if not following:
                    raise _Unsupported
                if following != "\n":  # backslash-newline joins lines
                    self._take(following)
                self.pos += 1
            elif char in "$`<>()":
                raise _Unsupported
            elif char in "&|;":
                self._operator(char)
                continue
            else:
                if char in "*?[{":
                    self.pattern = True
                self._take(char)
            self.pos += 1
        self._end_word()
        if self.dangling and not self.current:
            raise _Unsupported
        self._end_command(operator=None)
        return self.commands

    def _double_quoted(self) -> None:
        script = self.script
        index = self.pos + 1
        while index < len(script) and script[index] != '"':
            char = script[index]
            if char in "$`":
                raise _Unsupported
            if char == "\\" and index + 1 < len(script) and script[index + 1] in '$`"\\\n':
                if script[index + 1] != "\n":
                    self._take(script[index + 1])
                index += 2
                continue
            self._take(char)
            index += 1
        if index >= len(script):
            raise _Unsupported
        self._take("")  # `""` is still a word
        self.pos = index

    def _operator(self, char: str) -> None:
        pair = self.script[self.pos : self.pos + 2]
        if pair in ("&&", "||"):
            operator, width = pair, 2
        elif char == "|" and pair != "|&":
            operator, width = "|", 1
        elif char == ";" and pair != ";;":
            operator, width = ";", 1
        else:  # `&` (background), `|&`, `;;`
            raise _Unsupported
        self._end_word()
        self._end_command(operator=operator)
        self.pos += width

    def _take(self, text: str) -> None:
        self.chars.append(text)
        self.in_word = True

    def _end_word(self) -> None:
        if self.in_word:
            self.current.append(Word("".join(self.chars), self.pattern))
        self.chars, self.in_word, self.pattern = [], False, False

    def _end_command(self, operator: str | None) -> None:
        if not self.current:
            # Blank lines are fine (also after `&&`, where bash keeps reading);
            # an operator with no command before it is not.
            if operator is not None:
                raise _Unsupported
            return
        self.commands.append(self.current)
        self.current = []
        self.dangling = operator in ("&&", "||", "|")


def squeeze_blanks(script: str) -> str:
    """Collapse unquoted runs of spaces and tabs; quoted text stays as written.

    Newlines separate commands, so they are kept (blank lines dropped). After a
    `<<` the rest is left untouched because heredoc bodies keep their spacing.
    """
    out: list[str] = []
    pending_space = False
    index = 0
    while index < len(script):
        char = script[index]
        if char in " \t":
            pending_space = bool(out) and out[-1] != "\n"
            index += 1
            continue
        if char == "\n":
            pending_space = False
            if out and out[-1] != "\n":
                out.append("\n")
            index += 1
            continue
        if pending_space:
            out.append(" ")
            pending_space = False
        if script.startswith("<<", index):
            out.append(script[index:])
            break
        end = _quoted_span_end(script, index)
        out.append(script[index:end])
        index = end
    return "".join(out).strip()


def _quoted_span_end(script: str, index: int) -> int:
    """End of the verbatim span starting at `index`: a quote, an escape or one char."""
    char = script[index]
    if char == "\\":
        return min(index + 2, len(script))
    if char == "'":
        close = script.find("'", index + 1)
        return len(script) if close < 0 else close + 1
    if char == '"':
        cursor = index + 1
        while cursor < len(script) and script[cursor] != '"':
            cursor += 2 if script[cursor] == "\\" else 1
        return min(cursor + 1, len(script))
    return index + 1
