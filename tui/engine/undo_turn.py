"""The session's use of undo snapshots: one before each user turn; /undo restores the newest."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from tui.engine.context import message
from tui.protocol import UndoDone, WarningIssued

if TYPE_CHECKING:
    from tui.engine.session import Session


async def take_turn_snapshot(sess: Session) -> None:
    """A commit of the working tree before the turn, on no branch, so /undo can restore it."""
    from tui.engine.undo import take_snapshot  # GitPython: not on the start-up path

    if sess.undo_available is False:
        return
    try:
        snap = await asyncio.to_thread(
            # A millisecond clock, not a counter: a resumed session must not reuse the refs
            # of the run before it.
            take_snapshot, sess.settings.cwd, session_id=sess.session_id, seq=time.time_ns() // 1_000_000
        )
    except Exception as e:  # a broken repository must not stop the turn
        sess.emit(WarningIssued(f"No undo snapshot for this turn: {e}"))
        return
    sess.undo_available = snap is not None
    if snap is not None:
        sess.snapshots.append(snap)
        sess.forks.snapshot_taken(len(sess.history), snap)
        sess.persist("ghost_snapshot", {"sha": snap.sha, "ref": snap.ref, "repo_root": str(snap.repo_root), "skipped": snap.skipped})


async def run_undo(sess: Session, turn_id: str) -> str | None:
    """The task behind an `Undo` op: restore the newest snapshot and tell the model."""
    from tui.engine.undo import describe_restore, restore_snapshot

    if sess.undo_available is False:
        sess.emit(WarningIssued("/undo is unavailable: this folder is not inside a git repository."))
        return None
    if not sess.snapshots:
        sess.emit(WarningIssued("Nothing to undo yet: no turn has run in this session."))
        return None
    snap = sess.snapshots.pop()
    paths = await asyncio.to_thread(restore_snapshot, snap)
    sess.record(message("user", describe_restore(paths)))
    sess.emit(UndoDone(paths))
    return None
