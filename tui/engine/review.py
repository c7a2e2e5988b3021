"""The review turn behind `/review`: one request with our review prompt (tui/prompts/review.md) and
the diff, no tools and none of the conversation, so the conversation's prefix cache is left alone
and the reviewer judges the change, not the chat about it.

The model is asked for JSON (`{"findings": [...], "overall": ...}`); its answer is untrusted and
read defensively: the first JSON object in it (a Markdown fence or prose around it is tolerated),
each finding kept only with a title, its fields cut to size, its priority clamped to 0-3, its path
stripped of `a/` `b/` `./`; at most `MAX_FINDINGS`. An answer that yields no readable findings
object is passed on as text. The findings are appended to the history as a user message (the
model sees them in later turns: "fix finding 2" then means something to it) and announced in
`ReviewCompleted`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from tui.engine.context import message
from tui.model.items import message_text
from tui.model.types import Prompt
from tui.protocol import ReviewChanges, ReviewCompleted, ReviewFinding

if TYPE_CHECKING:
    from tui.engine.session import Session

MAX_DIFF_CHARS = 400_000  # about 100k tokens: a bigger diff is cut, and the model is told
MAX_FINDINGS = 50
_MAX_TRIES = 20  # JSON objects tried in an answer before it is taken as text
_PRIORITY_NAMES = ("P0", "P1", "P2", "P3")


def review_input(target: str, diff: str) -> str:
    """The user message of the review turn."""
    cut = ""
    if len(diff) > MAX_DIFF_CHARS:
        diff, cut = diff[:MAX_DIFF_CHARS], f"\n[the diff was cut here: only its first {MAX_DIFF_CHARS:,} characters are shown]\n"
    return f"Review the {target}. The diff:\n\n<diff>\n{diff}{cut}</diff>"


def parse_review(text: str) -> tuple[list[ReviewFinding], str] | None:
    """The findings (most urgent first) and the overall verdict, or None when `text` holds no
    findings object."""
    data = _first_object(text)
    if data is None or not isinstance(data.get("findings"), list):
        return None
    findings = [f for f in map(_finding, data["findings"][: MAX_FINDINGS * 2]) if f is not None][:MAX_FINDINGS]
    findings.sort(key=lambda f: f.priority)  # stable: the model's order within a priority
    overall = data.get("overall")
    return findings, _text(overall, 1000)


def _first_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in `text` with a `findings` key (prose, a fence, or a stray `{}`
    before it are passed over)."""
    # Bounded tries: each failed one may scan to the end, and the answer is the model's.
    decoder = json.JSONDecoder()
    start = text.find("{")
    for _ in range(_MAX_TRIES):
        if start == -1:
            break
        try:
            value, _ = decoder.raw_decode(text, start)
        except ValueError:
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict) and "findings" in value:
            return value
        start = text.find("{", start + 1)
    return None


def _finding(raw: Any) -> ReviewFinding | None:
    if not isinstance(raw, dict):
        return None
    title = _text(raw.get("title"), 200)
    if not title:
        return None
    priority = raw.get("priority")
    if isinstance(priority, str) and priority.upper() in _PRIORITY_NAMES:
        priority = _PRIORITY_NAMES.index(priority.upper())
    if not isinstance(priority, int) or isinstance(priority, bool):
        priority = 2
    line = raw.get("line")
    if not isinstance(line, int) or isinstance(line, bool) or not 0 < line < 10_000_000:
        line = None
    path = _text(raw.get("file") or raw.get("path"), 500)
    for prefix in ("b/", "a/", "./"):
        path = path.removeprefix(prefix)
    return ReviewFinding(title, _text(raw.get("body"), 4000), max(0, min(3, priority)), path, line)


def _text(value: Any, limit: int) -> str:
    return " ".join(value.split())[:limit] if isinstance(value, str) else ""


def location(f: ReviewFinding) -> str:
    return f"{f.path}:{f.line}" if f.path and f.line else f.path or "(no file)"


def findings_text(target: str, findings: list[ReviewFinding], overall: str) -> str:
    """The findings as the history records them (and as a fix request quotes one)."""
    lines = [f"<review target=\"{target}\">"]
    for n, f in enumerate(findings, 1):
        lines.append(f"{n}. [{_PRIORITY_NAMES[f.priority]}] {location(f)}: {f.title}")
        if f.body:
            lines.append(f"   {f.body}")
    if not findings:
        lines.append("No findings.")
    if overall:
        lines.append(f"Overall: {overall}")
    lines.append("</review>")
    return "\n".join(lines)


async def run_review(sess: Session, op: ReviewChanges, turn_id: str) -> str | None:
    from tui.engine.turn import sample_with_retries
    from tui.tools.specs import prompt_text

    prompt = Prompt(
        model=sess.settings.model,
        instructions=prompt_text("review.md"),
        input=[message("user", review_input(op.target, op.diff))],
        tools=[],
        parallel_tool_calls=False,
        prompt_cache_key=f"{sess.session_id}-review",
        reasoning=sess.options.reasoning,
    )
    # Its usage is not accounted: the budget pane's figures are the conversation's context.
    response = await sample_with_retries(sess, prompt)
    answer = "\n".join(message_text(i) for i in response.items if i.get("type") == "message").strip()
    parsed = parse_review(answer)
    findings, overall = parsed if parsed is not None else ([], "")
    sess.record_context_updates()
    if parsed is not None:
        sess.record(message("user", findings_text(op.target, findings, overall)))
    else:
        sess.record(message("user", f"<review target=\"{op.target}\">\n{answer}\n</review>"))
    sess.emit(ReviewCompleted(op.target, findings, overall, answer, parsed is not None))
    return None
