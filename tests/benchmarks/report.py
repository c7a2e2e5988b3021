"""Rows of the results table, the few statistics the benchmarks share, and the printout."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Row:
    name: str
    figure: float | None  # None when the measurement could not be taken
    unit: str
    target: str = ""  # human-readable, e.g. "≤ 100"; empty for an informational row
    met: bool | None = None  # None for an informational row
    note: str = ""


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least p% of samples at or below it,
    so a p95 of 40 samples is a sample that was really observed (no interpolation)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def at_most(name: str, figure: float | None, unit: str, limit: float, note: str = "") -> Row:
    met = None if figure is None else figure <= limit
    return Row(name, figure, unit, f"≤ {_fmt(limit)}", met, note)


def below(name: str, figure: float | None, unit: str, limit: float, note: str = "") -> Row:
    met = None if figure is None else figure < limit
    return Row(name, figure, unit, f"< {_fmt(limit)}", met, note)


def info(name: str, figure: float | None, unit: str, note: str = "") -> Row:
    return Row(name, figure, unit, "", None, note)


def vm_kib(field: str) -> int:
    """A `Vm*` field of /proc/self/status in KiB (VmRSS now, VmHWM the peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value == 0 or abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(rows: Sequence[Row]) -> str:
    header = ("benchmark", "figure", "unit", "target", "met?")
    cells = [
        (r.name, _fmt(r.figure), r.unit, r.target or "(info)", {True: "yes", False: "NO", None: "-"}[r.met])
        for r in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)] if cells else [len(h) for h in header]
    aligns = ("<", ">", "<", "<", "<")
    lines = ["  ".join(f"{h:{a}{w}}" for h, a, w in zip(header, aligns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for cell, row in zip(cells, rows, strict=True):
        line = "  ".join(f"{c:{a}{w}}" for c, a, w in zip(cell, aligns, widths, strict=True))
        lines.append(line + (f"  {row.note}" if row.note else ""))
    return "\n".join(lines)
