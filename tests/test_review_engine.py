"""The review turn: our prompt and the diff, no tools, findings parsed defensively."""

from __future__ import annotations

import json
from pathlib import Path

from tests.engine_support import collect, make_session, of_type, run_turn
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui import protocol as ev
from tui.engine.review import MAX_DIFF_CHARS, MAX_FINDINGS, parse_review
from tui.tools.specs import prompt_text

DIFF = "diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n@@ -1,1 +1,2 @@\n x = 1\n+y = x / 0\n"
ANSWER = {
    "findings": [
        {"title": "Style nit", "body": "spacing", "priority": 3, "file": "b/app.py", "line": 1},
        {"title": "Division by zero", "body": "y = x / 0 raises ZeroDivisionError at import.", "priority": 0, "file": "app.py", "line": 2},
    ],
    "overall": "Crashes at import.",
}


async def test_a_review_is_its_own_request_and_its_findings_join_the_history(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(fe.message_item("Hello.")))
    fake_openai.queue_response(fe.turn(fe.message_item(json.dumps(ANSWER))))
    fake_openai.queue_response(fe.turn(fe.message_item("Fixed.")))
    sess = make_session(fake_openai, tmp_path)
    await run_turn(sess, "hi")
    await sess.submit(ev.ReviewChanges("uncommitted changes", DIFF))
    events = await collect(sess)
    assert not of_type(events, ev.AgentMessageDelta) and not of_type(events, ev.AgentMessage)  # no raw JSON streamed
    [done] = of_type(events, ev.ReviewCompleted)
    assert [(f.priority, f.path, f.line, f.title) for f in done.findings] == [(0, "app.py", 2, "Division by zero"), (3, "app.py", 1, "Style nit")]
    assert done.overall == "Crashes at import."
    review_body = fake_openai.responses_bodies()[1]
    assert review_body["instructions"] == prompt_text("review.md")
    assert review_body["tools"] == [] and len(review_body["input"]) == 1
    assert "Review the uncommitted changes" in review_body["input"][0]["content"][0]["text"]
    assert DIFF in review_body["input"][0]["content"][0]["text"]
    assert "Hello." not in json.dumps(review_body)  # none of the conversation
    await run_turn(sess, "fix finding 1")
    main_body = fake_openai.responses_bodies()[2]
    first = fake_openai.responses_bodies()[0]
    assert main_body["input"][: len(first["input"])] == first["input"]  # the prefix is intact
    recorded = [i["content"][0]["text"] for i in main_body["input"] if i.get("role") == "user" and i["content"][0]["text"].startswith("<review")]
    assert recorded and "1. [P0] app.py:2: Division by zero" in recorded[0]


async def test_an_answer_that_is_not_json_is_passed_on_as_text(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(fe.message_item("Looks fine to me, ship it.")))
    sess = make_session(fake_openai, tmp_path)
    await sess.submit(ev.ReviewChanges("changes since main", DIFF))
    events = await collect(sess)
    [done] = of_type(events, ev.ReviewCompleted)
    assert done.findings == [] and done.text == "Looks fine to me, ship it."
    assert of_type(events, ev.TurnCompleted)


async def test_a_review_while_a_turn_runs_is_refused(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(fe.message_item("slow")), delay=0.3)
    sess = make_session(fake_openai, tmp_path)
    await sess.submit(ev.UserInput("work"))
    await sess.submit(ev.ReviewChanges("uncommitted changes", DIFF))
    events = await collect(sess)
    assert any("run /review once it ends" in w.message for w in of_type(events, ev.WarningIssued))
    assert len(fake_openai.responses_bodies()) == 1


def test_parsing_is_defensive() -> None:
    fenced = "Here you go:\n```json\n" + json.dumps(ANSWER) + "\n```\nThanks"
    parsed = parse_review(fenced)
    assert parsed is not None and [f.title for f in parsed[0]] == ["Division by zero", "Style nit"]
    odd = {"findings": [
        {"title": "P as text", "priority": "P1", "file": "./a.py", "line": "7"},
        {"title": "bad priority", "priority": 99, "line": True},
        {"title": "", "priority": 0},
        "not an object",
        {"title": "x" * 1000, "body": ["not", "text"], "priority": -5, "line": -3},
    ], "overall": 42}
    findings, overall = parse_review(json.dumps(odd)) or ([], "")
    assert [(f.title[:10], f.priority, f.path, f.line, f.body) for f in findings] == [
        ("x" * 10, 0, "", None, ""), ("P as text", 1, "a.py", None, ""), ("bad priori", 3, "", None, ""),
    ]
    assert len(findings[0].title) == 200 and overall == ""
    assert parse_review("no json at all {not json either}") is None
    assert (parse_review('Use {} here. ' + json.dumps(ANSWER)) or ([], ""))[1] == "Crashes at import."
    assert parse_review("{" * 100_000 + json.dumps(ANSWER)) is None  # bounded tries: text
    assert parse_review('{"verdict": "ok"}') is None
    many = {"findings": [{"title": f"f{i}", "priority": 2} for i in range(500)]}
    assert len((parse_review(json.dumps(many)) or ([], ""))[0]) == MAX_FINDINGS


async def test_a_huge_diff_is_cut_and_the_model_is_told(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.queue_response(fe.turn(fe.message_item('{"findings": [], "overall": "ok"}')))
    sess = make_session(fake_openai, tmp_path)
    await sess.submit(ev.ReviewChanges("uncommitted changes", DIFF + "+" + "z" * (MAX_DIFF_CHARS + 10) + "\n"))
    await collect(sess)
    text = fake_openai.responses_bodies()[0]["input"][0]["content"][0]["text"]
    assert "the diff was cut here" in text and len(text) < MAX_DIFF_CHARS + 1000
