"""append_1000: 1,000 turns (user cell, tool cell, answer) appended to the Conversation pane.

The model is skipped: turns go straight through the pane's own methods, the ones the app calls
for engine events, in the same order (an answer is streamed in one piece, then frozen). Each turn
counts as done at the first frame that shows its answer's last line, so layout and painting are
in the figure, as they are for a person watching.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.benchmarks.instrument import SIZE, PaintClock, codeloop_app
from tests.benchmarks.report import Row, at_most, below, info, vm_kib
from tui.app.widgets.conversation import Conversation

TURNS = 1000
BLOCK = 100
RATIO_TARGET = 1.5
RSS_TARGET_MB = 400.0
UNUSED_URL = "http://127.0.0.1:9/v1"  # no request is made: the model is skipped

TOOL_OUTPUT = "\n".join(f"tests/test_module_{i}.py::test_case PASSED" for i in range(12)) + "\n12 passed in 0.4s"


def answer(turn: int) -> str:
    return (
        f"### Turn {turn}\n\n"
        "The tests pass now. What changed:\n\n"
        "- `parse()` skips blank lines\n"
        "- the error names the offending line\n\n"
        "```python\n"
        "def parse(lines: list[str]) -> list[str]:\n"
        "    return [line for line in lines if line.strip()]\n"
        "```\n\n"
        f"Done with turn {turn} (marker {turn:04d}).\n"
    )


@dataclass
class AppendRun:
    block_seconds: list[float] = field(default_factory=list)  # wall time of each block of BLOCK turns
    turns: int = 0
    rss_kib: int = 0
    peak_kib: int = 0
    capped: bool = False


async def append_turns(turns: int, budget_s: float) -> AppendRun:
    run = AppendRun()
    with tempfile.TemporaryDirectory(prefix="codeloop-bench-") as cwd:
        app = codeloop_app(UNUSED_URL, Path(cwd))
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            clock = PaintClock(app)
            conv = app.query_one(Conversation)
            shown = asyncio.Event()
            marker = ""

            def on_frame(_now: float) -> None:
                if clock.shows(marker):
                    shown.set()

            clock.listeners.append(on_frame)
            deadline = time.monotonic() + budget_s
            block_start = time.monotonic()
            for turn in range(turns):
                marker = f"(marker {turn:04d})"
                shown.clear()
                await conv.add_user(f"Question {turn}: why does test_case fail?")
                await conv.tool_began(f"call_{turn}", ["pytest", "-q"], cwd, True)
                conv.tool_ended(f"call_{turn}", 0, 0.4, TOOL_OUTPUT, False)
                text = answer(turn)
                await conv.append_answer(text)
                await conv.finish_answer(text)
                await asyncio.wait_for(shown.wait(), 30)
                run.turns = turn + 1
                if run.turns % BLOCK == 0:
                    now = time.monotonic()
                    run.block_seconds.append(now - block_start)
                    block_start = now
                    if now > deadline and run.turns < turns:
                        run.capped = True
                        break
            run.rss_kib = vm_kib("VmRSS")
            run.peak_kib = vm_kib("VmHWM")
    return run


async def measure(quick: bool) -> list[Row]:
    run = await append_turns(TURNS, budget_s=60 if quick else 900)
    blocks = run.block_seconds
    per_turn = [b / BLOCK * 1000 for b in blocks]
    scope = f"{run.turns} turns" + (" (stopped by the --quick time cap)" if run.capped else "")
    scope += "; per 100: " + " ".join(f"{ms:.0f}" for ms in per_turn)
    ratio = blocks[-1] / blocks[0] if len(blocks) >= 2 else None
    return [
        info("append_1000.first_100", per_turn[0] if per_turn else None, "ms/turn", "user + tool + answer, until painted"),
        info("append_1000.last_100", per_turn[-1] if per_turn else None, "ms/turn", scope),
        at_most("append_1000.ratio", ratio, "x", RATIO_TARGET, "last 100 / first 100"),
        below("append_1000.rss", run.rss_kib / 1024, "MB", RSS_TARGET_MB,
              f"VmRSS after {run.turns} turns; peak {run.peak_kib / 1024:.0f} MB (whole benchmark process)"),  # fmt: skip
    ]
