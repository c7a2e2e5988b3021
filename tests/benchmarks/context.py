"""context and resume: how a long session treats the provider's prompt cache, and how fast it reloads.

context: a 50-request scripted session (5 user turns, each 9 shell calls and an answer) through the
real engine (Session + ResponsesClient, never/danger-full-access) against the fake server. The
fake answers every request with usage computed from the body it received, simulating OpenAI's
prefix cache, so a request that rewrites anything already sent shows up as a cache break.
`AUTO_COMPACT_LIMIT` makes the remote compaction endpoint fire once or twice on the way.

resume: the ~100 MB rollout of resume_bench.py, loaded by `load_rollout` in a fresh process.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tests.benchmarks import resume_bench
from tests.benchmarks.report import Row, at_most, below, info, median
from tests.engine_support import MODEL, make_session, of_type, run_turn, shell_call
from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe
from tui import protocol as ev
from tui.engine.compact import is_real_user_message
from tui.engine.tokens import TokenCounter
from tui.tools.specs import prompt_text

TURNS = 5
CALLS_PER_TURN = 9  # each turn: 9 shell calls, then the answer, so 10 requests
AUTO_COMPACT_LIMIT = 40_000
# OpenAI caches prompts of at least 1,024 tokens, in 128-token blocks after that.
CACHE_BLOCK = 128
CACHE_MIN = 1024
UNCACHED_RATIO_TARGET = 1.5
RESUME_MB = 100
RESUME_S_TARGET = 3.0
RESUME_RSS_TARGET_MB = 600.0
REPO = Path(__file__).resolve().parents[2]

NOTE = f"""\
- context: usage comes from the fake server, per request: input = tokens of the prompt as the
  model reads it (instructions, tools JSON, each input item's JSON, in the order sent) counted
  with codeloop's TokenCounter ({MODEL}'s encoding, or the bundled cl100k when it can't be had);
  cached = the common prefix with the previous request (the compact request included), in
  tokens, rounded down to {CACHE_BLOCK}-token blocks, 0 under {CACHE_MIN} or when prompt_cache_key
  changes. A break is a request reading less than the previous request's input (rounded); the
  first request and the first one after each compaction are expected misses, not breaks.
- resume: resume_bench.build_rollout's realistic ~{RESUME_MB} MB rollout, loaded in a fresh process
  (the same in --quick: building it takes ~2 s)."""


# --------------------------------------------------------------------------- the prefix cache


@dataclass
class Served:
    endpoint: Literal["responses", "compact"]
    input_tokens: int
    cached_tokens: int
    ideal_cached: int  # all of the previous request's input, rounded as the cache rounds


class PrefixCache:
    """Usage the way OpenAI's prompt cache would report it, from the bodies as they arrive."""

    def __init__(self, counter: TokenCounter) -> None:
        self.counter = counter
        self.served: list[Served] = []
        self._previous: tuple[str, str | None, int] | None = None  # prompt text, cache key, tokens
        self._lock = threading.Lock()  # handlers run on the server's threads

    def serve(self, endpoint: Literal["responses", "compact"], body: dict[str, Any]) -> Served:
        # The model reads instructions, then tools, then the items: that order makes the prefix,
        # whatever the order of the JSON keys on the wire.
        text = json.dumps(body.get("instructions")) + json.dumps(body.get("tools") or [])
        text += "".join(json.dumps(item) for item in body["input"])
        tokens = self.counter.count_text(text)
        key = body.get("prompt_cache_key")
        with self._lock:
            cached = ideal = 0
            if self._previous is not None:
                before, before_key, before_tokens = self._previous
                if key == before_key:
                    # Tokenising the shared characters may overcount by the one token cut at the
                    # boundary; the block rounding absorbs it.
                    shared = self.counter.count_text(text[: _common_prefix(text, before)])
                    cached = _cacheable(min(shared, tokens))
                ideal = _cacheable(min(before_tokens, tokens))
            served = Served(endpoint, tokens, cached, ideal)
            self.served.append(served)
            self._previous = (text, key, tokens)
        return served


def _cacheable(tokens: int) -> int:
    return 0 if tokens < CACHE_MIN else tokens // CACHE_BLOCK * CACHE_BLOCK


def _common_prefix(a: str, b: str) -> int:
    """Length of the common prefix; a binary search over slice comparisons, which run in C."""
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


# --------------------------------------------------------------------------- the scripted session


def _make_files(cwd: Path, rng: random.Random) -> None:
    words = "the parser reads each line and skips blanks before it checks the header value".split()
    (cwd / "notes.txt").write_text("\n".join(" ".join(rng.choices(words, k=12)) for _ in range(40)) + "\n")
    (cwd / "module.py").write_text("".join(
        f"def handler_{i}(value: int) -> int:\n    # {' '.join(rng.choices(words, k=8))}\n    return value * {i}\n\n"
        for i in range(150)
    ))  # fmt: skip
    (cwd / "big.log").write_text("".join(
        f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d} INFO worker-{i % 8} {' '.join(rng.choices(words, k=9))}\n"
        for i in range(4000)
    ))  # fmt: skip


def _command(n: int) -> list[str]:
    """The n-th shell call (0..44): mostly small reads, a few large outputs (cut to the tool limit)."""
    large = {8: ["cat", "big.log"], 21: ["seq", "1", "20000"], 33: ["cat", "module.py"], 40: ["cat", "big.log"]}
    if n in large:
        return large[n]
    small = [
        ["seq", "1", str(20 + 37 * n % 300)],
        ["cat", "notes.txt"],
        ["head", "-n", str(10 + 3 * n), "module.py"],
        ["wc", "-c", "module.py", "notes.txt", "big.log"],
        ["ls", "-la"],
        ["grep", "-n", "return value \\* 1", "module.py"],
    ]
    return small[n % len(small)]


def _blob(rng: random.Random, size: int) -> str:
    return base64.b64encode(rng.randbytes(size)).decode()


def _answer(rng: random.Random, turn: int) -> str:
    words = "the handler now skips blank lines and the tests pass; next I would check the log".split()
    return f"Turn {turn} done. " + " ".join(rng.choices(words, k=120))


def _user_texts(body: dict[str, Any]) -> list[str]:
    return ["".join(p.get("text", "") for p in i["content"]) for i in body["input"] if is_real_user_message(i)]


@dataclass
class ContextRun:
    served: list[Served] = field(default_factory=list)
    compactions: list[ev.CompactionDone] = field(default_factory=list)
    responses_requests: int = 0
    compact_requests: int = 0


async def run_session() -> ContextRun:
    counter = await asyncio.to_thread(TokenCounter, MODEL)
    cache = PrefixCache(counter)
    rng = random.Random(11)

    def step(turn: int, k: int) -> Callable[[dict[str, Any]], list[dict[str, Any]]]:
        def answer(body: dict[str, Any]) -> list[dict[str, Any]]:
            thinking = fe.reasoning_item(f"Looking at step {k} of turn {turn}.", _blob(rng, 600))
            if k < CALLS_PER_TURN:
                argv = _command((turn - 1) * CALLS_PER_TURN + k)
                item, said = shell_call(f"call_{turn}_{k}", argv), json.dumps(argv)
            else:
                said = _answer(rng, turn)
                item = fe.message_item(said, chunk_size=64)
            served = cache.serve("responses", body)
            out = counter.count_text(said) + 64  # + the hidden reasoning
            return fe.turn(thinking, item, usage=fe.usage(served.input_tokens, out, cached_tokens=served.cached_tokens, reasoning_tokens=64))

        return answer

    def compact(body: dict[str, Any]) -> dict[str, Any]:
        served = cache.serve("compact", body)
        usage = fe.usage(served.input_tokens, 2_000, cached_tokens=served.cached_tokens)
        return fe.compacted(_user_texts(body), _blob(rng, 6_000), usage=usage)

    run = ContextRun()
    with tempfile.TemporaryDirectory(prefix="codeloop-bench-") as tmp, FakeOpenAI() as fake:
        cwd = Path(tmp)
        _make_files(cwd, rng)
        for turn in range(1, TURNS + 1):
            for k in range(CALLS_PER_TURN + 1):
                fake.queue_handler(step(turn, k))
        for _ in range(4):  # more than will be used; the count is read from the requests
            fake.queue_handler(compact, endpoint="compact")
        sess = make_session(
            fake, cwd, auto_compact_limit=AUTO_COMPACT_LIMIT, reasoning={"effort": "medium", "summary": "auto"}
        )
        sess.instructions = prompt_text("base_instructions.md")  # the real prefix, before anything is sent
        try:
            for turn in range(1, TURNS + 1):
                events = await run_turn(sess, f"Task {turn}: look through the project and fix what the log shows.")
                if not of_type(events, ev.TurnCompleted):
                    raise RuntimeError(f"turn {turn} did not complete: {events[-1]}")
                run.compactions += of_type(events, ev.CompactionDone)
        finally:
            await sess.submit(ev.Shutdown())
        run.responses_requests = len(fake.responses_bodies())
        run.compact_requests = len(fake.compact_bodies())
    if any(c.method != "remote" for c in run.compactions):
        raise RuntimeError("a compaction fell back to a local summary: the compact endpoint was refused")
    run.served = cache.served
    return run


# --------------------------------------------------------------------------- the rows


def measure_context(quick: bool) -> list[Row]:
    run = asyncio.run(run_session())
    served = run.served
    responses = [s for s in served if s.endpoint == "responses"]
    # Expected misses: the first request, and the first /responses request after each compaction.
    expected = {0} | {i + 1 for i, s in enumerate(served) if s.endpoint == "compact" and i + 1 < len(served)}
    breaks = [i for i, s in enumerate(served) if i not in expected and s.cached_tokens < s.ideal_cached]
    steady = [s.input_tokens - s.cached_tokens for i, s in enumerate(served)
              if s.endpoint == "responses" and i not in expected]  # fmt: skip
    first10, last10 = median(steady[:10]), median(steady[-10:])
    inputs = [s.input_tokens for s in responses]
    total_in = sum(inputs)
    cached = sum(s.cached_tokens for s in responses)
    ideal = sum(s.ideal_cached for s in responses)
    lost_at_compactions = sum(s.ideal_cached - s.cached_tokens for i, s in enumerate(served)
                              if i in expected and i > 0)  # fmt: skip
    compactions = "; ".join(f"{c.before_tokens:,} → {c.after_tokens:,} ({c.method}, {c.reason})" for c in run.compactions)
    where = ", ".join(f"{_label(served, i)} read {served[i].cached_tokens:,} of {served[i].ideal_cached:,}" for i in breaks[:3])
    n_compactions = len(run.compactions)
    return [
        info("context.requests", run.responses_requests, "requests",
             f"{TURNS} turns × ({CALLS_PER_TURN} shell calls + answer); plus {run.compact_requests} to /responses/compact"),
        info("context.input_first", inputs[0], "tokens", "input of the first request"),
        info("context.input_median", median(inputs), "tokens", "median input per request"),
        info("context.input_last", inputs[-1], "tokens", f"input of the last request; {total_in:,} in all"),
        info("context.cached_share", 100 * cached / total_in, "%", f"cached / input over the {len(responses)} requests"),
        info("context.cached_vs_ideal", 100 * cached / ideal if ideal else None, "%",
             f"ideal {100 * ideal / total_in:.1f}% (each reads all of the previous one); "
             f"{lost_at_compactions:,} tokens short after compactions (expected)"),
        at_most("context.cache_breaks", len(breaks), "requests", 0,
                where or "no request read less than its predecessor's prefix (first + post-compaction excluded)"),
        info("context.uncached_first10", first10, "tokens/req", "median uncached input, first 10 non-compaction requests"),
        info("context.uncached_last10", last10, "tokens/req", "median uncached input, last 10"),
        at_most("context.uncached_ratio", last10 / first10 if first10 else None, "x", UNCACHED_RATIO_TARGET, "last 10 / first 10"),
        Row("context.compactions", n_compactions, "", "1–2", 1 <= n_compactions <= 2,
            f"limit {AUTO_COMPACT_LIMIT:,}; engine's before → after: {compactions or 'none'}"),
    ]  # fmt: skip


def _label(served: list[Served], index: int) -> str:
    n = sum(s.endpoint == "responses" for s in served[: index + 1])
    return f"request {n}" if served[index].endpoint == "responses" else f"the compaction after request {n}"


def measure_resume(quick: bool) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="codeloop-bench-") as tmp:
        path = Path(tmp) / "rollout-realistic.jsonl"
        resume_bench.build_rollout(path, RESUME_MB * 1_000_000, str(uuid.uuid4()), random.Random(7))
        size_mb = path.stat().st_size / 1e6
        # Started from this (large) process, the child's ru_maxrss would start at our own peak:
        # Linux carries the high-water mark across vfork + exec. Forked by a small shell, it doesn't.
        argv = ["sh", "-c", '"$0" -c "$1" "$2"; exit $?', sys.executable, resume_bench.CHILD, str(path)]
        out = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    seconds, base_kib, peak_kib, items = float(out[0]), int(out[1]), int(out[2]), int(out[3])
    return [
        below("resume.load", seconds, "s", RESUME_S_TARGET, f"load_rollout of a {size_mb:.0f} MB rollout ({items:,} items), fresh process"),
        below("resume.rss", peak_kib / 1024, "MB", RESUME_RSS_TARGET_MB, f"peak RSS; {base_kib / 1024:.0f} MB before loading"),
    ]  # fmt: skip
