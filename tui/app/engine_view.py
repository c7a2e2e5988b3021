"""Engine events → panes: what the app shows for each event the session emits, and the approval
modal. A part of CodeloopApp kept in its own file (as slash_actions.py is)."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from textual import events, work

from tui import protocol as ev
from tui.app.notify import osc9
from tui.app.screens.approval import ApprovalScreen
from tui.app.widgets.budget import BudgetView
from tui.app.widgets.composer import Composer
from tui.app.widgets.conversation import Conversation
from tui.app.widgets.diff_view import DiffView
from tui.app.widgets.plan import PlanView
from tui.app.widgets.status import StatusLine
from tui.safety.redact import default_redactor
from tui.safety.terminal_text import displayable

if TYPE_CHECKING:
    from textual.app import App

    from tui.config import TuiSettings
    from tui.engine.session import Session

    _Base = App[None]
else:
    _Base = object


class EngineView(_Base):
    """Mixed into CodeloopApp: every method here runs with the app as `self`."""

    if TYPE_CHECKING:  # what CodeloopApp provides
        session: Session
        queued: list[str]
        tui: TuiSettings

        def _reveal(self, pane: str) -> None: ...

        async def send(self, text: str) -> None: ...

        async def action_interrupt(self) -> None: ...

    @work(exclusive=True, group="engine-events")
    async def pump_events(self) -> None:
        while True:
            event = await self.session.next_event()
            await self.show_event(event)

    async def show_event(self, event: ev.Event) -> None:
        conv = self.query_one(Conversation)
        # The app's choke point for outside text: every string of the event has its control
        # sequences neutralized (tui/safety/terminal_text.py) before any pane sees it, and text
        # from commands, the model and errors is redacted below.
        event = displayable(event)
        red = default_redactor().redact
        if isinstance(event, ev.TurnStarted):
            conv.end_retries()
            self.query_one(StatusLine).working(True)
        elif isinstance(event, ev.AgentMessageDelta):
            await conv.append_answer(red(event.delta))
        elif isinstance(event, ev.AgentMessage):
            await conv.finish_answer(red(event.text))
        elif isinstance(event, ev.ReasoningSummary):
            await conv.add_reasoning(ev.ReasoningSummary(red(event.text)))
        elif isinstance(event, ev.WebSearchEnded):
            await conv.add_search(red(event.describe()))
        elif isinstance(event, ev.ExecCommandBegan):
            display = red(event.display) if event.display is not None else None
            await conv.tool_began(event.call_id, [red(a) for a in event.command], event.cwd, event.sandboxed, display)
        elif isinstance(event, ev.ExecCommandOutputDelta):
            conv.tool_output(event.call_id, event.chunk)  # redacted by the engine, whole lines at a time
        elif isinstance(event, ev.ExecCommandEnded):
            conv.tool_ended(event.call_id, event.exit_code, event.duration_s, red(event.output), event.timed_out, event.interrupted)
        elif isinstance(event, ev.McpToolCallBegan):
            await conv.mcp_call_began(event.call_id, event.server, event.tool, red(event.arguments))
        elif isinstance(event, ev.McpToolCallEnded):
            conv.mcp_call_ended(event.call_id, event.success, event.duration_s, red(event.output), event.timed_out)
        elif isinstance(event, ev.McpServerStatus) and event.state == "failed":
            await conv.add_notice(red(f"MCP server {event.server!r} failed: {event.reason}. The session goes on without it; /mcp lists the servers."), "warning")
        elif isinstance(event, ev.ApprovalRequested):
            self.query_one(StatusLine).waiting(True)
            self.ask(event)
        elif isinstance(event, ev.ApprovalDecided):
            self.query_one(StatusLine).waiting(False)
            if event.decision is ev.ReviewDecision.DENIED:
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
            self.diff_after_undo()
            listed = ", ".join(event.paths[:8]) + (" …" if len(event.paths) > 8 else "")
            await conv.add_notice(f"Undone: restored {len(event.paths)} file(s){': ' + listed if listed else ''}. The model was told.")
        elif isinstance(event, ev.WarningIssued):
            await conv.add_notice(red(event.message), "warning")
        elif isinstance(event, ev.StreamRetrying):
            await conv.discard_attempt()
            await conv.show_retry(red(event.describe()))
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
                await conv.take_queued()
                await self.send(self.queued.pop(0))

    @work(thread=True, exclusive=True, group="git-diff")
    def diff_after_undo(self) -> None:
        """The diff pane showed the edits just undone: show what the working tree holds now
        (git runs in a thread, as /diff's does)."""
        from tui.app.gitdiff import working_tree_diff

        try:
            text = working_tree_diff(self.session.settings.cwd)
        except Exception:  # noqa: BLE001 - a failing git only leaves the pane empty
            text = None
        self.call_from_thread(self._show_tree_after_undo, text)

    def _show_tree_after_undo(self, text: str | None) -> None:
        view = self.query_one(DiffView)
        if text and text.strip():
            view.show_unified(text, label="after /undo: git diff (working tree)")
        else:
            view.clear()

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
        self.push_screen(ApprovalScreen(request, type_ahead=self.type_ahead), callback=lambda decision: request.resolve(decision or ev.ReviewDecision.DENIED))

    def type_ahead(self, event: events.Key | events.Paste) -> None:
        """A key typed into an approval before it could decide: the composer's, in order (its
        queue is FIFO). A copy that does not bubble: unhandled, it would reach the app's
        bindings, which look at the modal's (Esc would abort the turn)."""
        copy: events.Key | events.Paste = (
            events.Key(event.key, event.character) if isinstance(event, events.Key) else events.Paste(event.text)
        )
        copy.bubble = False  # type: ignore[misc]
        # The main screen's composer: the active screen is the modal.
        composer = self.screen_stack[0].query_one(Composer)
        if isinstance(event, events.Key) and event.key == "escape" and not composer.has_open_popup():
            # Esc from the composer interrupts the turn (the app's binding, which a copy that
            # does not bubble never reaches): the same here, never a decision of the modal's.
            self.run_worker(self.action_interrupt(), group="type-ahead-interrupt")
            return
        composer.post_message(copy)

    def desktop_notify(self, text: str) -> bool:
        """An OSC 9 notification, only while the terminal window is not focused; True if sent.

        Textual has no public way to write an escape sequence; its own bell() and clipboard
        copy go through the driver the same way."""
        if not self.tui.notifications or self.app_focus or self._driver is None:
            return False
        self._driver.write(osc9(f"codeloop: {text}"))
        return True
