"""The codeloop Textual app: one client of the engine.

The app is the frame around one session: themes, keys (pane_keys.py), the terminal (hang-up,
desktop notifications), start-up, and switching sessions (/new, /resume and its picker). What a
session shows lives in its screen (screens/session.py: the panes, the user's messages in, the
engine's events out with one handler per event); the slash commands are an object of their own
(slash.py). Operations go to the engine through `session.submit`; an approval is a future the
engine awaits, resolved by the modal, and nothing else in the UI waits on it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from textual import events, work
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

from tui import protocol as ev
from tui.app.commands import BY_NAME, SlashCommandProvider
from tui.app.custom_prompts import PromptCommands
from tui.app.hangup import HANGUP_EXIT_CODE, TerminalWatch
from tui.app.notify import osc9
from tui.app.pane_keys import PaneKeysApp
from tui.app.screens.approval import ApprovalScreen
from tui.app.screens.confirm import ConfirmScreen
from tui.app.screens.help import HelpScreen
from tui.app.screens.picker import PickerScreen
from tui.app.screens.session import SessionScreen
from tui.app.slash import SlashCommands
from tui.app.startup import settle_startup_garbage, warm_renderers
from tui.app.themes import (
    DEFAULT_THEME,
    app_variable_defaults,
    follow_theme_in_markdown,
    known_themes,
    load_themes,
)
from tui.app.welcome import show_welcome
from tui.app.widgets.composer import Composer
from tui.app.widgets.conversation import JUMP_KEY, ToolCell
from tui.app.widgets.diff_view import DiffView
from tui.app.widgets.file_popup import FilePopup
from tui.app.widgets.slash_popup import SlashPopup
from tui.config import CONFIG_FILE_NAME, TuiSettings
from tui.safety.redact import redact

if TYPE_CHECKING:
    from tui.engine.session import Session

NARROW_BELOW = 100  # columns: under this the side panes become tabs under the conversation
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


class CodeloopApp(PaneKeysApp):
    TITLE = "codeloop"
    COMMANDS = App.COMMANDS | {SlashCommandProvider}
    BINDINGS = [
        Binding("escape", "interrupt", "Interrupt", id="app.interrupt", show=False),
        Binding("ctrl+c", "interrupt_or_quit", "Interrupt/quit", id="app.ctrl_c", priority=True),
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
        Binding("f1", "pane_help", "Help", id="app.help"),
        Binding("ctrl+t", "transcript", "Transcript", id="app.transcript", priority=True, show=False),
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
        resumed: bool = False,
        sessions: SessionFactory | None = None,
        preview: SessionPreview | None = None,
        pick_first: bool = False,
    ) -> None:
        """`session`, or None with a `preview` that says how to start one after the first frame;
        `pick_first`: the /resume picker comes first, and the preview's session only on its Esc."""
        super().__init__()
        if session is None and preview is None:
            raise ValueError("CodeloopApp needs a session or a preview to start one from")
        self.preview = preview
        self.pick_first = pick_first
        self._early: list[str] = []  # what was sent before the session existed
        self.initial_text = initial_text
        self.initial_images: list[str] = []  # `-i FILE`: attached to the composer at start
        self.resumed = resumed  # `session` was resumed: show what it showed
        self.sessions = sessions  # how /new and /resume make another session; None: unavailable
        self.demo = demo
        self.auto_compact_limit = auto_compact_limit
        self.branch = branch
        self.tui = tui or TuiSettings()
        self.home = home
        self._files_listed_at: float | None = None  # monotonic time of the last file listing
        self._ctrl_c_armed = False
        self._terminal_watch: TerminalWatch | None = None
        self.startup_notes: list[str] = []
        self.main = SessionScreen(session, tui=self.tui, desktop_notify=self.desktop_notify)
        self.slash = SlashCommands(
            self.main, self, quit=self.action_quit, switch_session=self.switch_session,
            config_file=home / CONFIG_FILE_NAME if home is not None else None,
        )
        self.slash.prompts = PromptCommands(home)
        self.startup_notes += self.slash.prompts.problems
        self._setup_themes()

    @property
    def session(self) -> Session:
        """The session shown (None only until `_start_session` built the first one)."""
        return self.main.session

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

    def known_themes(self) -> str:
        return known_themes(self)

    def get_theme_variable_defaults(self) -> dict[str, str]:
        theme = self.get_theme(self.theme) if self.theme else None
        return app_variable_defaults(theme.dark if theme is not None else True)

    def get_default_screen(self) -> Screen[Any]:
        return self.main

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
        """Fill the session screen's panes from the configuration, then attach the session, or
        build it a beat after the first frame."""
        main = self.main
        await main.panes_mounted.wait()  # composed in the screen's own task: the app is ready after
        follow_theme_in_markdown(self)
        model, cwd, approval, sandbox, window = self._shown()
        main.status.set(
            demo="DEMO (scripted model)" if self.demo else "",
            model=model, cwd=str(cwd), branch=self.branch, approval=approval, sandbox=sandbox,
        )
        main.budget.set_limits(window, self.auto_compact_limit)
        main.budget.set_prices(main.prices(model))
        main.query_one(SlashPopup).extra = self.slash.prompts.commands()
        chips = [c for c in map(main.composer.attach_image, self.initial_images) if c]
        if self.initial_text or chips:
            main.prefill(" ".join([*chips, self.initial_text]))
        else:
            main.composer.focus()
        self.watch(main, "maximized", self._maximized_changed, init=False)
        self._watch_terminal()
        self._apply_keymap()
        self._set_narrow(self.size.width)
        await self._first_notices(cwd)
        if self.pick_first and self.sessions is not None:
            self.pick_session()
        elif self.session is None:
            # A beat after the first frame, so it reaches the terminal before the engine loads.
            self.set_timer(STARTUP_BEAT_S, self._start_session)
        else:
            self._attach_session(self.session)

    def _watch_terminal(self) -> None:
        loop = asyncio.get_running_loop()

        def terminal_gone() -> None:
            loop.call_soon_threadsafe(self._terminal_gone)

        self._terminal_watch = TerminalWatch(terminal_gone)
        if not self.is_headless:
            self._terminal_watch.start()

    async def _first_notices(self, cwd: Path) -> None:
        """The demo's introduction, a resumed session's last messages, problems met at start."""
        conv = self.main.conversation
        if self.demo:
            await conv.add_notice(
                "This is codeloop's demo: a scripted stand-in model on 127.0.0.1, no API key, in a "
                f"temporary copy of a sample project ({cwd}). Commands and edits are real there. "
                "Its context window is tiny on purpose, so you also see a compaction. "
                "Press Enter to send the task below; approve with y."
            )
        if self.resumed:
            await self.main.show_resumed()
        for note in self.startup_notes:
            await conv.add_notice(note, "warning")

    def _attach_session(self, session: Session) -> None:
        self.main.attach(session)
        if not self.demo and not self.resumed and not session.history:
            self.call_later(show_welcome, self.main.conversation, session)
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
            session = self.preview.start()
        except Exception as e:  # e.g. the sessions folder cannot be written
            self.exit(return_code=2, message=f"codeloop: could not start the session: {e}")
            return
        self._attach_session(session)
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

    def _apply_keymap(self) -> None:
        if not self.tui.keymap:
            return
        known = {b.id for cls in (CodeloopApp, ApprovalScreen, ConfirmScreen, PickerScreen, DiffView, Composer, HelpScreen, ToolCell) for b in cls.BINDINGS if isinstance(b, Binding) and b.id}
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

    # ------------------------------------------------------------------ user → engine

    async def on_composer_submitted(self, message: Composer.Submitted) -> None:
        await self._submitted(message.text)

    async def _submitted(self, text: str) -> None:
        if self.session is None:  # sent within the first frame: runs once the session exists
            self._early.append(text)
        elif await self.main.backtrack.took(text):
            return  # sent as a fork of an earlier message (app/backtrack.py)
        elif text.startswith("/"):
            await self.slash.run(text)
        else:
            await self.main.take(text)

    async def palette_command(self, name: str) -> None:
        """A slash command picked in the palette: typed out when it takes an argument, else run."""
        if BY_NAME[name].needs_argument:
            self.main.prefill(name + " ")
        else:
            await self._submitted(name)

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
        self.call_from_thread(self.main.file_popup.set_paths, listing.paths)

    # ------------------------------------------------------------------ keys

    async def action_interrupt(self) -> None:
        """Esc: interrupt the turn, and bring the keys back to the composer from any pane."""
        await self.main.interrupt()

    async def action_interrupt_or_quit(self) -> None:
        """Ctrl+C: copy the selection if there is one; else interrupt the turn; else arm quit."""
        if self._copy_selection():
            self._ctrl_c_armed = False
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

    def action_transcript(self) -> None:
        """Ctrl+T: the whole session in a pager (screens/transcript.py); again, it closes."""
        from tui.app.screens.transcript import TranscriptScreen

        if isinstance(self.screen, TranscriptScreen):
            self.screen.dismiss(None)
        elif self.screen is self.main and self.session is not None:
            self.push_screen(TranscriptScreen(self.session.log, self.session.session_id))

    def _disarm(self) -> None:
        self._ctrl_c_armed = False

    def action_follow_conversation(self) -> None:
        self.main.conversation.follow()

    async def action_quit(self) -> None:
        if self.session is not None:
            await self.session.submit(ev.Shutdown())
        self.exit()

    # ------------------------------------------------------------------ the terminal

    def _terminal_gone(self) -> None:
        """The terminal hung up (tui/app/hangup.py killed the commands already): end."""
        self.exit(return_code=HANGUP_EXIT_CODE)

    def on_unmount(self) -> None:
        if self._terminal_watch is not None:
            self._terminal_watch.stop()

    def desktop_notify(self, text: str) -> bool:
        """An OSC 9 notification, only while the terminal window is not focused; True if sent.

        Textual has no public way to write an escape sequence; its own bell() and clipboard
        copy go through the driver the same way."""
        if not self.tui.notifications or self.app_focus or self._driver is None:
            return False
        self._driver.write(osc9(f"codeloop: {text}"))
        return True

    # ------------------------------------------------------------------ switching sessions

    async def switch_session(self, name: str) -> None:
        """/new, or /resume (its picker first)."""
        conv = self.main.conversation
        if self.sessions is None:
            await conv.add_notice(f"{name} is not available in this window (no configuration to start sessions from).", "warning")
        elif self.session.turn_running:
            await conv.add_notice(f"A turn is running; interrupt it (Esc) before {name}.", "warning")
        elif name == "/new":
            await self._replace_session(self.sessions.new(), resumed=False)
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

        current = self.session.session_id if self.session is not None else ""
        self.push_screen(ResumeScreen(found, current), callback=self._resume_chosen)

    async def _resume_chosen(self, path: Path | None) -> None:
        first = self.session is None  # `codeloop resume`: the picker came before any session
        if path is None or self.sessions is None:
            if first:
                await self._start_session()
            return
        try:
            session = self.sessions.resume(path)
        except Exception as e:  # a damaged rollout: say so, keep the current session
            await self.main.conversation.add_notice(redact(f"/resume: {e}"), "error")
            if first:
                await self._start_session()
            return
        if first:
            self.main.session = session
            self.main.show_settings()
            self.main.status.set(cwd=str(session.settings.cwd))
            await self.main.show_resumed()
            self._attach_session(session)
        else:
            await self._replace_session(session, resumed=True)

    async def _replace_session(self, session: Session, *, resumed: bool) -> None:
        self._files_listed_at = None  # the new session may work in another folder
        await self.main.switch_to(session, resumed=resumed)
        if not resumed:
            await show_welcome(self.main.conversation, session, fresh=True)
        self.warm_up()

    # ------------------------------------------------------------------ the session screen's
    # Reached through the app by the tests, which hold the app; the screen does the work.

    @property
    def queued(self) -> list[str]:
        return self.main.queued

    async def send(self, text: str) -> None:
        await self.main.send(text)

    async def show_event(self, event: ev.Event) -> None:
        await self.main.show_event(event)

    def ask(self, request: ev.ApprovalRequested) -> None:
        self.main.ask(request)

    async def run_slash(self, line: str) -> None:
        await self._submitted(line)
