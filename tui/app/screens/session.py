"""The session's screen: its panes, the user's messages in, the engine's events out.

It composes the conversation, the side panes (plan, diff, budget: tabs under the conversation in
the narrow layout), the status line and the composer, each with a typed getter; it sends what the
user typed (`take`, `send`, the queue while a turn runs) and pumps the session's events, rendering
each event class with one short handler (`@renders`, tui/dispatch.py) or listing it in `IGNORED`
(tests/test_dispatch.py holds it to every event of tui/protocol/). The app around it keeps the
themes, the keys, start-up and switching sessions; the slash commands are their own object
(tui/app/slash.py). Its layout is in session.tcss beside this file.

The choke point for outside text: `show_event` passes every event through `displayable` (every
string's control sequences neutralized, tui/safety/terminal_text.py) before any handler sees it,
and the handlers redact what comes from commands, the model and errors (`_red`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, cast

from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Tab, Tabs

from tui import protocol as ev
from tui import wording
from tui.app.backtrack import BacktrackKeys
from tui.app.review import review_completed, settle_reviews
from tui.app.screens.approval import ApprovalScreen
from tui.app.widgets.backtrack_popup import BacktrackPopup
from tui.app.widgets.budget import BudgetView, Prices
from tui.app.widgets.composer import Composer
from tui.app.widgets.conversation import Conversation
from tui.app.widgets.diff_view import DiffView
from tui.app.widgets.file_popup import FilePopup
from tui.app.widgets.plan import PlanView
from tui.app.widgets.slash_popup import SlashPopup
from tui.app.widgets.status import StatusLine
from tui.app.welcome import KEEPS_WELCOME
from tui.dispatch import handler, renders
from tui.safety.redact import default_redactor
from tui.safety.terminal_text import displayable

if TYPE_CHECKING:
    from tui.config import TuiSettings
    from tui.engine.session import Session

SIDE_PANES = ("plan", "diff", "budget")
PANE_TITLES = (("conversation", "Conversation"), ("plan", "Plan"), ("diff", "Diff preview"), ("budget", "Token budget"))


def _red(text: str) -> str:
    """Redacted for the screen (the redactor is taken each time: reading the config tunes it)."""
    return default_redactor().redact(text)


class SessionScreen(Screen[None]):
    """The app's first screen, for the life of the app; `attach` and `switch_to` give it its
    session (None until the app built the first one after the first frame)."""

    DEFAULT_CSS = Path(__file__).with_suffix(".tcss").read_text(encoding="utf-8")

    IGNORED: ClassVar[frozenset[type[ev.Event]]] = frozenset(
        {
            ev.SessionConfigured,  # the status line shows the settings from the start
            ev.UserMessageRecorded,  # shown when the user sent it (or queued it)
            ev.ReasoningDelta,  # the summary is shown whole (ReasoningSummary)
            ev.ToolCallProposed,  # a call shows itself when it runs (command, patch, MCP)
            ev.ToolCallEnded,  # ... and when it ends, in its own cell
        }
    )

    def __init__(
        self,
        session: Session | None,
        *,
        tui: TuiSettings,
        desktop_notify: Callable[[str], bool],
    ) -> None:
        """`desktop_notify` sends a notification when the terminal is not looked at."""
        super().__init__(id="_default")
        # None only until the app builds it; nothing reads it before (see CodeloopApp._start_session).
        self.session = cast("Session", session)
        self.tui = tui
        self.queued: list[str] = []  # sent during a turn: sent one by one as turns end
        self._desktop_notify = desktop_notify
        self.backtrack = BacktrackKeys(self)  # Esc Esc: edit an earlier message (app/backtrack.py)
        # Set once the panes are mounted: the screen composes them in its own task, and the
        # app's on_mount, which fills them, waits for it.
        self.panes_mounted = asyncio.Event()

    # ------------------------------------------------------------------ panes

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
        yield BacktrackPopup(id="backtrack-popup")
        yield Composer(id="composer")
        yield Footer()

    @property
    def conversation(self) -> Conversation:
        return self.query_one(Conversation)

    @property
    def plan(self) -> PlanView:
        return self.query_one(PlanView)

    @property
    def diff(self) -> DiffView:
        return self.query_one(DiffView)

    @property
    def budget(self) -> BudgetView:
        return self.query_one(BudgetView)

    @property
    def composer(self) -> Composer:
        return self.query_one(Composer)

    @property
    def status(self) -> StatusLine:
        return self.query_one(StatusLine)

    @property
    def file_popup(self) -> FilePopup:
        return self.query_one(FilePopup)

    def on_mount(self) -> None:
        for pane, title in PANE_TITLES:
            self.query_one(f"#{pane}").border_title = title
        self.composer.popup = self.query_one(SlashPopup)
        self.composer.files = self.file_popup
        self.composer.keys_first = self.backtrack.key
        self.panes_mounted.set()

    @on(Tabs.TabActivated, "#side-tabs")
    def _show_side_pane(self, event: Tabs.TabActivated) -> None:
        chosen = (event.tab.id or "tab-plan").removeprefix("tab-")
        for pane in SIDE_PANES:
            self.query_one(f"#{pane}").set_class(pane == chosen, "-active")

    def reveal(self, pane: str) -> None:
        """In the narrow layout, bring a side pane's tab forward when it has news."""
        if self.has_class("-narrow"):
            self.query_one("#side-tabs", Tabs).active = f"tab-{pane}"

    def focus_composer(self) -> None:
        # set_focus, not focus(): focus() lands a beat later, and keys already queued would
        # still go to the pane.
        if self.app.screen is self:
            self.set_focus(self.composer)

    def prefill(self, text: str) -> None:
        """Put `text` in the composer, the cursor at its end, and the keys there."""
        composer = self.composer
        composer.text = text
        composer.move_cursor(composer.document.end)
        composer.focus()

    def prices(self, model: str) -> Prices | None:
        p = self.tui.prices.get(model)
        if p is None:
            return None
        return Prices(input=p.input, cached_input=p.cached_input if p.cached_input is not None else p.input, output=p.output)

    def show_settings(self) -> None:
        """The session's model and policies, after they changed (/model, /approvals, /sandbox)."""
        s = self.session.settings
        self.status.set(model=s.model, approval=s.approval_policy, sandbox=s.sandbox.mode)
        self.budget.set_prices(self.prices(s.model))

    # ------------------------------------------------------------------ the session

    def attach(self, session: Session) -> None:
        """The first session: its events go to the panes from now on."""
        self.session = session
        self.pump_events()

    async def switch_to(self, session: Session, *, resumed: bool) -> None:
        """Another session (/new, /resume): the old one is shut down and the panes start over,
        with what a resumed one showed."""
        old, self.session = self.session, session
        await old.submit(ev.Shutdown())
        await self.conversation.remove_children()
        self.plan.update_plan([], None)
        self.diff.clear()
        self.budget.reset(session.context_window, session.auto_compact_limit)
        self.show_settings()
        self.status.set(cwd=str(session.settings.cwd))
        self.queued.clear()
        self.backtrack.reset()
        if resumed:
            await self.show_resumed()
        else:
            await self.conversation.add_notice(f"New session {session.session_id}.")
        self.pump_events()  # exclusive: replaces the worker reading the old session

    async def show_resumed(self) -> None:
        """A resumed session's recorded events through the same handlers: its last turns in the
        conversation, the plan and the token budget from all of it (Ctrl+T shows everything)."""
        from tui.engine.replay import history_events, replay_start  # the engine loads after the first frame

        recorded = self.session.log[: self.session.replayed] or history_events(self.session.history)
        start = replay_start(recorded)
        for n, event in enumerate(recorded):
            if isinstance(event, ev.UserMessageRecorded) and n >= start:  # live, shown as it was sent
                await self.conversation.add_user(_red(displayable(event).text))
            elif n >= start or isinstance(event, (ev.PlanUpdated, ev.TokenUsage)):
                await self.show_event(event)
        await self.conversation.add_notice(
            f"Resumed session {self.session.session_id} ({len(self.session.history)} items): the model "
            f"has the whole conversation{'; the last turns are shown above' if start else ''}. Ctrl+T shows all of it."
        )

    # ------------------------------------------------------------------ user → engine

    async def take(self, text: str) -> None:
        """A message (or `!command`) the user sent: now, or behind the queue while a turn runs."""
        if self.session.turn_running or self.queued:
            # Behind the queue even when the turn just ended: its TurnCompleted, still on its way
            # to this screen, sends the queue's head next; sending now would overtake it.
            self.queued.append(text)
            await self.conversation.add_user(text, queued=True)
        else:
            await self.send(text)

    async def send(self, text: str) -> None:
        if text.startswith("!"):
            # The user's own command: its tool cell is what the conversation shows.
            await self.session.submit(ev.RunUserShell(text[1:].strip()))
            return
        await self.conversation.add_user(text)
        await self.session.submit(ev.UserInput(text, images=self.composer.attachments.paths_in(text)))

    async def interrupt(self) -> None:
        """Esc: interrupt the turn, and bring the keys back to the composer from any pane."""
        self.focus_composer()
        if self.session is not None and self.session.turn_running:
            await self.session.submit(ev.Interrupt())

    async def _send_queued(self) -> None:
        """A turn ended: the next queued message goes."""
        if self.queued:
            await self.conversation.take_queued()
            await self.send(self.queued.pop(0))

    # ------------------------------------------------------------------ engine → panes

    @work(exclusive=True, group="engine-events")
    async def pump_events(self) -> None:
        while True:
            event = await self.session.next_event()
            await self.show_event(event)

    async def show_event(self, event: ev.Event) -> None:
        # The choke point: no handler sees the event before every string of it is displayable.
        shown = displayable(event)
        if not isinstance(shown, KEEPS_WELCOME):
            self.conversation.dismiss_welcome()
        render = handler(self, shown)
        if render is not None:
            await render(shown)

    @renders(ev.TurnStarted)
    async def _turn_started(self, e: ev.TurnStarted) -> None:
        self.conversation.end_retries()
        self.status.working(True)
        self.budget.start_turn()

    @renders(ev.AgentMessageDelta)
    async def _answer_delta(self, e: ev.AgentMessageDelta) -> None:
        await self.conversation.append_answer(_red(e.delta))

    @renders(ev.AgentMessage)
    async def _answer(self, e: ev.AgentMessage) -> None:
        await self.conversation.finish_answer(_red(e.text))

    @renders(ev.ReviewCompleted)
    async def _review_completed(self, e: ev.ReviewCompleted) -> None:
        await review_completed(self, e)

    @renders(ev.ReasoningSummary)
    async def _reasoning(self, e: ev.ReasoningSummary) -> None:
        await self.conversation.add_reasoning(ev.ReasoningSummary(_red(e.text)))

    @renders(ev.WebSearchEnded)
    async def _web_search(self, e: ev.WebSearchEnded) -> None:
        await self.conversation.add_search(_red(e.describe()))

    @renders(ev.ExecCommandBegan)
    async def _command_began(self, e: ev.ExecCommandBegan) -> None:
        typed = _red(e.display) if e.display is not None else None
        await self.conversation.tool_began(e.call_id, [_red(a) for a in e.command], e.cwd, e.sandboxed, typed)

    @renders(ev.ExecCommandOutputDelta)
    async def _command_output(self, e: ev.ExecCommandOutputDelta) -> None:
        self.conversation.tool_output(e.call_id, e.chunk)  # redacted by the engine, whole lines at a time

    @renders(ev.ExecCommandEnded)
    async def _command_ended(self, e: ev.ExecCommandEnded) -> None:
        self.conversation.tool_ended(e.call_id, e.exit_code, e.duration_s, _red(e.output), e.timed_out, e.interrupted)

    @renders(ev.McpToolCallBegan)
    async def _mcp_call_began(self, e: ev.McpToolCallBegan) -> None:
        await self.conversation.mcp_call_began(e.call_id, e.server, e.tool, _red(e.arguments))

    @renders(ev.McpElicitationRequested)
    async def _mcp_elicitation(self, e: ev.McpElicitationRequested) -> None:
        from tui.app.screens.elicitation import ElicitationScreen

        self.app.push_screen(ElicitationScreen(e), callback=lambda answer: e.resolve(*(answer or ("cancel", None))))

    @renders(ev.McpToolCallProgress)
    async def _mcp_call_progress(self, e: ev.McpToolCallProgress) -> None:
        self.conversation.mcp_call_progress(e.call_id, _red(wording.mcp_progress(e)))

    @renders(ev.McpToolCallEnded)
    async def _mcp_call_ended(self, e: ev.McpToolCallEnded) -> None:
        self.conversation.mcp_call_ended(e.call_id, e.success, e.duration_s, _red(e.output), e.timed_out)

    @renders(ev.McpServerStatus)
    async def _mcp_server(self, e: ev.McpServerStatus) -> None:
        if e.state == "failed":
            await self.conversation.add_notice(_red(wording.mcp_server_failed_notice(e)), "warning")

    @renders(ev.ApprovalRequested)
    async def _approval_requested(self, e: ev.ApprovalRequested) -> None:
        self.status.waiting(True)
        self.ask(e)

    @renders(ev.ApprovalDecided)
    async def _approval_decided(self, e: ev.ApprovalDecided) -> None:
        self.status.waiting(False)
        if e.decision is ev.ReviewDecision.DENIED:
            await self.conversation.add_notice(wording.denied_notice(e), "warning")

    @renders(ev.PatchApplyBegan)
    async def _patch_began(self, e: ev.PatchApplyBegan) -> None:
        self.diff.show_changes(e.changes, label="applied")
        self.reveal("diff")
        await self.conversation.add_patch(e.changes, applied=True)

    @renders(ev.PatchApplyEnded)
    async def _patch_ended(self, e: ev.PatchApplyEnded) -> None:
        if not e.success:
            await self.conversation.add_notice(_red(wording.patch_failed_notice(e)), "error")

    @renders(ev.PlanUpdated)
    async def _plan(self, e: ev.PlanUpdated) -> None:
        self.plan.update_plan(e.plan, e.explanation)

    @renders(ev.TokenUsage)
    async def _usage(self, e: ev.TokenUsage) -> None:
        self.budget.record_usage(e)

    @renders(ev.CacheMissed)
    async def _cache_missed(self, e: ev.CacheMissed) -> None:
        self.budget.record_miss(e)

    @renders(ev.ContextEstimated)
    async def _estimate(self, e: ev.ContextEstimated) -> None:
        self.conversation.begin_attempt()
        self.budget.set_estimate(e.pending_tokens, e.approximate)

    @renders(ev.CompactionStarted)
    async def _compacting(self, e: ev.CompactionStarted) -> None:
        await self.conversation.add_notice(wording.compacting_notice(e), "warning")

    @renders(ev.CompactionDone)
    async def _compacted(self, e: ev.CompactionDone) -> None:
        self.budget.record_compaction(e.before_tokens, e.after_tokens)
        await self.conversation.add_notice(wording.compacted_notice(e))

    @renders(ev.UndoDone)
    async def _undone(self, e: ev.UndoDone) -> None:
        self.diff_after_undo()
        await self.conversation.add_notice(wording.undone_notice(e))

    @renders(ev.HistoryForked)
    async def _forked(self, e: ev.HistoryForked) -> None:
        await self.backtrack.forked(e)

    @renders(ev.WarningIssued)
    async def _warning(self, e: ev.WarningIssued) -> None:
        await self.conversation.add_notice(_red(e.message), "warning")

    @renders(ev.StreamRetrying)
    async def _retrying(self, e: ev.StreamRetrying) -> None:
        await self.conversation.discard_attempt()
        await self.conversation.show_retry(_red(e.describe()))

    @renders(ev.Error)
    async def _error(self, e: ev.Error) -> None:
        await self.conversation.add_notice(_red(e.message), "error")

    @renders(ev.TurnCompleted)
    async def _turn_completed(self, e: ev.TurnCompleted) -> None:
        self.status.working(False)
        self._desktop_notify(_red(wording.turn_done(e)))
        await self._send_queued()

    @renders(ev.TurnFailed)
    async def _turn_failed(self, e: ev.TurnFailed) -> None:
        self.status.working(False)
        self._desktop_notify(_red(wording.turn_failed(e.message)))
        settle_reviews(self.conversation, "the review failed")
        await self._send_queued()

    @renders(ev.TurnAborted)
    async def _turn_aborted(self, e: ev.TurnAborted) -> None:
        self.status.working(False)
        await self.conversation.add_notice(_red(wording.turn_aborted_notice(e)), "warning")
        settle_reviews(self.conversation, "the review was interrupted")
        await self._send_queued()

    # ------------------------------------------------------------------ what the handlers open

    @work(thread=True, exclusive=True, group="git-diff")
    def diff_after_undo(self) -> None:
        """The diff pane showed the edits just undone: show what the working tree holds now
        (git runs in a thread, as /diff's does)."""
        from tui.app.gitdiff import working_tree_diff

        try:
            text = working_tree_diff(self.session.settings.cwd)
        except Exception:  # noqa: BLE001 - a failing git only leaves the pane empty
            text = None
        self.app.call_from_thread(self._show_tree_after_undo, text)

    def _show_tree_after_undo(self, text: str | None) -> None:
        if text and text.strip():
            self.diff.show_unified(text, label="after /undo: git diff (working tree)")
        else:
            self.diff.clear()

    def ask(self, request: ev.ApprovalRequested) -> None:
        """The approval modal; its answer resolves the future the engine awaits."""
        self.conversation.dismiss_welcome()
        if self.tui.bell:
            self.app.bell()
        self._desktop_notify(_red(wording.approval_needed(request)))
        if request.kind == "patch" and request.changes:
            self.diff.show_changes(request.changes, label="pending approval")
            self.reveal("diff")
        self.app.push_screen(
            ApprovalScreen(request, type_ahead=self.type_ahead),
            callback=lambda decision: request.resolve(decision or ev.ReviewDecision.DENIED),
        )

    def type_ahead(self, event: events.Key | events.Paste) -> None:
        """A key typed into a modal before it could decide: the composer's, in order (its queue
        is FIFO). A copy that does not bubble: unhandled, it would reach the app's bindings,
        which look at the modal's (Esc would abort the turn)."""
        copy: events.Key | events.Paste = (
            events.Key(event.key, event.character) if isinstance(event, events.Key) else events.Paste(event.text)
        )
        copy.bubble = False  # type: ignore[misc]
        composer = self.composer
        if isinstance(event, events.Key) and event.key == "escape" and not composer.has_open_popup():
            # Esc from the composer interrupts the turn (the app's binding, which a copy that
            # does not bubble never reaches): the same here, never a decision of the modal's.
            self.run_worker(self.interrupt(), group="type-ahead-interrupt")
            return
        composer.post_message(copy)
