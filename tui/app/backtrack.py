"""Backtrack in the app: Esc Esc, pick an earlier message of yours, edit it, send it as a fork.

Esc in an empty composer while nothing runs arms it (the composer's title says "Esc again…");
a second Esc opens the picker above the composer: your messages since the last compaction, newest
first, Up/Down to choose, Enter puts the message in the composer to edit, Esc cancels. Any other
key closes the picker and does what it does (a letter is typed), so nothing typed is lost. While
a turn runs Esc interrupts it, as always, and arms nothing.

Editing, the composer's title says "editing a fork from message N — Esc cancels" (Esc puts the
composer back as it was before, keeping any edit). Enter sends a `Backtrack` op; where the
message's turn has an undo snapshot and the files differ from it, a yes/no question first asks
whether to restore them too. When the engine reports `HistoryForked`, the conversation pane drops
the message and everything after it and shows the edited one in its place.

The composer hands every key here first (`key`, in the order typed), so keys typed right after
Esc Esc reach the picker, never a stale composer.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import events
from textual.markup import escape

from tui import protocol as ev
from tui import wording
from tui.app.widgets.backtrack_popup import BacktrackPopup, EarlierMessage
from tui.safety.terminal_text import neutralize

if TYPE_CHECKING:
    from tui.app.screens.session import SessionScreen
    from tui.engine.undo import Snapshot

ARMED_HINT = "Esc again: edit an earlier message"
LISTED_FILES = 6


def editing_hint(nth: int) -> str:
    return f"editing a fork from message {nth + 1} — Esc cancels"


@dataclass(frozen=True)
class Draft:
    """The message picked to edit: its number and text, and the texts of it and the messages
    after it (to find their cells in the conversation pane once forked)."""

    nth: int
    text: str
    from_here: tuple[str, ...]


class BacktrackKeys:
    def __init__(self, screen: SessionScreen) -> None:
        self.screen = screen
        self.armed = False
        self._interrupted = False  # the last key was an Esc that stopped a turn
        self.draft: Draft | None = None
        self._sent: tuple[Draft, str] | None = None  # a Backtrack submitted, not yet reported

    @property
    def popup(self) -> BacktrackPopup:
        return self.screen.query_one(BacktrackPopup)

    def reset(self) -> None:
        """Another session: nothing armed, picked or sent."""
        self.armed, self._interrupted, self.draft, self._sent = False, False, None, None
        self.popup.close()
        self._hint(None)

    # ------------------------------------------------------------------ keys

    def key(self, event: events.Key) -> bool:
        """A key the composer got, before it handles it; True when backtrack took it."""
        if self.popup.is_open:
            return self._picker_key(event)
        composer = self.screen.composer
        if composer.has_open_popup():
            self._disarm()
            return False  # Esc closes the slash or file popup first
        if event.key == "escape":
            if self.draft is not None:
                self.cancel_draft()
                return True
            if self.armed and self._may_open():
                self._disarm()
                self.open_picker()
                return True
            # An Esc that stops a turn, and the one right after it (Esc pressed twice to be
            # sure), arm nothing: stopping the agent never leads into the picker.
            interrupting = self.screen.session is not None and self.screen.session.turn_running
            self.armed = not interrupting and not self._interrupted and self._may_open()
            self._interrupted = interrupting
            self._hint(ARMED_HINT if self.armed else None)
            return False  # on to the app's interrupt: a running turn stops, as always
        self._interrupted = False
        if event.key.startswith("alt+") and event.is_printable:
            # Esc and a character typed at once: the Esc leaves the draft, then the character.
            if self.draft is not None:
                self.cancel_draft()
        self._disarm()
        return False

    def _may_open(self) -> bool:
        screen = self.screen
        session = screen.session
        return (
            session is not None and not session.turn_running and not screen.queued
            and screen.composer.text == "" and screen.app.screen is screen
        )

    def _disarm(self) -> None:
        if self.armed:
            self.armed = False
            self._hint(None)

    def _hint(self, text: str | None) -> None:
        self.screen.composer.border_title = text

    def open_picker(self) -> None:
        from tui.engine.fork import fork_points

        points = fork_points(self.screen.session)
        if not points:
            self.screen.app.notify("No earlier message to edit: none since the start or the last compaction.", timeout=3)
            return
        self.popup.open_for([EarlierMessage(p.nth, p.text, p.snapshot is not None) for p in points])

    def _picker_key(self, event: events.Key) -> bool:
        popup = self.popup
        if event.key in ("up", "down"):
            popup.action_cursor_up() if event.key == "up" else popup.action_cursor_down()
            return True
        if event.key == "enter":
            self._choose()
            return True
        popup.close()
        # Esc only cancels; any other key goes on to the composer and does what it does.
        return event.key == "escape"

    def _choose(self) -> None:
        popup = self.popup
        chosen = popup.chosen()
        later = tuple(m.text for m in reversed(popup.matches) if chosen is not None and m.nth >= chosen.nth)
        popup.close()
        if chosen is None:
            return
        self.draft = Draft(chosen.nth, chosen.text, later)
        composer = self.screen.composer
        composer.text = chosen.text
        composer.move_cursor(composer.document.end)
        self._hint(editing_hint(chosen.nth))

    def cancel_draft(self) -> None:
        """Esc while editing: no fork; the composer empties unless the text was edited."""
        draft, self.draft = self.draft, None
        composer = self.screen.composer
        if draft is not None and composer.text == draft.text:
            composer.clear()
        self._hint(None)

    # ------------------------------------------------------------------ sending

    async def took(self, text: str) -> bool:
        """A message sent from the composer: True when it was the fork's (sent, or put back)."""
        draft, self.draft = self.draft, None
        if draft is None:
            return False
        self._hint(None)
        if text.startswith(("/", "!")):
            await self.screen.conversation.add_notice(
                f"Not forked: a command runs as usual, and message {draft.nth + 1} stays as it was.", "warning"
            )
            return False
        from tui.engine.fork import fork_points

        session = self.screen.session
        points = fork_points(session)
        point = points[draft.nth] if draft.nth < len(points) else None
        if session.turn_running or point is None or point.text != draft.text:
            await self.screen.conversation.add_notice(
                f"The conversation changed since you picked message {draft.nth + 1}: nothing was forked, "
                "and your text is back in the composer.", "warning"
            )
            self.screen.prefill(text)
            return True
        self.screen.run_worker(self._send(draft, text, point.snapshot), group="backtrack", exclusive=True)
        return True

    async def _send(self, draft: Draft, text: str, snapshot: Snapshot | None) -> None:
        changed = await self._files_changed(snapshot) if snapshot is not None else []
        if not changed:
            await self._submit(draft, text, False)
            return
        from tui.app.screens.confirm import ConfirmScreen

        listing = ", ".join(neutralize(p) for p in changed[:LISTED_FILES])
        more = f" and {len(changed) - LISTED_FILES} more" if len(changed) > LISTED_FILES else ""
        question = (
            f"Also restore the files to before message {draft.nth + 1}? {len(changed)} file(s) changed "
            f"since: {listing}{more}. y puts them back (edits made since are lost); n leaves them."
        )

        async def answered(yes: bool | None) -> None:
            await self._submit(draft, text, bool(yes))

        # escape(): file names are the repository's, and a Label reads its text as markup.
        self.screen.app.push_screen(ConfirmScreen(escape(question), type_ahead=self.screen.type_ahead), callback=answered)

    async def _files_changed(self, snapshot: Snapshot) -> list[str]:
        from tui.engine.undo import changed_since

        try:
            return await asyncio.to_thread(changed_since, snapshot)
        except Exception as e:  # noqa: BLE001 - a broken repository: fork without restoring
            await self.screen.conversation.add_notice(f"The files cannot be compared with that turn's snapshot ({e}); they stay as they are.", "warning")
            return []

    async def _submit(self, draft: Draft, text: str, restore: bool) -> None:
        self._sent = (draft, text)
        await self.screen.session.submit(ev.Backtrack(draft.nth, text, restore))

    async def forked(self, e: ev.HistoryForked) -> None:
        """The engine forked: the pane drops the old branch from the picked message on (when its
        cells are still there) and shows the edited message in its place."""
        sent, self._sent = self._sent, None
        if sent is not None and sent[0].nth != e.nth_user_message:
            sent = None  # not the fork this face sent (that one failed; another face forked)
        conv = self.screen.conversation
        if sent is not None:
            await conv.drop_from_user_message(sent[0].from_here)
        await conv.add_notice(wording.forked(e))
        if sent is not None:
            await conv.add_user(sent[1])
