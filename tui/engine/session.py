"""The session: operations in, events out, one turn task at a time.

An asyncio object with no UI in it. `submit()` takes operations; `next_event()` yields typed
events. Approvals are futures carried by `ApprovalRequested` events that the engine awaits.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import json
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from tui.engine.cache_miss import CacheWatch
from tui.engine.cache_miss import (
    json_bytes as json_bytes,  # its home was here: importers keep working
)
from tui.engine.compact import run_manual_compaction
from tui.engine.context import TurnSettings, initial_context, settings_diff
from tui.engine.fork import ForkLog, start_backtrack
from tui.engine.images import ImageRefs
from tui.engine.options import SessionOptions
from tui.engine.replay import (
    LOGGED_EVENTS,
    PERSISTED_FOR_REPLAY,
    SETTINGS_RECORD,
    settings_record,
)
from tui.engine.review import run_review
from tui.engine.rollout import RolloutWriter
from tui.engine.tokens import ContextMeter
from tui.engine.turn_task import (
    TURN_ABORTED_NOTE as TURN_ABORTED_NOTE,  # importers keep working
)
from tui.engine.turn_task import TurnTasks
from tui.engine.undo_turn import run_undo, take_turn_snapshot
from tui.model.types import ModelClient, Prompt, Usage
from tui.protocol import (
    ApprovalDecided,
    ApprovalRequested,
    Approve,
    Backtrack,
    Compact,
    Event,
    Interrupt,
    Op,
    OverrideSettings,
    ReviewChanges,
    RunUserShell,
    SessionConfigured,
    Shutdown,
    TokenUsage,
    Undo,
    UserInput,
    WarningIssued,
)
from tui.safety.approvals import ApprovalStore
from tui.tools.base import ToolContext
from tui.tools.mcp import McpManager
from tui.tools.registry import ToolRouter
from tui.tools.shell import prepare_shell_snapshot
from tui.tools.shell_snapshot import SnapshotCache

if TYPE_CHECKING:
    from tui.engine.undo import Snapshot

# Events worth keeping in the rollout (deltas are not: the items they build are recorded).
_PERSISTED_EVENTS = frozenset(
    {"token_usage", "plan_updated", "turn_completed", "turn_aborted", "turn_failed", "error",
     "approval_decided", "exec_command_ended", "patch_apply_ended", "stream_retrying", "warning",
     "mcp_server_status", "mcp_tool_call_ended", "cache_missed"}
) | PERSISTED_FOR_REPLAY


class Session:
    def __init__(
        self,
        *,
        client: ModelClient,
        settings: TurnSettings,
        instructions: str,
        tools: ToolRouter,
        options: SessionOptions = SessionOptions(),
        mcp: McpManager | None = None,
        rollout: RolloutWriter | None = None,
        session_id: str | None = None,
        meta: dict[str, Any] | None = None,
        history: list[dict[str, Any]] | None = None,
        reference: TurnSettings | None = None,
        recorded_mcp_tools: list[dict[str, Any]] | None = None,
        forks: ForkLog | None = None,
    ) -> None:
        """`history`/`reference` resume a session: the items rebuilt from its rollout and the
        settings the model was last told about (so only a diff is appended, never the initial
        context again). A resumed session writes no new session_meta; `recorded_mcp_tools` are
        the MCP tool specs it was offered, to tell whether today's servers offer the same.

        `mcp` servers start in the background once the session is in use (a client asks for
        events or submits); the first request waits for them (see `ensure_tools`)."""
        self.session_id = session_id or str(uuid.uuid4())
        self.client = client
        self.settings = settings
        self.instructions = instructions  # frozen for the session: part of the cached prefix
        self.tools = tools
        self.options = options
        self.rollout = rollout
        self.retry_base_delay_s = 0.5
        self.meter = ContextMeter(
            lambda: (self.instructions, json.dumps(self.tools.specs)), options.auto_compact_limit
        )
        self.shell_snapshots = SnapshotCache()
        self._shell_prepared: asyncio.Task[None] | None = None  # the first turn starts it
        self.mcp = mcp
        if mcp is not None:
            mcp.bind(self.emit, interactive=options.interactive)
        self._recorded_mcp_tools = recorded_mcp_tools
        self._tools_fixed = False
        self._rollout_failed = False
        self.snapshots: list[Snapshot] = []  # one per user turn, newest last
        self.undo_available: bool | None = None  # None until the first snapshot tells
        self.history: list[dict[str, Any]] = list(history or [])
        self.log: list[Event] = []  # what the transcript shows (tui/engine/replay.py LOGGED_EVENTS)
        self.replayed = 0  # how many of `log`'s first events a resume read from the rollout
        self.approvals = ApprovalStore()
        self.total_usage = Usage()
        self.cache_watch = CacheWatch()  # explains each request that reads less from the cache
        self._reference: TurnSettings | None = reference  # what the model was last told
        self.forks = forks or ForkLog(len(self.history), reference)  # what Backtrack needs (fork.py)
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        self._pending: list[UserInput] = []
        self.images = ImageRefs()  # the inline images sent, recorded in the rollout by reference
        # call_id → the request the engine awaits, so an `Approve` op can answer it as data.
        self._awaiting: dict[str, ApprovalRequested] = {}
        self.tasks = TurnTasks(self)  # the one task at a time: a turn, a `!cmd`, /compact, /undo…
        if history is None:
            self._write_session_meta(meta or {})
        self._record_settings()
        self.emit(SessionConfigured(
            self.session_id, settings.model, str(settings.cwd), settings.approval_policy,
            settings.sandbox.mode, str(rollout.path) if rollout else None,
        ))

    def _write_session_meta(self, meta: dict[str, Any]) -> None:
        """The rollout's first line: what a resume needs to send the same request prefix."""
        if self.rollout is not None:
            self.rollout.write("session_meta", {
                "id": self.session_id,
                "timestamp": _dt.datetime.now(_dt.UTC).isoformat(),
                "cwd": str(self.settings.cwd),
                "model": self.settings.model,
                "instructions": self.instructions,
                "tools": self.tools.builtin_specs,  # the MCP ones follow in an `mcp_tools` line
                **meta,
            })

    @property
    def context_window(self) -> int | None:
        return self.options.context_window

    @property
    def auto_compact_limit(self) -> int | None:
        return self.options.auto_compact_limit

    # ------------------------------------------------------------ protocol

    async def submit(self, op: Op) -> None:
        if not isinstance(op, Shutdown):
            self._start_mcp()
        if isinstance(op, UserInput):
            if self.turn_running:
                self._pending.append(op)  # picked up before the next sampling request
            else:
                self.start_turn(op)
        elif isinstance(op, Interrupt):
            await self.interrupt()
        elif isinstance(op, OverrideSettings):
            self.override(op)
        elif isinstance(op, Compact):
            if self.turn_running:
                self.emit(WarningIssued("A turn is running; /compact waits for it to end."))
                await self.wait_idle()
            self.tasks.start(partial(run_manual_compaction, self))
        elif isinstance(op, RunUserShell):
            if self.turn_running:
                self.emit(WarningIssued(f"A turn is running; `!{op.command}` was not run. Run it once the turn ends."))
            elif not op.command.strip():
                self.emit(WarningIssued("Nothing to run: type a command after `!`."))
            else:
                self._start_user_shell(op.command.strip())
        elif isinstance(op, Approve):
            # Unknown, already decided, or its turn gone: nothing waits on it, so it is ignored.
            request = self._awaiting.pop(op.call_id, None)
            if request is not None:
                request.resolve(op.decision)
        elif isinstance(op, ReviewChanges):
            if self.turn_running:
                self.emit(WarningIssued("A turn is running; run /review once it ends."))
            else:
                self.tasks.start(partial(run_review, self, op))
        elif isinstance(op, Undo):
            if self.turn_running:
                self.emit(WarningIssued("A turn is running; interrupt it (Esc) before /undo."))
            else:
                self.tasks.start(partial(run_undo, self))
        elif isinstance(op, Backtrack):
            start_backtrack(self, op)
        elif isinstance(op, Shutdown):
            await self.interrupt()
            self.shell_snapshots.close()
            if self.mcp is not None:
                await self.mcp.close()
            if self.rollout is not None:
                self.rollout.close()
            await self.client.aclose()  # release pooled connections while the loop still runs

    async def next_event(self) -> Event:
        self._start_mcp()
        return await self._events.get()

    def _start_mcp(self) -> None:
        # Here rather than in __init__, which may run before the event loop does (the app).
        if self.mcp is not None:
            self.mcp.start()

    async def ensure_tools(self) -> None:
        """Fix the tool list before the session's first request, for the whole session.

        Waits until every MCP server is ready or has failed (each bounded by its startup
        timeout). A server that comes up later, or crashes, does not change the list: every
        request must carry the same tools, or the provider's prompt cache misses.
        """
        if self._tools_fixed:
            return
        specs: list[dict[str, Any]] = []
        if self.mcp is not None:
            self.mcp.start()
            await self.mcp.wait_started()
            tools = self.mcp.offered_tools()
            self.tools.set_mcp_tools(tools)
            specs = [t.spec for t in tools]
        self._tools_fixed = True
        recorded = self._recorded_mcp_tools
        if specs or recorded:
            self.persist("mcp_tools", {"tools": specs})
        if recorded is not None and json_bytes(recorded) != json_bytes(specs):
            self.emit(WarningIssued(
                "The MCP servers offer other tools than when this session was recorded: the model "
                "gets today's, and the next request will not reuse the provider's prompt cache."
            ))
        self.meter.recount_fixed()

    @property
    def turn_running(self) -> bool:
        return self.tasks.running

    async def interrupt(self) -> None:
        await self.tasks.interrupt()

    async def wait_idle(self) -> None:
        await self.tasks.wait_idle()

    def forget_approvals(self) -> None:
        """The requests a stopped task was awaiting: nobody will answer them now."""
        self._awaiting.clear()

    def override(self, op: OverrideSettings) -> None:
        from tui.engine.model_switch import switched_options

        old = self.settings.model
        self.settings = self.settings.overridden(op)
        if self.settings.model != old or op.effort is not None:
            self.options = switched_options(self.options, old, self.settings.model, op.effort)
            self.meter.auto_compact_limit = self.options.auto_compact_limit
        self._record_settings()

    def _record_settings(self) -> None:
        s, effort = self.settings, (self.options.reasoning or {}).get("effort")
        self.persist(SETTINGS_RECORD, settings_record(s.model, effort, s.approval_policy, s.sandbox.mode, str(s.cwd)))

    # ------------------------------------------------------------ engine internals

    def emit(self, event: Event) -> None:
        if isinstance(event, ApprovalRequested) and event.future is not None:
            self._awaiting[event.call_id] = event
        elif isinstance(event, ApprovalDecided):
            self._awaiting.pop(event.call_id, None)
        self._events.put_nowait(event)
        if event.type in LOGGED_EVENTS:
            self.log.append(event)
        if event.type in _PERSISTED_EVENTS:
            self.persist("event_msg", event.to_json())

    def persist(self, kind: str, payload: dict[str, Any]) -> None:
        rollout = self.rollout
        if rollout is None:
            return
        if kind in ("response_item", "compacted"):
            payload = self.images.rollout_form(payload)  # never the blob of an image
        rollout.write(kind, payload)
        if rollout.error is not None and not self._rollout_failed:
            self._rollout_failed = True  # set first: the warning below is persisted too (a no-op now)
            self.emit(WarningIssued(
                f"The session is no longer being recorded ({rollout.error}): "
                "resume will not have what follows. The session itself goes on."
            ))

    def record(self, item: dict[str, Any]) -> None:
        """Append to the history (never rewrite it) and to the rollout, at once."""
        self.history.append(item)
        self.persist("response_item", item)

    def initial_context(self) -> list[dict[str, Any]]:
        o = self.options
        return initial_context(
            self.settings, developer_instructions=o.developer_instructions, agents_text=o.agents_text,
            interactive=o.interactive, today=_dt.date.today(),
        )

    def record_context_updates(self) -> None:
        if self._reference is None:
            items = self.initial_context()
        else:
            items = settings_diff(self._reference, self.settings, interactive=self.options.interactive)
        for item in items:
            self.record(item)
        self.set_reference(self.settings)

    def set_reference(self, settings: TurnSettings) -> None:
        """What the model has been told; recorded so resume appends only a real change."""
        if settings != self._reference:
            sb = settings.sandbox
            self.persist("turn_context", {
                "model": settings.model,
                "approval_policy": settings.approval_policy,
                "sandbox_mode": sb.mode,
                "cwd": str(settings.cwd),
                "writable_roots": [str(r) for r in sb.writable_roots],
                "network_access": sb.network_access,
            })
        self._reference = settings
        self.forks.told(len(self.history), settings)

    def build_prompt(self) -> Prompt:
        return Prompt(
            model=self.settings.model,
            instructions=self.instructions,
            input=list(self.history),
            tools=self.tools.specs,
            parallel_tool_calls=self.options.parallel_tool_calls,
            prompt_cache_key=self.session_id,
            reasoning=self.options.reasoning,
            text_format=self.options.text_format,
        )

    def tool_context(self) -> ToolContext:
        return ToolContext(
            cwd=self.settings.cwd,
            approval_policy=self.settings.approval_policy,
            sandbox=self.settings.sandbox,
            tool_output_token_limit=self.options.tool_output_token_limit,
            approvals=self.approvals,
            emit=self.emit,
            interactive=self.options.interactive,
            shell_environment_policy=self.options.shell_environment_policy,
            shell_snapshots=self.shell_snapshots,
        )

    def drain_pending_input(self) -> list[UserInput]:
        pending, self._pending = self._pending, []
        return pending

    def has_pending_input(self) -> bool:
        return bool(self._pending)

    def account_usage(self, usage: Usage) -> None:
        self.meter.measured(usage, self.history)
        t = self.total_usage
        self.total_usage = Usage(
            t.input_tokens + usage.input_tokens,
            t.cached_input_tokens + usage.cached_input_tokens,
            t.output_tokens + usage.output_tokens,
            t.reasoning_tokens + usage.reasoning_tokens,
            t.total_tokens + usage.total_tokens,
        )
        self.emit(TokenUsage(
            usage.input_tokens, usage.cached_input_tokens, usage.output_tokens,
            usage.reasoning_tokens, usage.total_tokens, self.total_usage.total_tokens,
            self.options.context_window,
        ))
        miss = self.cache_watch.measured(usage)
        if miss is not None:
            self.emit(miss)

    # ------------------------------------------------------------ context size and compaction

    def load_tokenizer(self) -> None:
        """Blocking (the model's encoding may be tried first): call it from a thread."""
        self.meter.load_tokenizer(self.settings.model)

    async def needs_compaction(self) -> bool:
        return await self.meter.needs_compaction(self.history, self.settings.model)

    def pending_estimate(self) -> tuple[int, bool]:
        return self.meter.pending(self.history)

    # ------------------------------------------------------------ the turn task

    def start_turn(self, op: UserInput, before: Callable[[], Awaitable[bool]] | None = None) -> None:
        """A user turn; `before` runs first, inside it (a fork cuts the history there), and
        False from it ends the turn there."""
        from tui.engine.turn import run_turn

        async def user_turn(turn_id: str) -> str | None:
            if before is not None and not await before():
                return None
            # The snapshot mostly waits on git; building the provider client (importing the SDK)
            # is CPU work: side by side, the first request goes out sooner.
            snapshot = asyncio.create_task(take_turn_snapshot(self))
            if self._shell_prepared is None:
                self._shell_prepared = asyncio.create_task(prepare_shell_snapshot(self.tool_context()))
            try:
                await asyncio.to_thread(self.client.warm)
                await self.ensure_tools()
            finally:
                await snapshot
            return await run_turn(self, op)

        self.tasks.start(user_turn)

    def _start_user_shell(self, command: str) -> None:
        from tui.engine.user_shell import run_user_shell

        async def user_shell(turn_id: str) -> str | None:
            return await run_user_shell(self, command, f"user-shell-{turn_id}")

        self.tasks.start(user_shell)
