"""The session's one task at a time.

A user turn, a `!cmd`, /compact, /undo, /review and a fork's turn each run as the session's task:
`TurnStarted` opens it and exactly one of `TurnCompleted`, `TurnAborted` or `TurnFailed` closes
it. A task stopped by the user (an interrupt, or an abort at an approval) leaves no call without
an output and tells the model, with the next request, that the user stopped it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from tui.engine.context import message
from tui.model.types import ModelError
from tui.protocol import (
    ABORTED_BY_USER,
    Error,
    TurnAborted,
    TurnCompleted,
    TurnFailed,
    TurnStarted,
)
from tui.tools.base import TurnAbortRequested
from tui.tools.registry import call_from_item

if TYPE_CHECKING:
    from tui.engine.session import Session

TURN_ABORTED_NOTE = (
    "<turn_aborted>\nThe user interrupted the previous turn on purpose. Commands that were "
    "running were stopped; anything aborted may have partly run, so check the current state "
    "before retrying.\n</turn_aborted>"
)

# A task's body gets its turn id and returns the turn's last message, if any.
TaskBody = Callable[[str], Awaitable[str | None]]


class TurnTasks:
    def __init__(self, sess: Session) -> None:
        self._sess = sess
        self._task: asyncio.Task[None] | None = None
        self.count = 0  # tasks started so far; the turn ids count with it

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, body: TaskBody) -> None:
        self.count += 1
        turn_id = f"turn-{self.count}"
        self._task = asyncio.create_task(self._run(turn_id, body), name=turn_id)

    async def interrupt(self) -> None:
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def wait_idle(self) -> None:
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self, turn_id: str, body: TaskBody) -> None:
        sess = self._sess
        sess.emit(TurnStarted(turn_id, sess.options.context_window))
        try:
            last = await body(turn_id)
        except asyncio.CancelledError:
            self._aborted(turn_id, "interrupted")
            return
        except TurnAbortRequested:
            self._aborted(turn_id, "aborted at an approval")
            return
        except ModelError as e:
            sess.emit(Error(str(e)))
            sess.emit(TurnFailed(turn_id, str(e)))
            return
        except Exception as e:  # keep the session alive; the user can go on
            sess.emit(Error(f"internal error: {type(e).__name__}: {e}"))
            sess.emit(TurnFailed(turn_id, f"{type(e).__name__}: {e}"))
            return
        sess.emit(TurnCompleted(turn_id, last))

    def _aborted(self, turn_id: str, reason: str) -> None:
        sess = self._sess
        sess.forget_approvals()  # an interrupted request was never decided; nothing waits on it now
        answer_open_calls(sess)
        sess.record(message("user", TURN_ABORTED_NOTE))
        sess.emit(TurnAborted(turn_id, reason))


def answer_open_calls(sess: Session) -> None:
    """A call recorded without an output would make every later request invalid."""
    answered = {i.get("call_id") for i in sess.history if i.get("type", "").endswith("_output")}
    for item in list(sess.history):
        call = call_from_item(item)
        if call is not None and call.call_id not in answered:
            sess.record(call.output_item(ABORTED_BY_USER))
            answered.add(call.call_id)
