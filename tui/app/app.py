"""The codeloop Textual app: one client of the engine.

Events from the session are pumped by a worker and routed to the panes; operations go back
through `session.submit`. An approval is a future the engine awaits: the modal resolves it,
and nothing else in the UI waits on it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer

from tui.app.screens.approval import ApprovalScreen
from tui.app.widgets.budget import BudgetView
from tui.app.widgets.composer import Composer
from tui.app.widgets.conversation import Conversation
from tui.app.widgets.diff_view import DiffView
from tui.app.widgets.plan import PlanView
from tui.app.widgets.status import StatusLine
from tui.engine import events as ev
from tui.engine.session import Session

SLASH_HELP = """\
/help — this list · /quit — leave · /status — session settings
/model NAME · /approvals untrusted|on-request|on-failure|never · /sandbox read-only|workspace-write|danger-full-access
Keys: Enter send · Ctrl+J newline · Esc interrupt · Ctrl+C twice quit · F2–F5 maximize a pane · Ctrl+P palette"""

# Commands whose engine side has not landed yet say so plainly instead of pretending.
NOT_YET = {
    "/compact": "compaction", "/resume": "resume", "/undo": "undo", "/new": "new sessions",
    "/diff": "the working-tree diff", "/init": "/init", "/theme": "theme switching",
}


class CodeloopApp(App[None]):
    TITLE = "codeloop"
    CSS = """
    #main { height: 1fr; }
    #conversation { width: 2fr; border: round $primary 40%; }
    #side { width: 1fr; min-width: 36; }
    #side > * { border: round $primary 40%; }
    #plan { height: auto; max-height: 30%; }
    #diff { height: 1fr; }
    #budget { height: auto; }
    """
    BINDINGS = [
        Binding("escape", "interrupt", "Interrupt", id="app.interrupt", show=False),
        Binding("ctrl+c", "interrupt_or_quit", "Interrupt/quit", id="app.ctrl_c", priority=True),
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
        Binding("f2", "maximize('conversation')", "Conversation", id="pane.conversation"),
        Binding("f3", "maximize('plan')", "Plan", id="pane.plan"),
        Binding("f4", "maximize('diff')", "Diff", id="pane.diff"),
        Binding("f5", "maximize('budget')", "Budget", id="pane.budget"),
    ]

    def __init__(
        self, session: Session, *, demo: bool = False, auto_compact_limit: int | None = None, branch: str = ""
    ) -> None:
        super().__init__()
        self.session = session
        self.branch = branch
        self.demo = demo
        self.auto_compact_limit = auto_compact_limit
        self.queued: list[str] = []
        self._ctrl_c_armed = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield Conversation(id="conversation")
            with Vertical(id="side"):
                yield PlanView(id="plan")
                yield DiffView(id="diff")
                yield BudgetView(id="budget")
        yield StatusLine(id="status")
        yield Composer(id="composer")
        yield Footer()

    def on_mount(self) -> None:
        s = self.session.settings
        status = self.query_one(StatusLine)
        status.set(
            demo="DEMO (scripted model)" if self.demo else "",
            model=s.model, cwd=str(s.cwd), branch=self.branch,
            approval=s.approval_policy, sandbox=s.sandbox.mode,
        )
        for pane, title in (("conversation", "Conversation"), ("plan", "Plan"), ("diff", "Diff preview"), ("budget", "Token budget")):
            self.query_one(f"#{pane}").border_title = title
        self.query_one(BudgetView).set_limits(self.session.context_window, self.auto_compact_limit)
        self.query_one(Composer).focus()
        self.pump_events()

    # ------------------------------------------------------------------ engine → panes

    @work(exclusive=True, group="engine-events")
    async def pump_events(self) -> None:
        while True:
            event = await self.session.next_event()
            await self.show_event(event)

    async def show_event(self, event: ev.Event) -> None:
        conv = self.query_one(Conversation)
        if isinstance(event, ev.TurnStarted):
            self.query_one(StatusLine).working(True)
        elif isinstance(event, ev.AgentMessageDelta):
            await conv.append_answer(event.delta)
        elif isinstance(event, ev.AgentMessage):
            await conv.finish_answer(event.text)
        elif isinstance(event, ev.ReasoningSummary):
            await conv.add_reasoning(event.text)
        elif isinstance(event, ev.ExecCommandBegan):
            await conv.tool_began(event.call_id, event.command, event.cwd, event.sandboxed)
        elif isinstance(event, ev.ExecCommandEnded):
            conv.tool_ended(event.call_id, event.exit_code, event.duration_s, event.output, event.timed_out)
        elif isinstance(event, ev.ApprovalRequested):
            self.ask(event)
        elif isinstance(event, ev.ApprovalDecided) and event.decision is ev.ReviewDecision.DENIED:
            await conv.add_notice(f"Denied ({event.by}); the model was told.", "warning")
        elif isinstance(event, ev.PatchApplyBegan):
            self.query_one(DiffView).show_changes(event.changes, label="applied")
            await conv.add_patch(event.changes, applied=True)
        elif isinstance(event, ev.PatchApplyEnded) and not event.success:
            await conv.add_notice(f"Patch failed: {event.output}", "error")
        elif isinstance(event, ev.PlanUpdated):
            self.query_one(PlanView).update_plan(event.plan, event.explanation)
        elif isinstance(event, ev.TokenUsage):
            self.query_one(BudgetView).record_usage(event)
        elif isinstance(event, ev.StreamRetrying):
            await conv.add_notice(f"Reconnecting {event.attempt}/{event.max_attempts}… ({event.reason})", "warning")
        elif isinstance(event, ev.Error):
            await conv.add_notice(event.message, "error")
        elif isinstance(event, (ev.TurnCompleted, ev.TurnAborted, ev.TurnFailed)):
            self.query_one(StatusLine).working(False)
            if isinstance(event, ev.TurnAborted):
                await conv.add_notice(f"Turn aborted ({event.reason}).", "warning")
            if self.queued:
                await self.send(self.queued.pop(0))

    def ask(self, request: ev.ApprovalRequested) -> None:
        self.bell()
        if request.kind == "patch" and request.changes:
            self.query_one(DiffView).show_changes(request.changes, label="pending approval")
        self.push_screen(ApprovalScreen(request), callback=lambda decision: request.resolve(decision or ev.ReviewDecision.DENIED))

    # ------------------------------------------------------------------ user → engine

    async def on_composer_submitted(self, message: Composer.Submitted) -> None:
        text = message.text
        if text.startswith("/"):
            await self.run_slash(text)
        elif self.session.turn_running:
            self.queued.append(text)
            await self.query_one(Conversation).add_user(text, queued=True)
        else:
            await self.send(text)

    async def send(self, text: str) -> None:
        await self.query_one(Conversation).add_user(text)
        await self.session.submit(ev.UserInput(text))

    async def run_slash(self, line: str) -> None:
        conv = self.query_one(Conversation)
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        if name in ("/quit", "/exit"):
            await self.action_quit()
        elif name == "/help":
            await conv.add_notice(SLASH_HELP)
        elif name == "/status":
            s = self.session.settings
            await conv.add_notice(
                f"model {s.model} · approvals {s.approval_policy} · sandbox {s.sandbox.mode} · cwd {s.cwd} · session {self.session.session_id}"
            )
        elif name in ("/model", "/approvals", "/sandbox") and arg:
            key = {"/model": "model", "/approvals": "approval_policy", "/sandbox": "sandbox_mode"}[name]
            await self.session.submit(ev.OverrideSettings(**{key: arg}))
            s = self.session.settings
            self.query_one(StatusLine).set(model=s.model, approval=s.approval_policy, sandbox=s.sandbox.mode)
            await conv.add_notice(f"{name[1:]} set to {arg}; the model is told with your next message.")
        elif name in NOT_YET:
            await conv.add_notice(f"{name}: {NOT_YET[name]} is not available yet in this version of codeloop.", "warning")
        else:
            await conv.add_notice(f"Unknown or incomplete command {line!r}. Type /help.", "warning")

    async def action_interrupt(self) -> None:
        if self.session.turn_running:
            await self.session.submit(ev.Interrupt())

    async def action_interrupt_or_quit(self) -> None:
        if self.session.turn_running:
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

    def action_maximize(self, pane: str) -> None:
        widget = self.query_one(f"#{pane}")
        if self.screen.maximized is widget:
            self.screen.minimize()
        else:
            self.screen.maximize(widget, container=False)

    async def action_quit(self) -> None:
        await self.session.submit(ev.Shutdown())
        self.exit()


def git_branch(cwd: Path) -> str:
    """Called before the app starts, so the event loop never waits on git."""
    try:
        out = subprocess.run(["git", "rev-parse", "--abbrev-ref", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=2)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""
