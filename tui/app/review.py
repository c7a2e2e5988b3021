"""`/review [BRANCH|COMMIT]`: the diff from hardened git (tui/app/gitdiff.py), a review turn in the
engine (`ReviewChanges`, tui/engine/review.py), its findings in a list in the conversation
(tui/app/widgets/review_list.py)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING

from tui import protocol as ev
from tui.app.widgets.review_list import ReviewList
from tui.safety.redact import default_redactor
from tui.safety.terminal_text import neutralize

if TYPE_CHECKING:
    from tui.app.screens.session import SessionScreen
    from tui.app.widgets.conversation import Conversation


def review_target(since: str) -> str:
    return f"changes since {since}" if since else "uncommitted changes"


async def start_review(screen: SessionScreen, since: str) -> None:
    """Take the diff (git in a thread), show it in the diff pane, and start the review turn."""
    import git

    from tui.app.gitdiff import UnknownRevision, working_tree_diff

    conv = screen.conversation
    if screen.session.turn_running:
        await conv.add_notice("A turn is running; run /review once it ends.", "warning")
        return
    target = review_target(since)
    try:
        diff = await asyncio.to_thread(working_tree_diff, screen.session.settings.cwd, since=since or None)
    except UnknownRevision as e:
        await conv.add_notice(f"/review: {e}. Give a branch, tag or commit (`/review main`, `/review HEAD~2`).", "warning")
        return
    except (git.GitCommandError, OSError) as e:
        await conv.add_notice(f"/review: git failed: {e}", "error")
        return
    if diff is None:
        await conv.add_notice("/review: this folder is not inside a git repository.", "warning")
        return
    if not diff.strip():
        hint = "" if since else " (`/review main` or `/review HEAD~1` reviews commits)"
        await conv.add_notice(f"/review: no {target} to review{hint}.")
        return
    label = f"review: {target}"
    screen.diff.show_unified(diff, label=label)
    screen.reveal("diff")
    cell = ReviewList(target, diff, open_finding=lambda cell, f: open_finding(screen, cell, f), ask_fix=screen.prefill)
    await conv.mount(cell)
    conv.follow()
    await screen.session.submit(ev.ReviewChanges(target, diff))


def open_finding(screen: SessionScreen, cell: ReviewList, finding: ev.ReviewFinding) -> None:
    """The finding's file:line in the diff pane, with the reviewed diff shown there again if
    something else replaced it."""
    label = f"review: {cell.target}"
    diff = screen.diff
    if diff.label != label:
        diff.show_unified(cell.diff, label=label)
    if not diff.reveal_line(finding.path, finding.line):
        screen.app.notify(neutralize(f"{finding.path or 'That finding'} is not in the reviewed diff."), severity="warning")
    screen.reveal("diff")


def settle_reviews(conv: Conversation, why: str) -> None:
    """A turn ended without its findings: a list still waiting for them says so."""
    for cell in conv.query(ReviewList):
        if not cell.done:
            cell.stop(why)


async def review_completed(screen: SessionScreen, event: ev.ReviewCompleted) -> None:
    """Fill the list the review started, or say the answer as text when it had no findings
    object. Redacted first: a finding may quote a secret from the diff."""
    red = default_redactor().redact
    event = ev.ReviewCompleted(
        event.target, [replace(f, title=red(f.title), body=red(f.body)) for f in event.findings],
        red(event.overall), red(event.text), event.parsed,
    )
    pending = [c for c in screen.conversation.query(ReviewList) if not c.done and c.target == event.target]
    if pending:
        cell = pending[-1]
    else:  # started elsewhere (another face): no diff kept to open findings in
        cell = ReviewList(event.target, "", open_finding=lambda cell, f: open_finding(screen, cell, f), ask_fix=screen.prefill)
        await screen.conversation.mount(cell)
    cell.fill(event)
    if not event.parsed:
        await screen.conversation.finish_answer(event.text)
