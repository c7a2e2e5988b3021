"""The codeloop Textual app: one client of the engine.

Events from the session are pumped by a worker and routed to the panes; operations go back
through `session.submit`. An approval is a future the engine awaits: the modal resolves it,
and nothing else in the UI waits on it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, cast

from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Tab, Tabs

from tui import protocol as ev
from tui.app.commands import SlashCommandProvider
from tui.app.engine_view import EngineView
from tui.app.hangup import HANGUP_EXIT_CODE, TerminalWatch
from tui.app.pane_keys import PaneKeys
from tui.app.screens.approval import ApprovalScreen
from tui.app.screens.confirm import ConfirmScreen
from tui.app.screens.help import HelpScreen
from tui.app.slash_actions import SlashActions
from tui.app.startup import settle_startup_garbage, warm_renderers
from tui.app.themes import (
    DEFAULT_THEME,
    app_variable_defaults,
    follow_theme_in_markdown,
    load_themes,
)
from tui.app.widgets.budget import BudgetView, Prices
from tui.app.widgets.composer import Composer
from tui.app.widgets.conversation import JUMP_KEY, Conversation, ToolCell
from tui.app.widgets.diff_view import DiffView
from tui.app.widgets.file_popup import FilePopup
from tui.app.widgets.plan import PlanView
from tui.app.widgets.slash_popup import SlashPopup
from tui.app.widgets.status import StatusLine
from tui.config import TuiSettings

if TYPE_CHECKING:
    from tui.engine.session import Session

NARROW_BELOW = 100  # columns: under this the side panes become tabs under the conversation
SIDE_PANES = ("plan", "diff", "budget")
STARTUP_BEAT_S = 0.05
FILE_LIST_STALE_S = 10.0  # an @ mention lists the files again when the last listing is older


@dataclass(frozen=True)
class SessionFactory:
    """What /new and /resume need: where sessions are recorded and how to start one."""

    home: Path
    new: Callable[[], Session]
    resume: Callable[[Path], Session]


@dataclass(frozen=True)
class SessionPreview:
    """What the first frame shows before the session exists, read from the configuration: the
    app paints first and builds the session (importing the engine, ~60 ms) right after."""

    model: str
    cwd: Path
    approval: str
    sandbox: str
    context_window: int | None
    start: Callable[[], Session]


class CodeloopApp(PaneKeys, EngineView, SlashActions, App[None]):
    TITLE = "codeloop"
    COMMANDS = App.COMMANDS | {SlashCommandProvider}
    CSS = """
    #main { height: 1fr; }
    #conversation { width: 2fr; border: round $primary 40%; }
    #side { width: 1fr; min-width: 36; }
    #side > .side-pane { border: round $primary 40%; }
    #plan { height: auto; max-height: 30%; }
    #diff { height: 1fr; }
    #budget { height: auto; }
    #side-tabs { display: none; }
    Screen.-narrow #main { layout: vertical; }
    Screen.-narrow #conversation { width: 1fr; height: 3fr; }
    Screen.-narrow #side { width: 1fr; min-width: 0; height: 2fr; }
    Screen.-narrow #side-tabs { display: block; }
    Screen.-narrow #side > .side-pane { display: none; }
    Screen.-narrow #side > .side-pane.-active { display: block; height: 1fr; max-height: 100%; }
    /* F2–F5: a maximized pane fills the screen, whatever its share of the layout was. */
    #conversation.-maximized, #plan.-maximized, #diff.-maximized, #budget.-maximized {
        width: 1fr; height: 1fr; max-height: 100%;
    }
    Screen.-narrow #side > .side-pane.-maximized { display: block; }
    """
    BINDINGS = [
        Binding("escape", "interrupt", "Interrupt", id="app.interrupt", show=False),
        Binding("ctrl+c", "interrupt_or_quit", "Interrupt/quit", id="app.ctrl_c", priority=True),
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
        Binding("f1", "pane_help", "Help", id="app.help"),
        Binding("f2", "maximize('conversation')", "Conversation", id="pane.conversation"),
        Binding("f3", "maximize('plan')", "Plan", id="pane.plan"),
        Binding("f4", "maximize('diff')", "Diff", id="pane.diff"),
        Binding("f5", "maximize('budget')", "Budget", id="pane.budget"),
        Binding(JUMP_KEY, "follow_conversation", "Newest output", id="conversation.follow", show=False),
    ]

    def __init__(
        self,
        session: Session | None,
        *,
        demo: bool = False,
        auto_compact_limit: int | None = None,
        branch: str = "",
        tui: TuiSettings | None = None,
        home: Path | None = None,
        initial_text: str = "",
        transcript: list[tuple[str, str]] | None = None,
        sessions: SessionFactory | None = None,
        preview: SessionPreview | None = None,
    ) -> None:
        """`session`, or None with a `preview` that says how to start one after the first frame."""
        super().__init__()
        if session is None and preview is None:
            raise ValueError("CodeloopApp needs a session or a preview to start one from")
        self.preview = preview
        self._early: list[str] = []  # what was sent before the session existed
        self.initial_text = initial_text
        self.transcript = transcript  # a resumed session: (role, text) of its last messages
        self.sessions = sessions  # how /new and /resume make another session; None: unavailable
        # None only until _start_session builds it; nothing reads it before (see _attach_session).
        self.session = cast("Session", session)
        self.demo = demo
        self.auto_compact_limit = auto_compact_limit
        self.branch = branch
        self.tui = tui or TuiSettings()
        self.home = home
        self.queued: list[str] = []
        self._files_listed_at: float | None = None  # monotonic time of the last file listing
        self._ctrl_c_armed = False
        self._terminal_watch: TerminalWatch | None = None
        self.startup_notes: list[str] = []
        self._setup_themes()

    # ------------------------------------------------------------------ setup

    def _setup_themes(self) -> None:
        themes, errors = load_themes(self.home / "themes" if self.home else None)
        for theme in themes.values():
            self.register_theme(theme)
        self.startup_notes += errors
        wanted = self.tui.theme
        if wanted in self.available_themes:
            self.theme = wanted
        else:
            self.startup_notes.append(f"theme {wanted!r} is not known; using {DEFAULT_THEME}. Known: {self.known_themes()}")
            self.theme = DEFAULT_THEME

    def get_theme_variable_defaults(self) -> dict[str, str]:
        theme = self.get_theme(self.theme) if self.theme else None
        return app_variable_defaults(theme.dark if theme is not None else True)

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield Conversation(id="conversation")
            with Vertical(id="side"):
                yield Tabs(Tab("Plan", id="tab-plan"), Tab("Diff", id="tab-diff"), Tab("Budget", id="tab-budget"), id="side-tabs")
                yield PlanView(id="plan", classes="side-pane -active")
                yield DiffView(id="diff", classes="side-pane")
                yield BudgetView(id="budget", classes="side-pane")
        yield StatusLine(id="status")
        yield SlashPopup(id="slash-popup")
        yield FilePopup(id="file-popup")
        yield Composer(id="composer")
        yield Footer()

    def _shown(self) -> tuple[str, Path, str, str, int | None]:
        """Model, folder, approval policy, sandbox mode, context window: the session's, or the
        configuration's until the session exists."""
        if self.session is not None:
            s = self.session.settings
            return s.model, s.cwd, s.approval_policy, s.sandbox.mode, self.session.context_window
        p = self.preview
        assert p is not None
        return p.model, p.cwd, p.approval, p.sandbox, p.context_window

    async def on_mount(self) -> None:
        follow_theme_in_markdown(self)
        model, cwd, approval, sandbox, window = self._shown()
        self.query_one(StatusLine).set(
            demo="DEMO (scripted model)" if self.demo else "",
            model=model, cwd=str(cwd), branch=self.branch, approval=approval, sandbox=sandbox,
        )
        for pane, title in (("conversation", "Conversation"), ("plan", "Plan"), ("diff", "Diff preview"), ("budget", "Token budget")):
            self.query_one(f"#{pane}").border_title = title
        budget = self.query_one(BudgetView)
        budget.set_limits(window, self.auto_compact_limit)
        budget.set_prices(self._prices(model))
        composer = self.query_one(Composer)
        composer.popup = self.query_one(SlashPopup)
        composer.files = self.query_one(FilePopup)
        if self.initial_text:
            composer.text = self.initial_text
            composer.move_cursor(composer.document.end)
        composer.focus()
        self.watch(self.screen, "maximized", self._maximized_changed, init=False)
        loop = asyncio.get_running_loop()

        def terminal_gone() -> None:
            loop.call_soon_threadsafe(self._terminal_gone)

        self._terminal_watch = TerminalWatch(terminal_gone)
        if not self.is_headless:
            self._terminal_watch.start()
        self._apply_keymap()
        self._set_narrow(self.size.width)
        if self.demo:
            await self.query_one(Conversation).add_notice(
                "This is codeloop's demo: a scripted stand-in model on 127.0.0.1, no API key, in a "
                f"temporary copy of a sample project ({cwd}). Commands and edits are real there. "
                "Its context window is tiny on purpose, so you also see a compaction. "
                "Press Enter to send the task below; approve with y."
            )
        if self.transcript is not None:
            await self._show_transcript(self.transcript)
        for note in self.startup_notes:
            await self.query_one(Conversation).add_notice(note, "warning")
        if self.session is None:
            # A beat after the first frame, so it reaches the terminal before the engine loads.
            self.set_timer(STARTUP_BEAT_S, self._start_session)
        else:
            self._attach_session()

    def _attach_session(self) -> None:
        self.pump_events()
        # After the first frame is on screen: the warm-up's imports would compete for the GIL.
        self.call_after_refresh(self.warm_up)

    async def _start_session(self) -> None:
        """Build the session the preview describes, once the first frame is up. It blocks the
        loop for the engine's imports (~60 ms): keys typed meanwhile wait, none is lost."""
        assert self.preview is not None
        from tui.engine.bootstrap import preload

        try:
            # The imports in a thread, so the first frame reaches the terminal meanwhile.
            await asyncio.to_thread(preload)
            self.session = self.preview.start()
        except Exception as e:  # e.g. the sessions folder cannot be written
            self.exit(return_code=2, message=f"codeloop: could not start the session: {e}")
            return
        self._attach_session()
        early, self._early = self._early, []
        for text in early:
            await self._submitted(text)

    @work(thread=True, exclusive=True, group="warm-up")
    def warm_up(self) -> None:
        """After the first frame, off the event loop: import the SDK, the Markdown renderer and the
        usual code lexers (else the first streamed answer pays ~50-150 ms on the event loop, and
        keys typed meanwhile wait), then load the tokenizer."""
        session = self.session
        try:
            session.client.warm()
            warm_renderers()
            session.load_tokenizer()
        finally:
            settle_startup_garbage()

    async def _show_transcript(self, transcript: list[tuple[str, str]]) -> None:
        conv = self.query_one(Conversation)
        for role, text in transcript:
            if role == "user":
                await conv.add_user(text)
            else:
                await conv.finish_answer(text)
        await conv.add_notice(
            f"Resumed session {self.session.session_id} ({len(self.session.history)} items): "
            "the model has the whole conversation; the last messages are shown above."
        )

    def _prices(self, model: str) -> Prices | None:
        p = self.tui.prices.get(model)
        if p is None:
            return None
        return Prices(input=p.input, cached_input=p.cached_input if p.cached_input is not None else p.input, output=p.output)

    def _apply_keymap(self) -> None:
        if not self.tui.keymap:
            return
        known = {b.id for cls in (CodeloopApp, ApprovalScreen, ConfirmScreen, DiffView, Composer, HelpScreen, ToolCell) for b in cls.BINDINGS if isinstance(b, Binding) and b.id}
        unknown = sorted(set(self.tui.keymap) - known)
        if unknown:
            self.startup_notes.append(f"tui.keymap: unknown binding id(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        self.set_keymap({k: v for k, v in self.tui.keymap.items() if k in known})

    # ------------------------------------------------------------------ layout

    def on_resize(self, event: events.Resize) -> None:
        self._set_narrow(event.size.width)

    def _set_narrow(self, width: int) -> None:
        # Every screen on the stack: resized under a modal, the main screen must change too.
        for screen in self.screen_stack:
            screen.set_class(width < NARROW_BELOW, "-narrow")

    @on(Tabs.TabActivated, "#side-tabs")
    def _show_side_pane(self, event: Tabs.TabActivated) -> None:
        chosen = (event.tab.id or "tab-plan").removeprefix("tab-")
        for pane in SIDE_PANES:
            self.query_one(f"#{pane}").set_class(pane == chosen, "-active")

    def _reveal(self, pane: str) -> None:
        """In the narrow layout, bring a side pane's tab forward when it has news."""
        if self.screen.has_class("-narrow"):
            self.query_one("#side-tabs", Tabs).active = f"tab-{pane}"

    # ------------------------------------------------------------------ user → engine

    async def on_composer_submitted(self, message: Composer.Submitted) -> None:
        await self._submitted(message.text)

    async def _submitted(self, text: str) -> None:
        if self.session is None:  # sent within the first frame: runs once the session exists
            self._early.append(text)
        elif text.startswith("/"):
            await self.run_slash(text)
        elif self.session.turn_running or self.queued:
            # Behind the queue even when the turn just ended: its TurnCompleted, still on its way
            # to this app, sends the queue's head next; sending now would overtake it.
            self.queued.append(text)
            await self.query_one(Conversation).add_user(text, queued=True)
        else:
            await self.send(text)

    async def send(self, text: str) -> None:
        if text.startswith("!"):
            # The user's own command: its tool cell is what the conversation shows.
            await self.session.submit(ev.RunUserShell(text[1:].strip()))
            return
        await self.query_one(Conversation).add_user(text)
        await self.session.submit(ev.UserInput(text))

    # ------------------------------------------------------------------ @ mentions

    def on_file_popup_opened(self, message: FilePopup.Opened) -> None:
        # Cached for the session; listed again when a mention starts and the listing is stale,
        # so files the agent just created show up without listing on every keystroke.
        now = time.monotonic()
        if self._files_listed_at is None or now - self._files_listed_at > FILE_LIST_STALE_S:
            self._files_listed_at = now
            self.list_files(self._shown()[1])

    @work(thread=True, exclusive=True, group="file-list")
    def list_files(self, cwd: Path) -> None:
        """git (or a directory walk) runs in a thread: a big repository must not freeze typing."""
        from tui.app.file_index import list_files

        listing = list_files(cwd)
        self.call_from_thread(self.query_one(FilePopup).set_paths, listing.paths)

    # ------------------------------------------------------------------ keys

    async def action_interrupt(self) -> None:
        """Esc: interrupt the turn, and bring the keys back to the composer from any pane."""
        self._focus_composer()
        if self.session is not None and self.session.turn_running:
            await self.session.submit(ev.Interrupt())

    async def action_interrupt_or_quit(self) -> None:
        """Ctrl+C: copy the selection if there is one; else interrupt the turn; else arm quit."""
        if self._copy_selection():
            return
        if self.session is not None and self.session.turn_running:
            self._ctrl_c_armed = False
            await self.session.submit(ev.Interrupt())
        elif self._ctrl_c_armed:
            await self.action_quit()
        else:
            self._ctrl_c_armed = True
            self.notify("Press Ctrl+C again to quit.", timeout=2)
            self.set_timer(2.0, self._disarm)

    def _disarm(self) -> None:
        self._ctrl_c_armed = False

    def _terminal_gone(self) -> None:
        """The terminal hung up (tui/app/hangup.py killed the commands already): end."""
        self.exit(return_code=HANGUP_EXIT_CODE)

    def action_follow_conversation(self) -> None:
        self.query_one(Conversation).follow()

    def on_unmount(self) -> None:
        if self._terminal_watch is not None:
            self._terminal_watch.stop()

    async def action_quit(self) -> None:
        if self.session is not None:
            await self.session.submit(ev.Shutdown())
        self.exit()
