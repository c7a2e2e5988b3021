"""The scripted model behind `codeloop --demo`, and the throwaway workspace it works in.

`DemoModel` runs the fake OpenAI server the tests use (tui/fakeserver) on 127.0.0.1 and answers
every request by looking at what the request carries, as a model would: the last tool output in
`input` says which step comes next, so the script follows the real engine through approvals,
denials and later messages instead of replaying a fixed tape. Usage numbers are estimated from
the request body, so the token budget and the cache hit rate move as they would live.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
from importlib import resources
from pathlib import Path
from typing import Any

from tui.fakeserver import FakeOpenAI, Paced
from tui.fakeserver import events as fe
from tui.model.items import message_text

DEMO_MODEL = "gpt-5.4"
DEMO_API_KEY = "codeloop-demo"  # the SDK insists on a key; the local server ignores it
DEMO_PROMPT = "The tests of textstats fail. Find the bug and fix it."
# A tiny context window (auto-compaction at 90 % of it, ~3.3k tokens) so the short demo shows
# a compaction happen; real models have hundreds of thousands.
DEMO_CONTEXT_WINDOW = 3_700

CALL_PLAN = "call_demo_plan"
CALL_READ = "call_demo_read"
CALL_TESTS = "call_demo_tests"
CALL_PLAN_FIX = "call_demo_plan_fix"
CALL_PATCH = "call_demo_patch"
CALL_RETEST = "call_demo_retest"
CALL_PLAN_DONE = "call_demo_plan_done"

STEPS = (
    "Run the tests and read the failure",
    "Fix word_count in textstats/core.py",
    "Run the tests again",
)

PATCH = """*** Begin Patch
*** Update File: textstats/core.py
@@ def word_count(text: str) -> int:
     \"\"\"Number of whitespace-separated words in `text`.\"\"\"
-    # Words are separated by spaces, so there is one more word than there are spaces.
-    return text.count(" ") + 1
+    # split() without an argument splits on runs of any whitespace and drops the empty
+    # strings at either end, so "", tabs, newlines and double spaces all count right.
+    return len(text.split())
*** End Patch
"""

FINAL_ANSWER = """## Fixed: `word_count` miscounted words

*This is codeloop's scripted demo: no real model was called, and every step you saw was played
back by a local stand-in. The commands and the patch were real, though.*

`word_count` counted the spaces and added one, so it was off by one for an empty text and wrong
whenever words were separated by anything but exactly one space.

- **Cause:** `text.count(" ") + 1` assumes one space between words and none at the ends.
- **Fix:** `len(text.split())` splits on runs of any whitespace and ignores leading and trailing blanks.
- **Check:** the second test run reports {tests_line}.

```python
def word_count(text: str) -> int:
    \"\"\"Number of whitespace-separated words in `text`.\"\"\"
    return len(text.split())
```

The change is uncommitted in the demo workspace; `git diff` there shows it.
"""

LATER_ANSWER = """**This is a scripted demo**, so there is no real model to answer that: the demo only plays
back the one fix you just watched.

To work with a real model:

1. Quit the demo.
2. Set `OPENAI_API_KEY` (or configure another provider).
3. Run `codeloop` in your own project.
"""

DECLINED = {
    CALL_TESTS: (
        "Understood, I won't run the tests. *(This is codeloop's scripted demo.)* Without seeing "
        "the failure I'd still suspect `word_count` in `textstats/core.py`: it counts spaces and "
        "adds one, which is wrong for an empty text. Approve the command next time to see the rest "
        "of the demo."
    ),
    CALL_PATCH: (
        "Understood, I left `textstats/core.py` as it was. *(This is codeloop's scripted demo.)* "
        "The bug stays: `word_count` counts spaces and adds one, so `word_count(\"\")` is 1. "
        "Replacing the body with `return len(text.split())` fixes it whenever you want it."
    ),
    CALL_RETEST: (
        "Understood, I won't run the tests again. *(This is codeloop's scripted demo.)* The fix "
        "to `word_count` is applied but unverified: run `python3 -m unittest` to check it."
    ),
}

_CWD = re.compile(r"<cwd>(.*?)</cwd>")
_RAN = re.compile(r"^Ran \d+ tests? in .*$", re.M)


class DemoModel:
    """A local server that plays the scripted conversation; `start()` gives its base_url."""

    def __init__(self, *, frame_delay_s: float = 0.012) -> None:
        # frame_delay_s paces the streamed text so a person sees it arrive; tests may pass 0.
        self.frame_delay_s = frame_delay_s
        self.server = FakeOpenAI()
        self.python = _python_command()
        self._lock = threading.Lock()
        self._cached_tokens = 0  # what the "provider" would hold in its prompt cache

    def start(self) -> str:
        self.server.start()
        self.server.queue_handler(self._respond)
        self.server.queue_handler(self._compact, endpoint="compact")
        return self.server.base_url

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> DemoModel:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ the conversation

    def _respond(self, body: dict[str, Any]) -> Paced:
        # Re-armed first, so the server always has an answer queued whatever happens below.
        self.server.queue_handler(self._respond)
        items: list[dict[str, Any]] = body.get("input") or []
        last = items[-1] if items else {}
        kind = last.get("type", "message")
        if kind.endswith("_call_output"):
            return self._after_output(body, last["call_id"], str(last.get("output", "")))
        state = _compaction_state(items)
        if state and not any(_is_model_output(i) for i in _after_compaction(items)):
            # Right after a compaction the tool outputs are gone from the input; like a real
            # model reading its compaction item, the script picks up where the state says.
            return self._after_output(body, state["last"], state["outputs"].get(state["last"], ""))
        if any(_is_model_output(i) for i in items) or state:
            return self._say(body, LATER_ANSWER)
        return self._plan(body)

    def _compact(self, body: dict[str, Any]) -> dict[str, Any]:
        """`/responses/compact`: the user's messages, and the script's state as the "encrypted" item."""
        self.server.queue_handler(self._compact, endpoint="compact")
        items: list[dict[str, Any]] = body.get("input") or []
        state = _compaction_state(items) or {"last": "", "outputs": {}}
        for item in items:
            if str(item.get("type", "")).endswith("_call_output"):
                state["outputs"][item["call_id"]] = str(item.get("output", ""))
                state["last"] = item["call_id"]
        users = [
            message_text(i)
            for i in items
            if i.get("type") == "message" and i.get("role") == "user"
        ]
        users = [u for u in users if not u.startswith(("# AGENTS.md", "<environment_context>"))]
        blob = DEMO_STATE_PREFIX + base64.b64encode(json.dumps(state).encode()).decode()
        with self._lock:
            self._cached_tokens = 0  # a new prefix: nothing cached for the next request
        return fe.compacted(users, blob, usage=fe.usage(len(json.dumps(body)) // 4, 200))

    def _after_output(self, body: dict[str, Any], call_id: str, output: str) -> Paced:
        if call_id in DECLINED and _was_declined(output):
            return self._say(body, DECLINED[call_id])
        if call_id == CALL_PLAN:
            return self._run_tests(body)
        if call_id == CALL_TESTS:
            return self._patch(body)
        if call_id == CALL_PATCH:
            if not output.startswith("Success"):
                return self._say(body, f"The patch did not apply *(scripted demo)*:\n\n```\n{output}\n```")
            return self._retest(body)
        if call_id == CALL_RETEST:
            return self._finish_plan(body)
        if call_id == CALL_PLAN_DONE:
            return self._final_answer(body)
        return self._say(body, LATER_ANSWER)

    def _plan(self, body: dict[str, Any]) -> Paced:
        reasoning = fe.reasoning_item([
            "**Planning the fix**\n\nThe user says the tests of textstats fail. I'll run them to see "
            "which one, read the code under test, fix it, and run the tests again.",
        ])
        plan = _plan_args("Demo: find and fix the failing test.", ["in_progress", "pending", "pending"])
        call = fe.function_call_item(CALL_PLAN, "update_plan", plan)
        return self._stream(body, [reasoning, call], reasoning_tokens=192)

    def _run_tests(self, body: dict[str, Any]) -> Paced:
        workdir = _workdir(body)
        preamble = fe.message_item(
            "I'll read `textstats/core.py` and run the test suite to see what fails.", phase="commentary"
        )
        read = fe.function_call_item(CALL_READ, "shell", _shell_args(["cat", "textstats/core.py"], workdir))
        tests = fe.function_call_item(CALL_TESTS, "shell", _shell_args(self._test_command(), workdir))
        return self._stream(body, [preamble, read, tests], reasoning_tokens=64)

    def _patch(self, body: dict[str, Any]) -> Paced:
        reasoning = fe.reasoning_item([
            "**Finding the off-by-one**\n\n`word_count(\"\")` gives 1 instead of 0 and the whitespace test "
            "counts 10 words instead of 6: `word_count` counts spaces and adds one. Splitting on "
            "whitespace handles every case.",
        ])
        preamble = fe.message_item(
            "Two tests fail because `word_count` counts spaces instead of words; fixing that.",
            phase="commentary",
        )
        # Two calls in one response, run in order: the plan moves on, then the patch waits for approval.
        progress = _plan_args("Demo: found the bug.", ["completed", "in_progress", "pending"])
        plan = fe.function_call_item(CALL_PLAN_FIX, "update_plan", progress)
        patch = fe.custom_tool_call_item(CALL_PATCH, "apply_patch", PATCH)
        return self._stream(body, [reasoning, preamble, plan, patch], reasoning_tokens=448)

    def _retest(self, body: dict[str, Any]) -> Paced:
        call = fe.function_call_item(CALL_RETEST, "shell", _shell_args(self._test_command(), _workdir(body)))
        return self._stream(body, [call], reasoning_tokens=32)

    def _finish_plan(self, body: dict[str, Any]) -> Paced:
        plan = _plan_args("Demo: the fix is in and the tests pass.", ["completed"] * len(STEPS))
        call = fe.function_call_item(CALL_PLAN_DONE, "update_plan", plan)
        return self._stream(body, [call], reasoning_tokens=48)

    def _final_answer(self, body: dict[str, Any]) -> Paced:
        retest = _output_of(body, CALL_RETEST) or ""
        ran = _RAN.search(retest)
        verdict = "OK" if "\nOK" in retest else "failures"
        tests_line = f"`{ran.group(0).strip()}` and `{verdict}`" if ran else "no test summary"
        return self._say(body, FINAL_ANSWER.format(tests_line=tests_line), reasoning_tokens=128)

    def _say(self, body: dict[str, Any], text: str, *, reasoning_tokens: int = 0) -> Paced:
        # Small deltas, like a live model's tokens, so the Markdown visibly streams in.
        item = fe.message_item(text, phase="final_answer", chunk_size=5)
        return self._stream(body, [item], reasoning_tokens=reasoning_tokens)

    def _test_command(self) -> list[str]:
        # pipefail keeps the test run's exit code: `| tail` alone would always report 0.
        return ["bash", "-lc", f"set -o pipefail; {self.python} -m unittest 2>&1 | tail -n 15"]

    # ------------------------------------------------------------ the stream and its usage

    def _stream(self, body: dict[str, Any], items: list[list[fe.Event]], *, reasoning_tokens: int) -> Paced:
        # Each group ends with its `output_item.done`, whose item is what the model "wrote".
        emitted = sum(len(json.dumps(group[-1].get("item", ""))) for group in items)
        output_tokens = emitted // 4 + reasoning_tokens
        usage = self._usage(body, output_tokens=output_tokens, reasoning_tokens=reasoning_tokens)
        events = fe.turn(*items, usage=usage, model=str(body.get("model") or DEMO_MODEL))
        return Paced(events, self.frame_delay_s)

    def _usage(self, body: dict[str, Any], *, output_tokens: int, reasoning_tokens: int) -> dict[str, Any]:
        # ~4 characters a token; the provider caches the previous request's prefix in 128-token
        # blocks, which is why every request after the first shows a high hit rate.
        input_tokens = len(json.dumps(body, ensure_ascii=False)) // 4
        with self._lock:
            cached = min(self._cached_tokens, input_tokens) // 128 * 128
            self._cached_tokens = input_tokens
        return fe.usage(input_tokens, output_tokens, cached_tokens=cached, reasoning_tokens=reasoning_tokens)


DEMO_STATE_PREFIX = "codeloop-demo-state:"


def _compaction_state(items: list[dict[str, Any]]) -> dict[str, Any] | None:
    for item in reversed(items):
        blob = str(item.get("encrypted_content", "")) if item.get("type") == "compaction" else ""
        if blob.startswith(DEMO_STATE_PREFIX):
            state: dict[str, Any] = json.loads(base64.b64decode(blob[len(DEMO_STATE_PREFIX):]))
            return state
    return None


def _after_compaction(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    idx = max((n for n, i in enumerate(items) if i.get("type") == "compaction"), default=-1)
    return items[idx + 1:]


def _is_model_output(item: dict[str, Any]) -> bool:
    kind = item.get("type", "message")
    return kind in ("reasoning", "function_call", "custom_tool_call") or item.get("role") == "assistant"


def _was_declined(output: str) -> bool:
    # The engine's wording for a denial, interactive ("The user declined ...") or headless.
    return "declined" in output or output.startswith("aborted")


def _output_of(body: dict[str, Any], call_id: str) -> str | None:
    items = body.get("input") or []
    for item in reversed(items):
        if item.get("call_id") == call_id and str(item.get("type", "")).endswith("_call_output"):
            return str(item.get("output", ""))
    state = _compaction_state(items)
    return state["outputs"].get(call_id) if state else None


def _workdir(body: dict[str, Any]) -> str:
    """The cwd the engine told the model about, as a model would echo it into `workdir`."""
    found: list[str] = []
    for item in body.get("input") or []:
        for part in item.get("content") or []:
            if isinstance(part, dict):
                found += _CWD.findall(str(part.get("text", "")))
    return found[-1] if found else "."


def _shell_args(argv: list[str], workdir: str) -> str:
    return json.dumps({"command": argv, "workdir": workdir})


def _plan_args(explanation: str, statuses: list[str]) -> str:
    steps = [{"step": step, "status": status} for step, status in zip(STEPS, statuses)]
    return json.dumps({"explanation": explanation, "plan": steps})


def _python_command() -> str:
    # `python` is missing on many systems (Debian, macOS); `python3` rarely is.
    for name in ("python3", "python"):
        if shutil.which(name):
            return name
    return shlex.quote(sys.executable)


# ------------------------------------------------------------------ the workspace


def prepare_workspace(dest_parent: Path | None = None) -> Path:
    """A fresh copy of the sample project in a new temporary directory, committed to git."""
    workspace = Path(tempfile.mkdtemp(prefix="codeloop-demo-", dir=dest_parent)).resolve()
    source = resources.files("tui.demo") / "sample_project"
    with resources.as_file(source) as src:
        shutil.copytree(src, workspace, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _git_init(workspace)
    return workspace


def leave_workspace(workspace: Path) -> str | None:
    """At exit: a workspace the session left as it was made is removed; one with changes (the
    agent's fix, the user's edits) is kept, and the line to print says where. None: removed."""
    git = shutil.which("git")
    changed = True  # without git there is no telling: keep it
    if git is not None and (workspace / ".git").is_dir():
        try:
            status = subprocess.run(
                [git, "status", "--porcelain", "--untracked-files=all"],
                cwd=workspace, capture_output=True, text=True, timeout=30, check=True,
            )
            changed = bool(status.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            changed = True
    if changed:
        return f"codeloop: the demo's workspace, with its changes, is kept at {workspace} (remove it when done)"
    shutil.rmtree(workspace, ignore_errors=True)
    return None


def _git_init(workspace: Path) -> None:
    """One initial commit, so `git diff` shows the agent's change; skipped when git is missing."""
    git = shutil.which("git")
    if git is None:
        return
    # The user's own git identity and hooks have no business in a throwaway demo repository.
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "codeloop demo",
        "GIT_AUTHOR_EMAIL": "demo@codeloop.invalid",
        "GIT_COMMITTER_NAME": "codeloop demo",
        "GIT_COMMITTER_EMAIL": "demo@codeloop.invalid",
    }
    commands = [
        [git, "-c", "init.defaultBranch=main", "init", "-q"],
        [git, "add", "-A"],
        [git, "-c", "commit.gpgsign=false", "commit", "-q", "--no-verify", "-m", "textstats: the demo's sample"],
    ]
    try:
        for command in commands:
            subprocess.run(command, cwd=workspace, env=env, check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        shutil.rmtree(workspace / ".git", ignore_errors=True)  # a half-made repo helps nobody
