"""The codeloop Textual app: one client of the engine.

Events from the session are pumped by a worker and routed to the panes; operations go back
through `session.submit`. An approval is a future the engine awaits: the modal resolves it,
and nothing else in the UI waits on it.
"""

from __future__ import annotations

import shlex
import asyncio
import gc
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.widgets import Footer, Tab, Tabs

from tui.app.commands import SlashCommandProvider
from tui.app.notify import osc9
from tui.app.screens.approval import ApprovalScreen
from tui.app.screens.confirm import ConfirmScreen
from tui.app.screens.help import PANE_HELP, HelpScreen
from tui.app.slash_actions import SlashActions
from tui.app.themes import DEFAULT_THEME, app_variable_defaults, load_themes
from tui.app.widgets.budget import BudgetView, Prices
from tui.app.widgets.composer import Composer
from tui.app.widgets.conversation import Conversation, ToolCell
from tui.app.widgets.diff_view import DiffView
from tui.app.widgets.file_popup import FilePopup
from tui.app.widgets.plan import PlanView
from tui.app.widgets.slash_popup import SlashPopup
from tui.app.widgets.status import StatusLine
from tui.config import TuiSettings
from tui.engine import events as ev
from tui.safety.redact import default_redactor

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


class CodeloopApp(SlashActions, App[None]):
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
        self.session = session
        self.demo = demo
        self.auto_compact_limit = auto_compact_limit
        self.branch = branch
        self.tui = tui or TuiSettings()
        self.home = home
        self.queued: list[str] = []
        self._files_listed_at: float | None = None  # monotonic time of the last file listing
        self._ctrl_c_armed = False
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
            self.startup_notes.append(f"theme {wanted!r} is not known; using {DEFAULT_THEME}. Known: {', '.join(sorted(themes))}")
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
            self._attach()

    def _attach(self) -> None:
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
        self._attach()
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
            warm = getattr(session.client, "warm", None)
            if warm is not None:
                warm()
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

    def on_resize(self, event: Resize) -> None:
        self._set_narrow(event.size.width)

    def _set_narrow(self, width: int) -> None:
        self.screen.set_class(width < NARROW_BELOW, "-narrow")

    @on(Tabs.TabActivated, "#side-tabs")
    def _show_side_pane(self, event: Tabs.TabActivated) -> None:
        chosen = (event.tab.id or "tab-plan").removeprefix("tab-")
        for pane in SIDE_PANES:
            self.query_one(f"#{pane}").set_class(pane == chosen, "-active")

    def _reveal(self, pane: str) -> None:
        """In the narrow layout, bring a side pane's tab forward when it has news."""
        if self.screen.has_class("-narrow"):
            self.query_one("#side-tabs", Tabs).active = f"tab-{pane}"

    # ------------------------------------------------------------------ engine → panes

    @work(exclusive=True, group="engine-events")
    async def pump_events(self) -> None:
        while True:
            event = await self.session.next_event()
            await self.show_event(event)

    async def show_event(self, event: ev.Event) -> None:
        conv = self.query_one(Conversation)
        # Text from outside (commands, the model, errors) is redacted before it is shown.
        red = default_redactor().redact
        if isinstance(event, ev.TurnStarted):
            self.query_one(StatusLine).working(True)
        elif isinstance(event, ev.AgentMessageDelta):
            await conv.append_answer(red(event.delta))
        elif isinstance(event, ev.AgentMessage):
            await conv.finish_answer(red(event.text))
        elif isinstance(event, ev.ReasoningSummary):
            await conv.add_reasoning(red(event.text))
        elif isinstance(event, ev.WebSearchEnded):
            await conv.add_search(red(event.describe()))
        elif isinstance(event, ev.ExecCommandBegan):
            display = red(event.display) if event.display is not None else None
            await conv.tool_began(event.call_id, [red(a) for a in event.command], event.cwd, event.sandboxed, display)
        elif isinstance(event, ev.ExecCommandEnded):
            conv.tool_ended(event.call_id, event.exit_code, event.duration_s, red(event.output), event.timed_out)
        elif isinstance(event, ev.McpToolCallBegan):
            await conv.mcp_call_began(event.call_id, event.server, event.tool, red(event.arguments))
        elif isinstance(event, ev.McpToolCallEnded):
            conv.mcp_call_ended(event.call_id, event.success, event.duration_s, red(event.output), event.timed_out)
        elif isinstance(event, ev.McpServerStatus) and event.state == "failed":
            await conv.add_notice(red(f"MCP server {event.server!r} failed: {event.reason}. The session goes on without it; /mcp lists the servers."), "warning")
        elif isinstance(event, ev.ApprovalRequested):
            self.ask(event)
        elif isinstance(event, ev.ApprovalDecided) and event.decision is ev.ReviewDecision.DENIED:
            await conv.add_notice(f"Denied ({event.by}); the model was told.", "warning")
        elif isinstance(event, ev.PatchApplyBegan):
            self.query_one(DiffView).show_changes(event.changes, label="applied")
            self._reveal("diff")
            await conv.add_patch(event.changes, applied=True)
        elif isinstance(event, ev.PatchApplyEnded) and not event.success:
            await conv.add_notice(red(f"Patch failed: {event.output}"), "error")
        elif isinstance(event, ev.PlanUpdated):
            self.query_one(PlanView).update_plan(event.plan, event.explanation)
        elif isinstance(event, ev.TokenUsage):
            self.query_one(BudgetView).record_usage(event)
        elif isinstance(event, ev.ContextEstimated):
            conv.begin_attempt()
            self.query_one(BudgetView).set_estimate(event.pending_tokens, event.approximate)
        elif isinstance(event, ev.CompactionStarted):
            await conv.add_notice(f"Compacting the conversation ({event.reason}, {event.tokens:,} tokens)…", "warning")
        elif isinstance(event, ev.CompactionDone):
            self.query_one(BudgetView).record_compaction(event.before_tokens, event.after_tokens)
            await conv.add_notice(
                f"── compacted ({event.method}): {event.before_tokens:,} → ≈{event.after_tokens:,} tokens. "
                "Your messages are kept verbatim; the rest is summarised. ──"
            )
        elif isinstance(event, ev.UndoDone):
            listed = ", ".join(event.paths[:8]) + (" …" if len(event.paths) > 8 else "")
            await conv.add_notice(f"Undone: restored {len(event.paths)} file(s){': ' + listed if listed else ''}. The model was told.")
        elif isinstance(event, ev.WarningIssued):
            await conv.add_notice(red(event.message), "warning")
        elif isinstance(event, ev.StreamRetrying):
            await conv.discard_attempt()
            await conv.add_notice(red(f"Reconnecting {event.attempt}/{event.max_attempts}… ({event.reason})"), "warning")
        elif isinstance(event, ev.Error):
            await conv.add_notice(red(event.message), "error")
        elif isinstance(event, (ev.TurnCompleted, ev.TurnAborted, ev.TurnFailed)):
            self.query_one(StatusLine).working(False)
            if isinstance(event, ev.TurnCompleted):
                last = (event.last_agent_message or "").strip().splitlines()
                self.desktop_notify(red(f"done: {last[0]}" if last else "done"))
            elif isinstance(event, ev.TurnFailed):
                self.desktop_notify(red(f"turn failed: {event.message}"))
            if isinstance(event, ev.TurnAborted):
                await conv.add_notice(red(f"Turn aborted ({event.reason})."), "warning")
            if self.queued:
                await self.send(self.queued.pop(0))

    def ask(self, request: ev.ApprovalRequested) -> None:
        if self.tui.bell:
            self.bell()
        if request.kind == "exec" and request.command:
            what = f"run {shlex.join(request.command)}"
        else:
            what = f"edit {len(request.changes or [])} file(s)"
        self.desktop_notify(default_redactor().redact(f"approval needed to {what}"))
        if request.kind == "patch" and request.changes:
            self.query_one(DiffView).show_changes(request.changes, label="pending approval")
            self._reveal("diff")
        self.push_screen(ApprovalScreen(request), callback=lambda decision: request.resolve(decision or ev.ReviewDecision.DENIED))

    def desktop_notify(self, text: str) -> bool:
        """An OSC 9 notification, only while the terminal window is not focused; True if sent.

        Textual has no public way to write an escape sequence; its own bell() and clipboard
        copy go through the driver the same way."""
        if not self.tui.notifications or self.app_focus or self._driver is None:
            return False
        self._driver.write(osc9(f"codeloop: {text}"))
        return True

    # ------------------------------------------------------------------ user → engine

    async def on_composer_submitted(self, message: Composer.Submitted) -> None:
        await self._submitted(message.text)

    async def _submitted(self, text: str) -> None:
        if self.session is None:  # sent within the first frame: runs once the session exists
            self._early.append(text)
        elif text.startswith("/"):
            await self.run_slash(text)
        elif self.session.turn_running:
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
        if self.session is not None and self.session.turn_running:
            await self.session.submit(ev.Interrupt())

    async def action_interrupt_or_quit(self) -> None:
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

    def action_pane_help(self) -> None:
        node: Any = self.focused
        while node is not None and getattr(node, "id", None) not in PANE_HELP:
            node = node.parent
        pane = getattr(node, "id", None) or "composer"
        self.push_screen(HelpScreen(pane))

    def action_maximize(self, pane: str) -> None:
        widget = self.query_one(f"#{pane}")
        if self.screen.maximized is widget:
            self.screen.minimize()
        else:
            self.screen.maximize(widget, container=False)

    async def action_quit(self) -> None:
        if self.session is not None:
            await self.session.submit(ev.Shutdown())
        self.exit()


_startup_frozen = False


def settle_startup_garbage() -> None:
    """Once per process, after start-up: collect, then freeze what is left and turn collection
    back on (run_app turned it off for the start). What start-up made (modules, classes, the
    tokenizer) lives as long as the process; out of the collector's sight, a full collection
    while an answer streams scans the session's own objects only (gen-2 pauses went from
    60-100 ms to under 20 ms in the keystroke benchmark). Only once: a later freeze (after /new)
    would also freeze the garbage of the session before, for good."""
    global _startup_frozen
    if not _startup_frozen:
        _startup_frozen = True
        gc.collect()
        gc.freeze()
    gc.enable()


def warm_renderers() -> None:
    import rich.markdown  # noqa: F401 - imported for its side effect: loaded once, here
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    for name in ("python", "bash", "diff", "json", "javascript", "typescript", "rust", "go", "toml", "yaml"):
        try:
            get_lexer_by_name(name)
        except ClassNotFound:
            pass


def git_branch(cwd: Path) -> str:
    """Called before the app starts, so the event loop never waits on git."""
    try:
        out = subprocess.run(["git", "rev-parse", "--abbrev-ref", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=2)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""
