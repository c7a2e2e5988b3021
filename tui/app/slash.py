"""What the slash commands do (`/model`, `/init`, `/undo`, …): one object, one short method per
command, with what it needs given to it. `app/commands.py` lists the commands (for the popup,
/help and the palette); tests/test_dispatch.py checks each one listed has its action here."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import App

from tui import protocol as ev
from tui import wording
from tui.app.commands import BY_NAME, help_text, mcp_text
from tui.app.custom_prompts import PromptCommands, is_prompt_command
from tui.app.review import start_review
from tui.app.screens.confirm import ConfirmScreen
from tui.app.settings_commands import SettingsCommands
from tui.app.status_report import status_report
from tui.app.themes import known_themes
from tui.model.items import message_text
from tui.safety.redact import redact

if TYPE_CHECKING:
    from tui.app.screens.session import SessionScreen

Action = Callable[[str], Awaitable[None]]  # takes the command's argument ("" when none)


class SlashCommands:
    def __init__(
        self,
        screen: SessionScreen,
        app: App[None],
        *,
        quit: Callable[[], Awaitable[None]],
        switch_session: Action,
        config_file: Path | None = None,
    ) -> None:
        """`screen`: the session's panes, and its session (read at each command: /new replaces
        it). `app`: Textual's for the themes, the clipboard and the modals. `quit` and
        `switch_session` (given "/new" or "/resume") are the app's, which keeps those.
        `config_file`: where the pickers save a default (None: they cannot)."""
        self.screen = screen
        self.app = app
        self._quit = quit
        self._switch_session = switch_session
        self.prompts = PromptCommands(None)  # /prompts:NAME: none until the app loads them
        self.settings = SettingsCommands(screen, app, self._say, config_file)
        self.actions: dict[str, Action] = {
            "/model": self.settings.model,
            "/approvals": self.settings.approvals,
            "/sandbox": self.settings.sandbox,
            "/compact": self._compact,
            "/diff": self._diff,
            "/review": lambda since: start_review(self.screen, since),
            "/new": lambda _: self._switch_session("/new"),
            "/resume": lambda _: self._switch_session("/resume"),
            "/status": self._status,
            "/mcp": self._mcp,
            "/init": self._init_agents_md,
            "/theme": self._theme,
            "/copy": self._copy_last_answer,
            "/undo": self._undo,
            "/help": self._help,
            "/quit": lambda _: self._quit(),
        }

    async def run(self, line: str) -> None:
        """A `/command [argument]` line the user sent (the session exists)."""
        name, _, arg = line.partition(" ")
        command = BY_NAME.get(name)
        if is_prompt_command(line):
            await self.prompts.run(line, say=self._say, send=self.screen.take, restore=self.screen.prefill)
        elif command is None:
            await self._say(f"Unknown command {name!r}. Type /help.", "warning")
        elif not command.available:
            await self._say(f"{name} is not available yet in this version of codeloop.", "warning")
        else:
            await self.actions[name](arg.strip())

    async def _say(self, text: str, kind: str = "info") -> None:
        await self.screen.conversation.add_notice(text, kind)

    # ------------------------------------------------------------------ the commands

    async def _help(self, _: str) -> None:
        await self._say(help_text())

    async def _status(self, _: str) -> None:
        await self.screen.conversation.add_panel(status_report(self.screen.session), "/status")

    async def _mcp(self, _: str) -> None:
        await self._say(redact(mcp_text(self.screen.session.mcp)))

    async def _compact(self, _: str) -> None:
        await self.screen.session.submit(ev.Compact())

    async def _init_agents_md(self, _: str) -> None:
        """An ordinary turn with our prompt: the file is written by the model through
        apply_patch, so it passes the approval policy (and its diff is shown) like any edit."""
        from tui.tools.specs import prompt_text

        session = self.screen.session
        target = session.settings.cwd / "AGENTS.md"
        if target.exists():
            await self._say(f"{target} already exists; /init leaves it as it is (edit it, or delete it and run /init again).", "warning")
        elif session.turn_running:
            await self._say("A turn is running; run /init once it ends.", "warning")
        else:
            await self.screen.conversation.add_user("/init: asking the model to write AGENTS.md")
            await session.submit(ev.UserInput(prompt_text("init.md")))

    async def _undo(self, _: str) -> None:
        session = self.screen.session
        if session.undo_available is False:
            await self._say("/undo is unavailable: this folder is not inside a git repository.", "warning")
        elif not session.snapshots:
            # Said before asking: a confirmation for nothing would be a question with no meaning.
            await self._say("Nothing to undo yet: no turn has changed anything in this session.", "warning")
        else:
            question = "Restore the files to how they were before the last turn? Changes made since are lost."
            self.app.push_screen(ConfirmScreen(question, type_ahead=self.screen.type_ahead), callback=self._undo_confirmed)

    async def _undo_confirmed(self, yes: bool | None) -> None:
        if yes:
            await self.screen.session.submit(ev.Undo())
        else:
            await self._say("/undo cancelled; nothing changed.")

    async def _theme(self, name: str) -> None:
        app = self.app
        if not name:
            await self._say(f"Themes: {known_themes(app)} (current: {app.theme})")
        elif name not in app.available_themes:
            await self._say(f"No theme {name!r}. Themes: {known_themes(app)}.", "warning")
        else:
            app.theme = name
            await self._say(f"theme set to {name}.")

    async def _copy_last_answer(self, _: str) -> None:
        for item in reversed(self.screen.session.history):
            if item.get("type") == "message" and item.get("role") == "assistant":
                text = message_text(item)
                if text:
                    # As shown on screen: redacted, so /copy never puts a secret on the clipboard.
                    self.app.copy_to_clipboard(redact(text))
                    await self._say(f"Copied the last answer ({len(text):,} characters).")
                    return
        await self._say("/copy: there is no answer to copy yet.", "warning")

    async def _diff(self, _: str) -> None:
        # A worker of the screen's, in the group of the diff after /undo: the newer one wins.
        self.screen.run_worker(self._show_git_diff(), exclusive=True, group="git-diff")

    async def _show_git_diff(self) -> None:
        """git runs in a thread: a big repository must not freeze the screen."""
        import git

        from tui.app.gitdiff import working_tree_diff

        try:
            text = await asyncio.to_thread(working_tree_diff, self.screen.session.settings.cwd)
        except (git.GitCommandError, OSError) as e:
            await self._say(f"/diff: git failed: {e}", "error")
            return
        if text is None:
            await self._say("/diff: this folder is not inside a git repository.", "warning")
        elif not text.strip():
            await self._say("/diff: the working tree is clean.")
        else:
            self.screen.diff.show_unified(text, label="git diff (working tree)")
            self.screen.reveal("diff")
