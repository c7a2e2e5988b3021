"""Why a request read less from the provider's prompt cache than the one before it.

The provider caches a request's prompt by its prefix: the tokens rendered from the model, the
tools, the instructions and the input items, in that order, under the `prompt_cache_key`. The
next request reads back as much of that prefix as it shares. codeloop keeps its prefix stable
(append-only history, settings changes appended, tools fixed and sorted), so when a request
reads less than the previous request's input, something changed, and the engine can usually
say what: it keeps a fingerprint of each request sent (digests, never a second copy of the
history) and compares the two when the usage arrives.

Caching facts used here (OpenAI's prompt caching guide): only prompts of at least 1024 tokens
are cached, and hits come in 128-token blocks after the first 1024, so a request can read up to
127 tokens less than the previous input without anything being wrong. One more block is
allowed for the boundary: the framing where the previous prompt ended is rendered again.
Providers that never report a cached token (many local servers) are not told to have evicted
anything: "provider_evicted" waits until the session has seen the provider cache.
"""

from __future__ import annotations

import collections
import hashlib
import json
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from tui.model.types import Prompt, Usage
from tui.protocol import CacheMissed, CacheMissReason

MIN_CACHED_PROMPT = 1024
"""Prompts shorter than this are never cached."""
CACHE_BLOCK = 128
"""Cache hits grow in blocks of this many tokens after the first MIN_CACHED_PROMPT."""
SLACK_BLOCKS = 1
"""Blocks a request may read less than expected before it counts as a miss."""
RECENT_MISSES = 5
"""Misses kept for `/status`."""
IDLE_NOTE_S = 60.0
"""An eviction after a pause at least this long says how long it was: providers drop a prefix
unused for some minutes (OpenAI: 5-10, up to an hour off-peak)."""

# Fingerprinting serializes the whole input (~20 ms for a full 272k-token window here): done on
# a worker while the request streams, never on the event loop that draws the app.
_WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cache-fingerprint")


def json_bytes(value: Any) -> str:
    """The bytes a JSON value is sent as. Key order matters to the prefix cache, and dict
    equality ignores it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def cacheable(tokens: int) -> int:
    """The most a later request can read from the cache of a prompt of `tokens` tokens."""
    if tokens < MIN_CACHED_PROMPT:
        return 0
    return MIN_CACHED_PROMPT + (tokens - MIN_CACHED_PROMPT) // CACHE_BLOCK * CACHE_BLOCK


def _item_kind(item: dict[str, Any]) -> str:
    """A few words naming an item in a miss's detail (no content: that may be long or secret)."""
    kind = str(item.get("type", "message"))
    if kind != "message":
        return sys.intern(kind.replace("_", " "))
    role = str(item.get("role", "?"))
    content = item.get("content")
    first = content[0] if isinstance(content, list) and content else None
    text = first.get("text", "") if isinstance(first, dict) else content if isinstance(content, str) else ""
    if role == "developer" or (role == "user" and isinstance(text, str) and text.startswith("<environment_context>")):
        return "settings message"
    return sys.intern(f"{role} message")


@dataclass(frozen=True)
class Fingerprint:
    """What decides a request's cached prefix, as digests: one per input item, so the longest
    common prefix with another request is found without keeping either history."""

    model: str
    cache_key: str
    reasoning: str
    tools: tuple[tuple[str, bytes], ...]  # (name, digest of its spec) in the order sent
    instructions: bytes
    instructions_chars: int
    items: tuple[bytes, ...]
    kinds: tuple[str, ...]  # _item_kind of each item (interned: a pointer each)

    @classmethod
    def of(cls, prompt: Prompt) -> Fingerprint:
        return cls(
            model=prompt.model,
            cache_key=prompt.prompt_cache_key,
            reasoning=json_bytes(prompt.reasoning),
            tools=tuple((str(t.get("name") or t.get("type") or "?"), _digest(json_bytes(t))) for t in prompt.tools),
            instructions=_digest(prompt.instructions),
            instructions_chars=len(prompt.instructions),
            items=tuple(_digest(json_bytes(item)) for item in prompt.input),
            kinds=tuple(_item_kind(item) for item in prompt.input),
        )


def common_prefix(a: tuple[bytes, ...], b: tuple[bytes, ...]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def explain(prev: Fingerprint, cur: Fingerprint, *, compacted: bool, forked: bool) -> tuple[CacheMissReason, str]:
    """The first difference between two requests that costs the cache, in the order the provider
    renders the prompt (the model and its cache key first); "provider_evicted" when `prev`'s
    input is a prefix of `cur`'s and nothing else changed."""
    if prev.model != cur.model:
        return "model", f"{prev.model} → {cur.model}"
    if prev.cache_key != cur.cache_key:
        return "cache_key", f"{_short(prev.cache_key)} → {_short(cur.cache_key)}"
    if prev.reasoning != cur.reasoning:
        return "reasoning", f"{prev.reasoning} → {cur.reasoning}"
    if prev.tools != cur.tools:
        return "tools", _tools_detail(prev.tools, cur.tools)
    if prev.instructions != cur.instructions:
        return "instructions", f"{prev.instructions_chars:,} → {cur.instructions_chars:,} characters"
    k = common_prefix(prev.items, cur.items)
    if k == len(prev.items):
        return "provider_evicted", "the prefix was sent unchanged"
    where = f"item {k + 1} of {len(prev.items)}"
    if compacted:
        return "compaction", f"the history was replaced from {where}"
    if forked:
        return "fork", f"the history was rewound to before {where}"
    inserted = _inserted(prev.items, cur.items, k)
    if inserted:
        what = ", ".join(dict.fromkeys(cur.kinds[k:k + inserted]))
        return "items_inserted", f"{_count(inserted, 'item')} ({what}) put before {where}"
    if k == len(cur.items):
        return "history_rewritten", f"the history ends before {where} (compaction or fork)"
    return "history_rewritten", f"{where} ({prev.kinds[k]}) differs (compaction or fork)"


def _inserted(old: tuple[bytes, ...], new: tuple[bytes, ...], k: int) -> int:
    """How many items were put in at k with old[k:] following unchanged; 0 when it wasn't that."""
    for n in range(1, len(new) - len(old) + 1):
        if new[k + n] == old[k] and new[k + n:k + n + len(old) - k] == old[k:]:
            return n
    return 0


def _tools_detail(prev: tuple[tuple[str, bytes], ...], cur: tuple[tuple[str, bytes], ...]) -> str:
    old, new = dict(prev), dict(cur)
    parts = []
    added = [name for name in new if name not in old]
    removed = [name for name in old if name not in new]
    changed = [name for name in new if name in old and old[name] != new[name]]
    for label, names in (("added", added), ("removed", removed), ("changed", changed)):
        if names:
            parts.append(f"{label} {', '.join(names[:3])}" + (f" and {len(names) - 3} more" if len(names) > 3 else ""))
    return "; ".join(parts) or "the tools were sent in another order"


def _short(key: str) -> str:
    return key if len(key) <= 12 else key[:8] + "…"


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h" + (f" {minutes % 60} min" if minutes % 60 else "")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


class CacheWatch:
    """Keeps the fingerprint of the last measured request and explains each cache miss.

    The session calls `sent` with each sampling request, `measured` when its usage arrives (a
    request that never completed, a retried or interrupted one, is simply replaced by the next),
    `compacted` after a compaction replaced the history and `forked` when the history was
    rewound to an earlier turn, so the next miss is put down to them rather than to a rewrite.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._pending: tuple[Future[Fingerprint], float] | None = None  # and when it went out
        self._last: tuple[Fingerprint, int, float] | None = None  # the last measured: its input tokens too
        self._compacted = False
        self._forked = False
        self.requests = 0
        self.provider_caches = False  # a response reported cached tokens: the provider caches
        self.recent: collections.deque[CacheMissed] = collections.deque(maxlen=RECENT_MISSES)

    def sent(self, prompt: Prompt) -> None:
        """`prompt` went out; its items are not changed afterwards (the history only grows)."""
        self._pending = (_WORKER.submit(Fingerprint.of, prompt), self._clock())

    def seed(self, prompt: Prompt, input_tokens: int, cached_input_tokens: int, age_s: float) -> None:
        """A resumed session: `prompt` is the last request its rollout recorded, measured `age_s`
        ago, so the first request sent here is compared with it."""
        self._last = (Fingerprint.of(prompt), input_tokens, self._clock() - max(0.0, age_s))
        self.provider_caches = cached_input_tokens > 0

    def compacted(self) -> None:
        self._compacted = True

    def forked(self) -> None:
        """Hook for a fork (backtrack): the next request's history is rewound on purpose."""
        self._forked = True

    def measured(self, usage: Usage) -> CacheMissed | None:
        """The pending request's usage arrived: the miss to report, if it is one."""
        pending, self._pending = self._pending, None
        if pending is None:
            return None
        self.requests += 1
        self.provider_caches = self.provider_caches or usage.cached_input_tokens > 0
        try:
            cur = pending[0].result()  # done long since, but for the quickest of responses
        except Exception:  # a bug here must not fail the turn: this request is just not compared
            self._last = None
            return None
        last, self._last = self._last, (cur, usage.input_tokens, pending[1])
        compacted, forked = self._compacted, self._forked
        self._compacted = self._forked = False
        if last is None:
            return None  # a first request has nothing to read
        expected = cacheable(min(last[1], usage.input_tokens))
        if usage.cached_input_tokens >= expected - SLACK_BLOCKS * CACHE_BLOCK or expected == 0:
            return None
        reason, detail = explain(last[0], cur, compacted=compacted, forked=forked)
        if reason == "provider_evicted":
            if not self.provider_caches:
                return None  # a provider that never reported a cached token (many local servers) evicted nothing
            idle = pending[1] - last[2]
            if idle >= IDLE_NOTE_S:
                detail += f", {_duration(idle)} after the previous request"
        miss = CacheMissed(reason, detail, expected, usage.cached_input_tokens, self.requests)
        self.recent.append(miss)
        return miss
