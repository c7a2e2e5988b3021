"""A local OpenAI stand-in: real HTTP and real Server-Sent Events, scripted per endpoint.

The openai SDK is never mocked in this project; tests (and the demo) point it (via `base_url`) at
this server, which records every request, refuses what the live API refuses (validate.py) and
answers each accepted request with the next scripted entry of that endpoint's FIFO queue.
"""

from __future__ import annotations

import itertools
import json
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from tui.fakeserver.events import number
from tui.fakeserver.validate import (
    Refusal,
    not_json,
    validate_chat,
    validate_compact,
    validate_responses,
)

Endpoint = Literal["responses", "chat", "compact"]
ROUTES: dict[str, Endpoint] = {
    "/v1/responses": "responses",
    "/v1/chat/completions": "chat",
    "/v1/responses/compact": "compact",
}
VALIDATORS: dict[Endpoint, Callable[[object], Refusal | None]] = {
    "responses": validate_responses,
    "chat": validate_chat,
    "compact": validate_compact,
}


@dataclass
class RecordedRequest:
    method: str
    path: str  # without the query string
    headers: dict[str, str]  # keys lower-cased
    body: Any  # parsed JSON, or None when absent or unparsable
    raw: bytes
    query: str = ""


@dataclass
class _Sse:
    """A stream: frames are written (and flushed) one by one."""

    frames: list[bytes]
    delay: float = 0.0
    stall_after: int | None = None  # stop here and hold the connection open, sending nothing
    abort: bool = False  # drop the TCP connection instead of ending the chunked body


@dataclass
class _Json:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None
    """Sent as is when given; else a str body is HTML (a proxy's error page), others JSON."""


@dataclass
class _Handler:
    fn: Callable[[Any], Any]


@dataclass
class Paced:
    """What a `queue_handler` function may return instead of bare events (responses) or chunks
    (chat): the same stream, its frames sent `delay` seconds apart so streaming is visible."""

    events: list[dict[str, Any]]
    delay: float = 0.0


_Entry = _Sse | _Json | _Handler


def sse_frame(event: dict[str, Any]) -> bytes:
    # Always `event:` *with* `data:`: an event line without data makes the SDK json.loads("").
    data = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    head = f"event: {event['type']}\n" if isinstance(event.get("type"), str) else ""
    return f"{head}data: {data}\n\n".encode()


def chat_frames(chunks: list[dict[str, Any]]) -> list[bytes]:
    frames = [f"data: {json.dumps(c, separators=(',', ':'))}\n\n".encode() for c in chunks]
    return frames + [b"data: [DONE]\n\n"]


class FakeOpenAI:
    """Start it, script it, point `AsyncOpenAI(base_url=fake.base_url)` at it, read `requests`."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._queues: dict[Endpoint, deque[_Entry]] = {name: deque() for name in VALIDATORS}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._ids = itertools.count(1)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""
        self.stream_headers: dict[str, str] = {}
        """Sent with every stream answer (responses and chat), e.g. the `x-ratelimit-*`
        headers the live API sends; set it before the request."""

    # --- lifecycle -----------------------------------------------------------------------------

    @staticmethod
    def handler_class() -> type[BaseHTTPRequestHandler]:
        """The request handler; a subclass may serve through its own (e.g. to time frames)."""
        return _RequestHandler

    def start(self) -> FakeOpenAI:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), self.handler_class())
        httpd.daemon_threads = True
        httpd.fake = self  # type: ignore[attr-defined]
        self._httpd = httpd
        self.base_url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
        # A short poll interval: shutdown() waits for the loop's next poll, once per test.
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="fakeopenai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # releases stalled streams
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what was asked ------------------------------------------------------------------------

    def bodies(self, path: str) -> list[Any]:
        with self._lock:
            return [r.body for r in self.requests if r.method == "POST" and r.path == path]

    def responses_bodies(self) -> list[dict[str, Any]]:
        """Bodies of POST /v1/responses in arrival order, refused ones and SDK retries included."""
        return self.bodies("/v1/responses")

    def chat_bodies(self) -> list[dict[str, Any]]:
        return self.bodies("/v1/chat/completions")

    def compact_bodies(self) -> list[dict[str, Any]]:
        return self.bodies("/v1/responses/compact")

    def remaining(self, endpoint: Endpoint = "responses") -> int:
        """Scripted entries not consumed yet (a test can assert the script was played out)."""
        with self._lock:
            return len(self._queues[endpoint])

    # --- scripting -----------------------------------------------------------------------------

    def _push(self, endpoint: Endpoint, entry: _Entry) -> None:
        with self._lock:
            self._queues[endpoint].append(entry)

    def queue_response(
        self, events: list[dict[str, Any]], *, delay: float = 0.0, stall_after: int | None = None
    ) -> None:
        """An SSE stream for POST /v1/responses; missing sequence_numbers are filled in.

        `delay` sleeps between frames. `stall_after=n` sends n events, then holds the connection
        open without a byte until the client goes away (cancellation and idle-timeout tests).
        """
        frames = [sse_frame(e) for e in number(events)]
        self._push("responses", _Sse(frames, delay=delay, stall_after=stall_after))

    def queue_cut_stream(self, events: list[dict[str, Any]], *, abort: bool = False) -> None:
        """Send these events, then end the stream without a terminal event.

        abort=False ends the HTTP body cleanly: the SDK's iteration just stops (no error).
        abort=True drops the connection mid-body: the SDK raises APIConnectionError.
        """
        self._push("responses", _Sse([sse_frame(e) for e in number(events)], abort=abort))

    def queue_sse_raw(self, text: str, endpoint: Endpoint = "responses") -> None:
        """Exact bytes as the SSE body, for garbage and framing-quirk tests."""
        self._push(endpoint, _Sse([text.encode()]))

    def queue_http_error(
        self,
        status: int,
        body: dict[str, Any] | str,
        headers: dict[str, str] | None = None,
        endpoint: Endpoint = "responses",
    ) -> None:
        """An HTTP error. A str body is sent as-is (e.g. a proxy's HTML 502). Without explicit
        headers, 4xx carry `x-should-retry: false` so SDK retries don't eat later entries; 5xx
        carry nothing, so the SDK retries them as it would live."""
        if headers is None:
            headers = {"x-should-retry": "false"} if status < 500 else {}
        self._push(endpoint, _Json(status, body, dict(headers)))

    def queue_chat(self, chunks: list[dict[str, Any]]) -> None:
        """Chat Completions SSE: each chunk as `data: {json}`, then `data: [DONE]`."""
        self._push("chat", _Sse(chat_frames(chunks)))

    def queue_chat_raw(self, text: str) -> None:
        self.queue_sse_raw(text, endpoint="chat")

    def queue_compact(self, body: Any) -> None:
        """The JSON answer to POST /v1/responses/compact (any JSON value, to test bad answers)."""
        self._push("compact", _Json(200, json.dumps(body), content_type="application/json"))

    def queue_compact_raw(self, text: str, content_type: str = "application/json") -> None:
        """Exact bytes as the compaction answer (truncated JSON, HTML from a proxy, …)."""
        self._push("compact", _Json(200, text, content_type=content_type))

    def queue_handler(self, fn: Callable[[Any], Any], endpoint: Endpoint = "responses") -> None:
        """A dynamic entry: `fn(request_body)` returns the events (responses), the chunks (chat)
        or the JSON body (compact) to answer with, e.g. to echo a call_id from the request; a
        `Paced` answer spaces a stream's frames out."""
        self._push(endpoint, _Handler(fn))

    # --- serving (called on handler threads) ---------------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _next(self, endpoint: Endpoint) -> _Entry | None:
        with self._lock:
            queue = self._queues[endpoint]
            return queue.popleft() if queue else None

    def _answer(self, endpoint: Endpoint, body: Any) -> _Sse | _Json:
        refusal = VALIDATORS[endpoint](body)
        if refusal is not None:
            return _json_refusal(refusal)
        entry = self._next(endpoint)
        if entry is None:
            path = next(p for p, e in ROUTES.items() if e == endpoint)
            return _json_refusal(
                Refusal(
                    f"fakeopenai: no scripted response left for {path}",
                    type="server_error",
                    code="fakeopenai_queue_empty",
                    status=500,
                )
            )
        if isinstance(entry, _Handler):
            try:
                entry = self._resolve(endpoint, entry.fn(body))
            except Exception as exc:  # a broken script must fail the test, not drop the connection
                message = f"fakeopenai: queue_handler raised {type(exc).__name__}: {exc}"
                return _json_refusal(Refusal(message, type="server_error", code="fakeopenai_handler_error", status=500))
        if isinstance(entry, _Sse) and body.get("stream") is not True:
            # Loud on purpose: the engine must stream, and the fake only scripts streams.
            return _json_refusal(
                Refusal(f"fakeopenai: {endpoint} is scripted as a stream but the request has no 'stream': true")
            )
        return entry

    @staticmethod
    def _resolve(endpoint: Endpoint, result: Any) -> _Sse | _Json:
        if isinstance(result, _Sse | _Json):
            return result
        if isinstance(result, Paced):
            if endpoint == "chat":
                frames = chat_frames(result.events)
            else:
                frames = [sse_frame(e) for e in number(result.events)]
            return _Sse(frames, delay=result.delay)
        if endpoint == "responses":
            return _Sse([sse_frame(e) for e in number(result)])
        if endpoint == "chat":
            return _Sse(chat_frames(result))
        return _Json(200, result)

    def next_request_id(self) -> str:
        return f"req_fake{next(self._ids):06d}"


def _json_refusal(refusal: Refusal) -> _Json:
    headers = {"x-should-retry": "false", **refusal.headers}
    return _Json(refusal.status, refusal.body(), headers)


class _RequestHandler(BaseHTTPRequestHandler):
    # HTTP/1.1 so streams can use chunked encoding: a clean end and a dropped connection are then
    # distinguishable to the client, as they are with the live API.
    protocol_version = "HTTP/1.1"
    server: ThreadingHTTPServer

    @property
    def fake(self) -> FakeOpenAI:
        fake: FakeOpenAI = self.server.fake  # type: ignore[attr-defined]
        return fake

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # keep pytest output clean

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: Any = None
        parse_failed = False
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                parse_failed = True
        headers = {k.lower(): v for k, v in self.headers.items()}
        # Recorded before validation, so tests can inspect what was refused.
        self.fake._record(RecordedRequest(self.command, path, headers, body, raw, query))

        endpoint = ROUTES.get(path)
        if self.command != "POST" or endpoint is None:
            refusal = Refusal(f"fakeopenai: no route for {self.command} {path}", code="unknown_url", status=404)
            self._send_json(_json_refusal(refusal))
        elif parse_failed:
            self._send_json(_json_refusal(not_json()))
        else:
            answer = self.fake._answer(endpoint, body)
            if isinstance(answer, _Sse):
                self._send_sse(answer)
            else:
                self._send_json(answer)
        self.close_connection = True

    def _common_headers(self) -> None:
        self.send_header("x-request-id", self.fake.next_request_id())
        self.send_header("openai-version", "2020-10-01")
        self.send_header("openai-processing-ms", "12")

    def _send_json(self, answer: _Json) -> None:
        if isinstance(answer.body, str):
            payload, ctype = answer.body.encode(), answer.content_type or "text/html; charset=utf-8"
        else:
            payload, ctype = json.dumps(answer.body).encode(), answer.content_type or "application/json"
        self.send_response(answer.status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(payload)))
        self.send_header("connection", "close")
        self._common_headers()
        for key, value in answer.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()

    def _send_sse(self, stream: _Sse) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("connection", "close")
        self._common_headers()
        for key, value in dict(self.fake.stream_headers).items():
            self.send_header(key, value)
        self.end_headers()
        try:
            for index, frame in enumerate(stream.frames):
                if stream.stall_after is not None and index >= stream.stall_after:
                    self._hold_until_client_leaves()
                    return
                if stream.delay and index:
                    time.sleep(stream.delay)
                self._write_chunk(frame)
            if stream.stall_after is not None:
                self._hold_until_client_leaves()
                return
            if stream.abort:
                # No terminating zero-length chunk: the client sees an incomplete body.
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client hung up mid-stream (cancellation); nothing to finish

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _hold_until_client_leaves(self) -> None:
        sock = self.connection
        while not self.fake._stopping.is_set():
            readable, _, _ = select.select([sock], [], [], 0.05)
            if readable and not sock.recv(1, socket.MSG_PEEK):
                return  # EOF: the client closed its side
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
