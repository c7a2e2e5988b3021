"""soak: a long scripted session through a real `codeloop exec` process: does anything grow?

The fake server (a thread of this process; exec is the child) answers CALLS requests in a row
with one shell call each, `cat` of a 200 KB file, then a final answer. Its usage figures are the
request's size / 4, so the engine's auto-compaction (90% of the model's window) fires every few
dozen calls, as it would in a long live session; `/responses/compact` answers are scripted too.

Measured from the server side: each request's arrival and size, the moment the server started
answering it, and exec's VmRSS/VmHWM (/proc/<pid>/status) at each arrival; from exec's `--engine-events`
events: each command's own duration.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.benchmarks.report import Row, at_most, info
from tests.engine_support import shell_call
from tui.engine.compact import is_real_user_message
from tui.fakeserver import FakeOpenAI
from tui.fakeserver import events as fe
from tui.fakeserver.server import _RequestHandler, _Sse

CALLS = 500  # the same with --quick: the whole run takes ~30 s
OUTPUT_BYTES = 200_000
WINDOW = 50  # requests compared at each end for the overhead
OVERHEAD_RATIO_TARGET = 1.5
RSS_RATIO_TARGET = 1.5
EXEC_TIMEOUT_S = 900
REPO = Path(__file__).resolve().parents[2]

NOTE = f"""\
- soak: `codeloop exec --engine-events --yolo` against the fake server: {CALLS} requests answered with a
  shell call (`cat` of a {OUTPUT_BYTES // 1000} KB file, cut to the 10k-token tool limit for the model), then an answer
  (the same with --quick). Overhead of request n = arrival of request n+1 − the moment the
  server began answering request n − the command's own duration (from exec's events); requests
  followed by a compaction are left out. RSS is exec's, read from /proc at request arrivals."""


@dataclass
class Arrival:
    path: str
    at: float  # time.monotonic() when the request line arrived (before the body is read)
    size: int  # body bytes
    answered_at: float = 0.0  # when the server began streaming its answer
    rss_kib: int = 0
    hwm_kib: int = 0


@dataclass
class Recorder:
    pid: int | None = None
    arrivals: list[Arrival] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _proc_status(pid: int | None) -> tuple[int, int]:
    """(VmRSS, VmHWM) in KiB, or zeros once the process is gone."""
    if pid is None:
        return 0, 0
    fields: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(rest.split()[0])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return fields.get("VmRSS", 0), fields.get("VmHWM", 0)


class _SoakHandler(_RequestHandler):
    def _serve(self) -> None:
        recorder: Recorder = self.server.recorder  # type: ignore[attr-defined]
        arrival = Arrival(self.path.partition("?")[0], time.monotonic(), int(self.headers.get("content-length") or 0))
        arrival.rss_kib, arrival.hwm_kib = _proc_status(recorder.pid)
        with recorder.lock:
            recorder.arrivals.append(arrival)
        self._arrival = arrival
        super()._serve()

    def _send_sse(self, stream: _Sse) -> None:
        self._arrival.answered_at = time.monotonic()
        super()._send_sse(stream)

    def _send_json(self, answer: Any) -> None:
        self._arrival.answered_at = time.monotonic()
        super()._send_json(answer)


class SoakFakeOpenAI(FakeOpenAI):
    def __init__(self) -> None:
        super().__init__()
        self.recorder = Recorder()

    def start(self) -> SoakFakeOpenAI:
        # FakeOpenAI.start() with the recording handler; queues and validation are its own.
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _SoakHandler)
        httpd.daemon_threads = True
        httpd.fake = self  # type: ignore[attr-defined]
        httpd.recorder = self.recorder  # type: ignore[attr-defined]
        self._httpd = httpd
        self.base_url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()
        return self


def _usage_of(fake: FakeOpenAI, output_tokens: int) -> dict[str, Any]:
    # The request being answered is the last one recorded (exec sends one at a time).
    size = len(fake.requests[-1].raw)
    return fe.usage(size // 4, output_tokens)


def _script(fake: FakeOpenAI, calls: int) -> None:
    for n in range(1, calls + 1):
        fake.queue_handler(
            lambda body, n=n: fe.turn(shell_call(f"call_{n:04d}", ["cat", "big.txt"]), usage=_usage_of(fake, 40))
        )
    fake.queue_handler(lambda body: fe.turn(fe.message_item("All done."), usage=_usage_of(fake, 10)))

    def compact(body: dict[str, Any]) -> dict[str, Any]:
        users = ["".join(p.get("text", "") for p in i["content"]) for i in body["input"] if is_real_user_message(i)]
        return fe.compacted(users, usage=_usage_of(fake, 2_000))

    for _ in range(calls // 5):  # far more than will be used
        fake.queue_handler(compact, endpoint="compact")


def _big_file(path: Path) -> None:
    line = "{:06d} the quick brown fox jumps over the lazy dog; a log line of a chatty build step\n"
    text, n = [], 0
    size = 0
    while size < OUTPUT_BYTES:
        text.append(line.format(n))
        size += len(text[-1])
        n += 1
    path.write_text("".join(text)[:OUTPUT_BYTES])


@dataclass
class SoakRun:
    calls: int
    arrivals: list[Arrival]
    durations: dict[str, float]  # call_id → the command's own seconds
    compactions: int
    wall_s: float


def run_soak(calls: int) -> SoakRun:
    with tempfile.TemporaryDirectory(prefix="codeloop-soak-") as tmp, SoakFakeOpenAI() as fake:
        ws, home = Path(tmp, "ws"), Path(tmp, "home")
        ws.mkdir()
        _big_file(ws / "big.txt")
        _script(fake, calls)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CODELOOP_"))}
        env.update({"CODELOOP_HOME": str(home), "OPENAI_BASE_URL": fake.base_url, "OPENAI_API_KEY": "test-key"})
        argv = [sys.executable, "-m", "tui", "exec", "--engine-events", "--yolo", "Run the build until it passes."]
        started = time.monotonic()
        proc = subprocess.Popen(argv, cwd=ws, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        fake.recorder.pid = proc.pid
        durations: dict[str, float] = {}
        compactions = 0
        stderr: list[str] = []
        drain = threading.Thread(target=lambda: stderr.extend(proc.stderr or []), daemon=True)
        drain.start()
        last = ""
        watchdog = threading.Timer(EXEC_TIMEOUT_S, proc.kill)  # a hung exec must not hang the run
        watchdog.start()
        for line in proc.stdout or []:
            event = json.loads(line)
            last = event["type"]
            if last == "exec_command_ended":
                durations[event["call_id"]] = event["duration_s"]
            elif last == "compaction_done":
                compactions += 1
        code = proc.wait()
        watchdog.cancel()
        wall = time.monotonic() - started
        drain.join(timeout=5)
        if code != 0 or last != "turn_completed":
            raise RuntimeError(f"exec exited {code} after {last!r}: {''.join(stderr)[-2000:]}")
        with fake.recorder.lock:
            arrivals = list(fake.recorder.arrivals)
    return SoakRun(calls, arrivals, durations, compactions, wall)


def _overheads(run: SoakRun) -> list[float | None]:
    """Per /responses request n (0-based) that asked for call n+1: the engine's own seconds
    between the answer and request n+1, or None when a compaction came in between."""
    order = [a for a in run.arrivals if a.path in ("/v1/responses", "/v1/responses/compact")]
    out: list[float | None] = []
    responses = [i for i, a in enumerate(order) if a.path == "/v1/responses"]
    for k, (i, j) in enumerate(zip(responses, responses[1:])):
        if j != i + 1:
            out.append(None)
            continue
        command_s = run.durations.get(f"call_{k + 1:04d}", 0.0)
        out.append(order[j].at - order[i].answered_at - command_s)
    return out


def measure(quick: bool) -> list[Row]:
    calls = CALLS
    run = run_soak(calls)
    responses = [a for a in run.arrivals if a.path == "/v1/responses"]
    if len(responses) != calls + 1:
        raise RuntimeError(f"expected {calls + 1} /responses requests, saw {len(responses)}")
    overheads = _overheads(run)
    kept = [o for o in overheads if o is not None]
    first = statistics.median(kept[:WINDOW]) * 1000
    last = statistics.median(kept[-WINDOW:]) * 1000
    # Between compactions each request carries more history than the one before it.
    by_size = sorted((responses[n].size, o) for n, o in enumerate(overheads) if o is not None)
    largest = statistics.median(o for _, o in by_size[-WINDOW:]) * 1000
    rss_100 = responses[100].rss_kib / 1024  # arrival of request 101: call 100 is done
    rss_end = responses[calls].rss_kib / 1024
    peak = max(a.hwm_kib for a in responses) / 1024
    sizes = [a.size / 1000 for a in responses]
    return [
        info("soak.calls", calls, "calls", f"in {run.wall_s:.0f} s; {run.compactions} compactions on the way"),
        info("soak.peak_rss", peak, "MB", "exec's VmHWM at its last request"),
        info("soak.rss_after_100", rss_100, "MB", "exec's VmRSS when request 101 arrived"),
        info(f"soak.rss_after_{calls}", rss_end, "MB", f"exec's VmRSS when request {calls + 1} (the last) arrived"),
        at_most("soak.rss_growth", rss_end / rss_100, "x", RSS_RATIO_TARGET, f"after call {calls} / after call 100"),
        info("soak.overhead_first50", first, "ms/req", f"median engine overhead, first {WINDOW} requests"),
        info("soak.overhead_last50", last, "ms/req", f"median, last {WINDOW}; {len(overheads) - len(kept)} left out (compaction)"),
        at_most("soak.overhead_ratio", last / first, "x", OVERHEAD_RATIO_TARGET, "last 50 / first 50"),
        info("soak.overhead_largest50", largest, "ms/req", f"median for the {WINDOW} largest requests (just before a compaction)"),
        info("soak.request_first", sizes[0], "KB", "body of request 1"),
        info("soak.request_100", sizes[100], "KB", "body of request 101"),
        info(f"soak.request_{calls}", sizes[calls], "KB", f"body of request {calls + 1}"),
        info("soak.request_max", max(sizes), "KB", f"largest; median {statistics.median(sizes):.0f} KB"),
    ]  # fmt: skip


if __name__ == "__main__":
    from tests.benchmarks.report import table

    print(table(measure("--quick" in sys.argv)))
