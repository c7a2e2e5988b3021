"""`/prompts:NAME` in the app: the custom prompts of `$CODELOOP_HOME/prompts` (loaded once, when
the app starts, as Codex does) offered in the slash popup and sent, expanded, as the user's
message (tui/engine/custom_prompts.py reads and expands them)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from tui.app.commands import BY_NAME, SlashCommand
from tui.engine.custom_prompts import PREFIX, CustomPrompt, PromptArgsError, load_prompts
from tui.safety.terminal_text import neutralize


class PromptCommands:
    def __init__(self, home: Path | None) -> None:
        found, self.problems = load_prompts(home, frozenset(BY_NAME)) if home is not None else ([], [])
        self.by_command: dict[str, CustomPrompt] = {p.command: p for p in found}

    def commands(self) -> tuple[SlashCommand, ...]:
        """The popup's entries; the texts are the user's files, shown neutralized."""
        out = []
        for p in self.by_command.values():
            hint = f"  {p.argument_hint}" if p.argument_hint else ""
            out.append(SlashCommand(p.command, neutralize(" ".join(f"{p.summary}{hint}".split())), takes_argument=p.takes_arguments))
        return tuple(out)

    async def run(
        self, line: str, *, say: Callable[[str, str], Awaitable[None]], send: Callable[[str], Awaitable[None]],
        restore: Callable[[str], None],
    ) -> None:
        """Send the prompt `line` names, filled from its arguments; on a problem, say it and put
        the line back in the composer."""
        name, _, arguments = line.partition(" ")
        prompt = self.by_command.get(name)
        if prompt is None:
            known = ", ".join(self.by_command) or "none"
            await say(neutralize(f"Unknown custom prompt {name!r}: the prompts are the .md files of $CODELOOP_HOME/prompts (loaded at start; known: {known})."), "warning")
            restore(line)
            return
        try:
            text = prompt.expand(arguments.strip())
        except PromptArgsError as e:
            await say(neutralize(str(e)), "warning")
            restore(line)
            return
        await send(text.strip())


def is_prompt_command(line: str) -> bool:
    return line.startswith(PREFIX)
