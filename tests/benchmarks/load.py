"""`--load`: the machine a developer really has — busy with a build, the tests, an indexer.

The workload is fixed so that runs compare: one CPU-bound process per core (a pure-Python
busy loop, `while True: pass`, at normal priority), started before a measurement and stopped
after it. Each benchmark runs twice, idle then loaded, and the table shows both columns; a
target is met only when it holds in both.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from tests.benchmarks.report import Row, _fmt

BUSY_LOOP = "while True: pass"
WARM_UP_S = 0.5  # the spinners are on their cores before the measurement starts


def spinner_count() -> int:
    return os.cpu_count() or 1


@contextmanager
def cpu_load(count: int | None = None) -> Iterator[list[subprocess.Popen[bytes]]]:
    """One busy process per core (or `count`) for the duration of the block."""
    spinners = [
        subprocess.Popen([sys.executable, "-c", BUSY_LOOP], stdin=subprocess.DEVNULL)
        for _ in range(count if count is not None else spinner_count())
    ]
    try:
        time.sleep(WARM_UP_S)
        yield spinners
    finally:
        for proc in spinners:
            proc.kill()
        for proc in spinners:
            proc.wait()


def paired_table(idle: Sequence[Row], loaded: Sequence[Row]) -> str:
    """Rows of the idle and the loaded run side by side, matched by name (in the idle run's order)."""
    by_name = {row.name: row for row in loaded}
    names = [row.name for row in idle] + [row.name for row in loaded if row.name not in {r.name for r in idle}]
    idle_by_name = {row.name: row for row in idle}
    header = ("benchmark", "idle", "loaded", "unit", "target", "met?")
    cells: list[tuple[str, ...]] = []
    notes: list[str] = []
    for name in names:
        a, b = idle_by_name.get(name), by_name.get(name)
        some = a or b
        assert some is not None
        verdicts = [r.met for r in (a, b) if r is not None]
        if any(v is None for v in verdicts) or not verdicts:
            met = "-"
        else:
            met = "yes" if all(verdicts) and len(verdicts) == 2 else ("NO" if not all(verdicts) else "half")
        cells.append((
            name, _fmt(a.figure if a else None), _fmt(b.figure if b else None), some.unit,
            some.target or "(info)", met,
        ))  # fmt: skip
        idle_note, loaded_note = (a.note if a else ""), (b.note if b else "")
        notes.append(idle_note if idle_note == loaded_note else " | ".join(n for n in (idle_note, loaded_note) if n))
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)] if cells else [len(h) for h in header]
    aligns = ("<", ">", ">", "<", "<", "<")
    lines = ["  ".join(f"{h:{al}{w}}" for h, al, w in zip(header, aligns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for cell, note in zip(cells, notes, strict=True):
        line = "  ".join(f"{c:{al}{w}}" for c, al, w in zip(cell, aligns, widths, strict=True))
        lines.append(line + (f"  {note}" if note else ""))
    return "\n".join(lines)


NOTE = f"""\
- --load: each benchmark runs idle, then beside one `python -c "{BUSY_LOOP}"` per core ({spinner_count()} here,
  normal priority, started {WARM_UP_S} s before the measurement); 'met?' is yes only when both columns meet it."""
