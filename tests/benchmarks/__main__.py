"""`python -m tests.benchmarks [--quick] [--only NAME]`: run the benchmarks, print one table."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import platform
import pstats
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import textual

from tests.benchmarks import (
    append,
    load,
    codex_compare,
    context,
    soak,
    startup,
    stream,
    tools_bench,
)
from tests.benchmarks.report import Row, table

Benchmark = Callable[[bool], list[Row]]

BENCHMARKS: dict[str, Benchmark] = {
    "version": startup.measure_version,
    "first_frame": startup.measure_first_frame,
    "stream_5000": lambda quick: asyncio.run(stream.measure(quick, typed=False)),
    "keystroke_latency": lambda quick: asyncio.run(stream.measure(quick, plain=False)),
    "append_1000": lambda quick: asyncio.run(append.measure(quick)),
    "context": context.measure_context,
    "resume": context.measure_resume,
    "apply_patch_20k": tools_bench.measure_apply_patch,
    "sandbox": tools_bench.measure_sandbox,
    "token_estimate": tools_bench.measure_token_estimate,
    "soak": soak.measure,
    "codex": codex_compare.measure,
}

# These time a child process; profiling the benchmark itself would show only waiting.
IN_CHILD = {"version", "first_frame", "soak", "codex", "apply_patch_20k"}
CHILD_PROFILE_HINT = (
    "runs codeloop in a child process; profile that instead: `python -X importtime -m tui --version`, or "
    "`python -m cProfile -o start.prof $(which codeloop) ...` in tmux, quitting with ctrl+q"
)

NOTES = f"""\
Notes
- Medians where runs are cheap; --quick runs each stream once and caps append_1000 at ~60 s.
- Relative targets use a baseline measured in this same run.
- stream_5000: the fake server streams from its own process; 'on screen' means in a frame the app
  composed (headless, so the escape-sequence write and the terminal itself are not included).
{stream.NOTE}
{context.NOTE}
{soak.NOTE}
{codex_compare.NOTE}"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions; the whole run takes ~2 minutes")
    parser.add_argument("--only", choices=list(BENCHMARKS), action="append", metavar="NAME",
                        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}")  # fmt: skip
    parser.add_argument("--load", action="store_true",
                        help="run each benchmark twice, idle and beside one busy process per core; show both columns")  # fmt: skip
    parser.add_argument("--profile", action="store_true",
                        help="run each benchmark under cProfile; print its hottest functions, keep the .prof")  # fmt: skip
    args = parser.parse_args(argv)
    names = args.only or list(BENCHMARKS)
    print(
        f"codeloop benchmarks{' (--quick)' if args.quick else ''}: Python {platform.python_version()}, "
        f"Textual {textual.__version__}, {os.cpu_count()} CPUs, load average {_load()} at start",
        flush=True,
    )
    rows: list[Row] = []
    loaded_rows: list[Row] = []
    profiles: list[str] = []
    started = time.monotonic()
    for name in names:
        for under_load in (False, True) if args.load else (False,):
            t0 = time.monotonic()
            print(f"  {name}{' (loaded)' if under_load else ''} ...", end="", flush=True)
            profile = args.profile and not under_load
            if under_load:
                with load.cpu_load():
                    loaded_rows += _run_one(name, args.quick, profile, profiles)
            else:
                rows += _run_one(name, args.quick, profile, profiles)
            print(f" {time.monotonic() - t0:.0f} s", flush=True)
    print()
    print(load.paired_table(rows, loaded_rows) if args.load else table(rows))
    judged = [r for r in rows + loaded_rows if r.met is not None]
    print(
        f"\n{sum(bool(r.met) for r in judged)} of {len(judged)} targets met"
        f"{' (idle and loaded counted apart)' if args.load else ''}; {time.monotonic() - started:.0f} s "
        f"in all; load average {_load()} at the end.\n"
    )
    print(NOTES + ("\n" + load.NOTE if args.load else ""))
    for text in profiles:
        print("\n" + text)
    return 0


def _run_one(name: str, quick: bool, profile: bool, profiles: list[str]) -> list[Row]:
    profiler = cProfile.Profile() if profile and name not in IN_CHILD else None
    try:
        if profiler is not None:
            profiler.enable()
        return BENCHMARKS[name](quick)
    except Exception as exc:  # one broken benchmark must not hide the others' figures
        traceback.print_exc(file=sys.stderr)
        return [Row(name, None, "", "", False, f"FAILED: {type(exc).__name__}: {exc}")]
    finally:
        if profiler is not None:
            profiler.disable()
            profiles.append(_hottest(name, profiler))
        elif profile:
            profiles.append(f"{name}: {CHILD_PROFILE_HINT}")


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _hottest(name: str, profiler: cProfile.Profile) -> str:
    """Top functions by own time; figures are inflated by cProfile, the ranking is what counts."""
    path = Path(tempfile.gettempdir()) / f"codeloop-bench-{name}.prof"
    profiler.dump_stats(path)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
    body = out.getvalue().split("\n", 5)[-1].rstrip()  # drop pstats' preamble
    return f"{name}: hottest by own time (full profile: {path})\n{body}"


if __name__ == "__main__":
    sys.exit(main())
