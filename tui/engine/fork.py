"""Backtrack: fork the conversation at an earlier message of the user's (the `Backtrack` op).

The history sent to the provider is append-only so its prefix cache hits; a fork keeps that
promise for the branch it takes: the history is cut just before the chosen message, so the next
request's input repeats the earlier request's input byte for byte up to that point, then carries
the edited message. The rollout is not rewritten: a `history_forked` line records how many items
the history kept (the old branch stays in the file above it), and resume replays it.

To fork, the session keeps a `ForkLog` beside its history: the settings the model had been told
at each point (so a settings diff is appended after the fork only for a real change since that
point), the undo snapshot taken before each turn (to restore the files with the fork), and where
the history becomes forkable (the last compaction summarised what came before; a fork can go
back only to messages after it). Resume rebuilds the same log from the rollout (`ForkReplay`).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.engine.compact import is_real_user_message
from tui.model.items import message_text
from tui.protocol import Backtrack, HistoryForked, UserInput, WarningIssued
from tui.tools.specs import prompt_text

if TYPE_CHECKING:
    from tui.engine.context import TurnSettings
    from tui.engine.session import Session
    from tui.engine.undo import Snapshot

# User-role messages the engine writes itself: never offered as a message of the user's.
_ENGINE_NOTES = ("<turn_aborted>", "<undo>", "<user_shell_command>")
_SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")


@dataclass(frozen=True)
class ForkPoint:
    """A message of the user's the conversation can be forked at."""

    nth: int  # the `Backtrack` op's nth_user_message: its place among the fork points, from 0
    index: int  # where it stands in the history; the fork keeps the items before it
    text: str
    snapshot: Snapshot | None  # taken before its turn; None for a message queued mid-turn


class ForkLog:
    """What the session needs besides its history to fork it (see the module docstring).

    Positions are history lengths: `told(n, s)` means that from item n on the model had been told
    settings `s`; a snapshot at n was taken when the history had n items (its turn's start).
    """

    def __init__(self, floor: int = 0, reference: TurnSettings | None = None) -> None:
        self.floor = floor  # the first index a fork may go back to
        self._told: list[tuple[int, TurnSettings | None]] = [(floor, reference)]
        self._snapshots: list[tuple[int, Snapshot]] = []

    def told(self, position: int, settings: TurnSettings) -> None:
        self._told.append((position, settings))

    def snapshot_taken(self, position: int, snap: Snapshot) -> None:
        self._snapshots.append((position, snap))

    def reset(self, floor: int) -> None:
        """The history was replaced (a compaction): nothing before `floor` can be forked."""
        self.floor = floor
        self._told = [(floor, self._told[-1][1])]
        self._snapshots = []

    def reference_at(self, index: int) -> TurnSettings | None:
        """What the model had been told when the history had `index` items."""
        return next((s for at, s in reversed(self._told) if at <= index), self._told[0][1])

    def snapshots_in_order(self) -> list[tuple[int, Snapshot]]:
        """(position, snapshot), oldest first: the one for a message at `i` is the newest taken
        after the previous message of the user's and at most at `i` (its turn's start)."""
        return self._snapshots

    def truncate(self, keep: int, after: int) -> list[Snapshot]:
        """The history keeps `keep` items; the snapshots of turns after `after` (the message
        before the fork point) are dropped and returned."""
        self._told = [(at, s) for at, s in self._told if at <= keep] or self._told[:1]
        dropped = [s for at, s in self._snapshots if at > after]
        self._snapshots = [(at, s) for at, s in self._snapshots if at <= after]
        return dropped


def typed_by_user(item: dict[str, Any]) -> bool:
    """A message the user wrote (or `/init` sent for them), not the context or an engine note."""
    if item.get("role") != "user" or not is_real_user_message(item):  # the role first: cheap
        return False
    text = message_text(item)
    return not text.startswith(_ENGINE_NOTES) and not text.startswith(_summary_prefix())


def _summary_prefix() -> str:
    return prompt_text("summary_prefix.md").strip()


def fork_points(sess: Session) -> list[ForkPoint]:
    """The messages a `Backtrack` may fork at, oldest first (numbered as the op counts them).
    One pass over the history and the snapshots (both in order): a long session's picker opens
    at once."""
    log, history = sess.forks, sess.history
    snapshots = log.snapshots_in_order()
    points: list[ForkPoint] = []
    previous, s = log.floor - 1, 0
    for index in range(max(log.floor, 0), len(history)):
        item = history[index]
        if not typed_by_user(item):
            continue
        while s < len(snapshots) and snapshots[s][0] <= previous:
            s += 1
        taken = None
        while s < len(snapshots) and snapshots[s][0] <= index:
            taken = snapshots[s][1]  # the newest in (previous, index]
            s += 1
        points.append(ForkPoint(len(points), index, message_text(item), taken))
        previous = index
    return points


def start_backtrack(sess: Session, op: Backtrack) -> None:
    """Check the op, then run the fork and the edited message's turn as one task."""
    if sess.turn_running:
        sess.emit(WarningIssued("A turn is running; interrupt it (Esc) before editing an earlier message."))
        return
    if not op.text.strip():
        sess.emit(WarningIssued("Nothing to send: the edited message is empty."))
        return
    points, n = fork_points(sess), op.nth_user_message
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n < len(points):
        sess.emit(WarningIssued(
            f"No message {n!r} to fork at: {len(points)} can be, numbered from 0 "
            "(your messages since the last compaction)."
        ))
        return
    point = points[n]
    before = points[point.nth - 1].index if point.nth > 0 else sess.forks.floor - 1
    if op.restore_files and point.snapshot is None:
        sess.emit(WarningIssued(f"Message {point.nth + 1} has no undo snapshot: the files are left as they are."))
    sess.start_turn(UserInput(op.text), before=partial(_fork_atomically, sess, point, before, op.restore_files))


async def _fork_atomically(sess: Session, point: ForkPoint, before: int, restore: bool) -> bool:
    # Files written and the history cut go together: an interrupt while git writes the files
    # waits for both, so the history never disagrees with the tree it was restored for.
    task = asyncio.ensure_future(fork_history(sess, point, before, restore))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise


async def fork_history(sess: Session, point: ForkPoint, before: int, restore: bool) -> bool:
    """Restore the files if asked, cut the history before `point`, record the fork; False
    (and a warning) when the files could not be restored: then nothing is forked."""
    restored: list[str] | None = None
    if restore and point.snapshot is not None:
        from tui.engine.undo import restore_snapshot

        try:
            restored = await asyncio.to_thread(restore_snapshot, point.snapshot)
        except Exception as e:  # a repository gone or broken since the snapshot
            sess.emit(WarningIssued(
                f"The files could not be restored to before message {point.nth + 1} ({type(e).__name__}: {e}). "
                "Nothing was forked and the edited message was not sent."
            ))
            return False
    dropped = len(sess.history) - point.index
    sess.history = sess.history[: point.index]  # a new list: the old branch's requests keep theirs
    sess.meter.reset()
    sess.cache_watch.forked()  # the next request reads less from the cache on purpose: say why
    gone = sess.forks.truncate(point.index, before)
    sess.snapshots = [s for s in sess.snapshots if s not in gone]  # /undo stays on this branch
    sess.persist("history_forked", {
        "keep_items": point.index, "nth_user_message": point.nth, "dropped_items": dropped,
        "restored_paths": restored,
    })
    reference = sess.forks.reference_at(point.index)
    if reference is not None:
        sess.set_reference(reference)  # what the kept items told the model; a diff follows if needed
    sess.emit(HistoryForked(point.nth, point.index, dropped, restored))
    return True


# ------------------------------------------------------------------ resume


def forked_keep(payload: dict[str, Any], length: int) -> int:
    """How many items a `history_forked` line keeps; ValueError for a malformed or impossible one
    (the rollout is untrusted input)."""
    keep = payload.get("keep_items")
    if not isinstance(keep, int) or isinstance(keep, bool) or not 0 <= keep <= length:
        raise ValueError(f"a history_forked line keeps {keep!r} items of a history of {length}")
    return keep


@dataclass
class ForkReplay:
    """A `ForkLog` rebuilt while resume reads the rollout: `see` each line after the history
    took it in, then `to_log` once the settings can be built."""

    floor: int = 0
    told: list[tuple[int, dict[str, Any] | None]] = field(default_factory=lambda: [(0, None)])
    snapshots: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def see(self, kind: Any, payload: dict[str, Any], length: int) -> None:
        if kind == "turn_context":
            self.told.append((length, payload))
        elif kind == "ghost_snapshot":
            self.snapshots.append((length, payload))
        elif kind == "compacted":
            self.floor = length
            self.told = [(length, self.told[-1][1])]
            self.snapshots = []
        elif kind == "history_forked":
            self.told = [(at, p) for at, p in self.told if at <= length] or self.told[:1]
            # The live session dropped these with the branch; replayed, any past the cut go too.
            self.snapshots = [(at, p) for at, p in self.snapshots if at <= length]

    def to_log(self, settings: Callable[[dict[str, Any] | None], TurnSettings | None], cwd: Path) -> ForkLog:
        """The log, with the settings built by `settings`; only snapshots of the repository
        holding `cwd` are kept (the rollout is read as untrusted input: a line naming another
        repository never gets its files restored)."""
        log = ForkLog(self.floor, settings(self.told[0][1]))
        for at, payload in self.told[1:]:
            built = settings(payload)
            if built is not None:
                log.told(at, built)
        for at, payload in self.snapshots:
            snap = _snapshot(payload)
            if snap is not None and cwd.resolve().is_relative_to(snap.repo_root.resolve()):
                log.snapshot_taken(at, snap)
        return log


def _snapshot(payload: dict[str, Any]) -> Snapshot | None:
    """A `ghost_snapshot` line's snapshot, or None for one of the wrong shape."""
    from tui.engine.undo import Snapshot

    sha, ref, root, skipped = (payload.get(k) for k in ("sha", "ref", "repo_root", "skipped"))
    if not (isinstance(sha, str) and _SHA.fullmatch(sha) and isinstance(ref, str) and isinstance(root, str)):
        return None
    if not isinstance(skipped, list) or not all(isinstance(s, str) for s in skipped):
        return None
    return Snapshot(sha=sha, ref=ref, repo_root=Path(root), skipped=skipped)
