"""apply_patch_20k, sandbox_overhead, token_estimate: the per-call costs a long session pays.

- apply_patch_20k: `codeloop apply-patch` (a whole process) applying 20 hunks spread over a
  20,000-line file, against `python -c pass` in the same run.
- sandbox_overhead: the same command run directly and through bubblewrap (workspace-write, the
  seccomp filter included), interleaved; the overhead is the difference of the medians.
- token_estimate: a 10,000-item history already counted; one item appended; the time to the new
  estimate (what the engine pays before every request).
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks.report import Row, at_most, below, info
from tui.engine.tokens import HistoryEstimate, TokenCounter
from tui.safety.sandbox import SandboxPolicy, wrap
from tui.tools.process import run_process, shell_environment

CODELOOP = Path(sys.executable).parent / "codeloop"
LINES = 20_000
HUNKS = 20
PATCH_S_TARGET = 0.5
SANDBOX_MS_TARGET = 10.0
ESTIMATE_MS_TARGET = 5.0


def _patch() -> str:
    hunks = []
    for h in range(HUNKS):
        n = (h + 1) * (LINES // (HUNKS + 1))
        hunks.append(f"@@\n line {n - 1}\n-line {n}\n+line {n} (edited)\n line {n + 1}\n")
    return "*** Begin Patch\n*** Update File: big.txt\n" + "".join(hunks) + "*** End Patch\n"


def measure_apply_patch(quick: bool) -> list[Row]:
    runs = 5 if quick else 9
    patch = _patch().encode()
    original = "".join(f"line {i}\n" for i in range(LINES))
    times, base = [], []
    with tempfile.TemporaryDirectory(prefix="codeloop-bench-") as tmp:
        work = Path(tmp)
        for _ in range(runs + 1):  # the first of each warms the file cache
            (work / "big.txt").write_text(original)
            start = time.monotonic()
            subprocess.run([str(CODELOOP), "apply-patch"], input=patch, cwd=work, check=True, capture_output=True)
            times.append(time.monotonic() - start)
            start = time.monotonic()
            subprocess.run([sys.executable, "-c", "pass"], check=True)
            base.append(time.monotonic() - start)
        text = (work / "big.txt").read_text()
        if text.count("(edited)") != HUNKS or len(text.splitlines()) != LINES:
            raise AssertionError("apply-patch did not apply the 20 hunks")
    patch_s, base_s = statistics.median(times[1:]), statistics.median(base[1:])
    return [
        below("apply_patch_20k.process", patch_s, "s", PATCH_S_TARGET, f"`codeloop apply-patch`, {HUNKS} hunks in {LINES:,} lines, median of {runs}"),
        info("apply_patch_20k.vs_python", patch_s / base_s, "x", f"over `python -c pass` ({base_s * 1000:.0f} ms)"),
    ]


def measure_sandbox(quick: bool) -> list[Row]:
    runs = 30 if quick else 60
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="codeloop-bench-") as tmp:
        cwd = Path(tmp)
        policy = SandboxPolicy("workspace-write", writable_roots=(cwd,))
        env = shell_environment()

        async def timed(argv: list[str]) -> float:
            start = time.perf_counter()
            result = await run_process(argv, cwd=cwd, env=env)
            if result.exit_code != 0:
                raise RuntimeError(f"{argv[0]} failed: {result.output[-300:]}")
            return time.perf_counter() - start

        async def run() -> None:
            for name, command in (("true", ["true"]), ("bash_c", ["bash", "-c", "wc -l /etc/hostname"])):
                plain, boxed = [], []
                await timed(command)
                await timed(wrap(command, policy, cwd))
                for _ in range(runs):
                    plain.append(await timed(command))
                    boxed.append(await timed(wrap(command, policy, cwd)))
                direct_ms, sandboxed_ms = statistics.median(plain) * 1000, statistics.median(boxed) * 1000
                rows.append(info(f"sandbox.{name}_direct", direct_ms, "ms", f"`{' '.join(command)}` unsandboxed, median of {runs}"))
                rows.append(at_most(f"sandbox.{name}_overhead", sandboxed_ms - direct_ms, "ms", SANDBOX_MS_TARGET,
                                    f"bwrap (workspace-write + seccomp) {sandboxed_ms:.1f} ms minus direct"))  # fmt: skip

        asyncio.run(run())
    return rows


def _history(n: int) -> list[dict]:
    items: list[dict] = []
    for i in range(n):
        if i % 3 == 0:
            items.append({"type": "message", "role": "user", "content": [{"type": "input_text", "text": f"step {i}: " + "please check the tests " * 8}]})
        elif i % 3 == 1:
            items.append({"type": "function_call", "name": "shell", "call_id": f"c{i}", "arguments": '{"command":["bash","-lc","pytest -q tests/test_%d.py"]}' % i})
        else:
            items.append({"type": "function_call_output", "call_id": f"c{i - 1}", "output": "Exit code: 0\nOutput:\n" + "....... [100%]\n" * 20})
    return items


def measure_token_estimate(quick: bool) -> list[Row]:
    runs = 50
    counter = TokenCounter("gpt-5.5")
    history = _history(10_000)
    estimate = HistoryEstimate(counter)
    start = time.perf_counter()
    estimate.tokens_between(history, 0)
    full_s = time.perf_counter() - start
    times = []
    for i in range(runs):
        history.append({"type": "function_call_output", "call_id": f"n{i}", "output": "Exit code: 1\nOutput:\n" + "FAILED test_x - assert 1 == 2\n" * 30})
        start = time.perf_counter()
        estimate.tokens_between(history, 0)
        times.append(time.perf_counter() - start)
    return [
        below("token_estimate.append_one", statistics.median(times) * 1000, "ms", ESTIMATE_MS_TARGET,
              f"estimate after appending 1 item to {len(history) - runs:,}, median of {runs} ({counter.encoding_name})"),  # fmt: skip
        info("token_estimate.first_count", full_s * 1000, "ms", "counting all 10,000 items once (after a resume or compaction)"),
    ]
