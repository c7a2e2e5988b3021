"""What the slash commands do (`/model`, `/init`, `/resume`, …): a part of CodeloopApp kept in
its own file so that app.py stays about the layout and the engine's events."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from textual import events, work

from tui import protocol as ev
from tui.app.commands import BY_NAME, help_text, mcp_text
from tui.app.screens.confirm import ConfirmScreen
from tui.app.widgets.budget import BudgetView
from tui.app.widgets.composer import Composer
from tui.app.widgets.conversation import Conversation
from tui.app.widgets.diff_view import DiffView
from tui.app.widgets.plan import PlanView
from tui.app.widgets.status import StatusLine
from tui.safety.redact import redact

if TYPE_CHECKING:
    from textual.app import App

    from tui.app.app import SessionFactory
    from tui.app.widgets.budget import Prices
    from tui.engine.session import Session

    _Base = App[None]
else:
    _Base = object


class SlashActions(_Base):
    """Mixed into CodeloopApp: every method here runs with the app as `self`."""

    if TYPE_CHECKING:  # what CodeloopApp provides
        session: Session
        sessions: SessionFactory | None
        queued: list[str]
        _early: list[str]
        _files_listed_at: float | None

        def _prices(self, model: str) -> Prices | None: ...
        def _reveal(self, pane: str) -> None: ...
        async def _show_transcript(self, transcript: list[tuple[str, str]]) -> None: ...
        def pump_events(self) -> Any: ...
        def warm_up(self) -> Any: ...
        def type_ahead(self, event: events.Key | events.Paste) -> None: ...
        async def action_quit(self) -> None: ...

    async def palette_command(self, name: str) -> None:
        if BY_NAME[name].takes_argument:
            composer = self.query_one(Composer)
            composer.text = name + " "
            composer.move_cursor(composer.document.end)
            composer.focus()
        else:
            await self.run_slash(name)

    async def run_slash(self, line: str) -> None:
        if self.session is None:  # the palette within the first frame: once the session exists
            self._early.append(line)
            return
        conv = self.query_one(Conversation)
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        command = BY_NAME.get(name)
        if command is None:
            await conv.add_notice(f"Unknown command {name!r}. Type /help.", "warning")
        elif not command.available:
            await conv.add_notice(f"{name} is not available yet in this version of codeloop.", "warning")
        elif name == "/quit":
            await self.action_quit()
        elif name == "/help":
            await conv.add_notice(help_text())
        elif name == "/status":
            s = self.session.settings
            await conv.add_notice(
                f"model {s.model} · approvals {s.approval_policy} · sandbox {s.sandbox.mode} · cwd {s.cwd} · session {self.session.session_id}"
            )
        elif name == "/mcp":
            await conv.add_notice(redact(mcp_text(self.session.mcp)))
        elif name == "/theme":
            await self._switch_theme(arg)
        elif name == "/copy":
            await self._copy_last_answer()
        elif name == "/diff":
            self.show_git_diff()
        elif name == "/compact":
            await self.session.submit(ev.Compact())
        elif name == "/init":
            await self._init_agents_md()
        elif name in ("/new", "/resume"):
            await self._switch_session(name)
        elif name == "/undo" and self.session.undo_available is False:
            await conv.add_notice("/undo is unavailable: this folder is not inside a git repository.", "warning")
        elif name == "/undo" and not self.session.snapshots:
            # Said before asking: a confirmation for nothing would be a question with no meaning.
            await conv.add_notice("Nothing to undo yet: no turn has changed anything in this session.", "warning")
        elif name == "/undo":
            self.push_screen(
                ConfirmScreen(
                    "Restore the files to how they were before the last turn? Changes made since are lost.",
                    type_ahead=self.type_ahead,
                ),
                callback=self._undo_confirmed,
            )
        elif name in ("/model", "/approvals", "/sandbox"):
            await self._override(name, arg)

    async def _init_agents_md(self) -> None:
        """An ordinary turn with our prompt: the file is written by the model through
        apply_patch, so it passes the approval policy (and its diff is shown) like any edit."""
        from tui.tools.specs import prompt_text

        conv = self.query_one(Conversation)
        target = self.session.settings.cwd / "AGENTS.md"
        if target.exists():
            await conv.add_notice(f"{target} already exists; /init leaves it as it is (edit it, or delete it and run /init again).", "warning")
        elif self.session.turn_running:
            await conv.add_notice("A turn is running; run /init once it ends.", "warning")
        else:
            await conv.add_user("/init: asking the model to write AGENTS.md")
            await self.session.submit(ev.UserInput(prompt_text("init.md")))

    async def _switch_session(self, name: str) -> None:
        conv = self.query_one(Conversation)
        if self.sessions is None:
            await conv.add_notice(f"{name} is not available in this window (no configuration to start sessions from).", "warning")
        elif self.session.turn_running:
            await conv.add_notice(f"A turn is running; interrupt it (Esc) before {name}.", "warning")
        elif name == "/new":
            await self._replace_session(self.sessions.new(), None)
        else:
            self.pick_session()

    @work(thread=True, exclusive=True, group="resume-list")
    def pick_session(self) -> None:
        """Listing reads every rollout's head: a thread, not the event loop."""
        from tui.engine.resume import list_sessions

        assert self.sessions is not None
        found = list_sessions(self.sessions.home)
        self.call_from_thread(self._show_picker, found)

    def _show_picker(self, found: list[Any]) -> None:
        from tui.app.screens.resume import ResumeScreen

        self.push_screen(ResumeScreen(found, self.session.session_id), callback=self._resume_chosen)

    async def _resume_chosen(self, path: Path | None) -> None:
        if path is None or self.sessions is None:
            return
        from tui.engine.resume import transcript

        try:
            session = self.sessions.resume(path)
        except Exception as e:  # a damaged rollout: say so, keep the current session
            await self.query_one(Conversation).add_notice(redact(f"/resume: {e}"), "error")
            return
        await self._replace_session(session, transcript(session.history))

    async def _replace_session(self, session: Session, shown: list[tuple[str, str]] | None) -> None:
        old, self.session = self.session, session
        await old.submit(ev.Shutdown())
        conv = self.query_one(Conversation)
        await conv.remove_children()
        self.query_one(PlanView).update_plan([], None)
        self.query_one(DiffView).clear()
        self.query_one(BudgetView).reset(session.context_window, session.auto_compact_limit)
        s = session.settings
        self.query_one(StatusLine).set(model=s.model, cwd=str(s.cwd), approval=s.approval_policy, sandbox=s.sandbox.mode)
        self.queued.clear()
        self._files_listed_at = None  # the new session may work in another folder
        if shown is not None:
            await self._show_transcript(shown)
        else:
            await conv.add_notice(f"New session {session.session_id}.")
        self.pump_events()  # exclusive: replaces the worker reading the old session
        self.warm_up()

    async def _undo_confirmed(self, yes: bool | None) -> None:
        if yes:
            await self.session.submit(ev.Undo())
        else:
            await self.query_one(Conversation).add_notice("/undo cancelled; nothing changed.")

    async def _override(self, name: str, arg: str) -> None:
        conv = self.query_one(Conversation)
        allowed = {
            "/approvals": ("untrusted", "on-request", "on-failure", "never"),
            "/sandbox": ("read-only", "workspace-write", "danger-full-access"),
        }.get(name)
        if not arg or (allowed and arg not in allowed):
            await conv.add_notice(f"{name} needs {' | '.join(allowed) if allowed else 'a model name'}.", "warning")
            return
        if name == "/model":
            override = ev.OverrideSettings(model=arg)
        elif name == "/approvals":
            override = ev.OverrideSettings(approval_policy=cast(ev.ApprovalPolicy, arg))  # checked above
        else:
            override = ev.OverrideSettings(sandbox_mode=cast(ev.SandboxMode, arg))
        await self.session.submit(override)
        s = self.session.settings
        self.query_one(StatusLine).set(model=s.model, approval=s.approval_policy, sandbox=s.sandbox.mode)
        self.query_one(BudgetView).set_prices(self._prices(s.model))
        await conv.add_notice(f"{name[1:]} set to {arg}; the model is told with your next message.")

    def known_themes(self) -> str:
        """Every theme `/theme NAME` accepts, as every message about themes lists them."""
        return ", ".join(sorted(self.available_themes))

    async def _copy_last_answer(self) -> None:
        conv = self.query_one(Conversation)
        for item in reversed(self.session.history):
            if item.get("type") == "message" and item.get("role") == "assistant":
                text = "".join(p.get("text", "") for p in item.get("content", []) if p.get("type") == "output_text")
                if text:
                    # As shown on screen: redacted, so /copy never puts a secret on the clipboard.
                    self.copy_to_clipboard(redact(text))
                    await conv.add_notice(f"Copied the last answer ({len(text):,} characters).")
                    return
        await conv.add_notice("/copy: there is no answer to copy yet.", "warning")

    async def _switch_theme(self, name: str) -> None:
        conv = self.query_one(Conversation)
        if not name:
            await conv.add_notice(f"Themes: {self.known_themes()} (current: {self.theme})")
        elif name not in self.available_themes:
            await conv.add_notice(f"No theme {name!r}. Themes: {self.known_themes()}.", "warning")
        else:
            self.theme = name
            await conv.add_notice(f"theme set to {name}.")

    @work(exclusive=True, group="git-diff")
    async def show_git_diff(self) -> None:
        """git runs in a thread: a big repository must not freeze the screen."""
        import git

        from tui.app.gitdiff import working_tree_diff

        try:
            text = await asyncio.to_thread(working_tree_diff, self.session.settings.cwd)
        except (git.GitCommandError, OSError) as e:
            await self._show_diff_text(None, f"/diff: git failed: {e}")
            return
        await self._show_diff_text(text)

    async def _show_diff_text(self, text: str | None, problem: str | None = None) -> None:
        conv = self.query_one(Conversation)
        if problem is not None:
            await conv.add_notice(problem, "error")
        elif text is None:
            await conv.add_notice("/diff: this folder is not inside a git repository.", "warning")
        elif not text.strip():
            await conv.add_notice("/diff: the working tree is clean.")
        else:
            self.query_one(DiffView).show_unified(text, label="git diff (working tree)")
            self._reveal("diff")
