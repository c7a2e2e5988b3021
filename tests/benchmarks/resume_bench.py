"""Measure resume on a long session: `python -m tests.benchmarks.resume_bench [--mb 100] [--sessions 2000]`.

Not a test. Builds a rollout of about `--mb` megabytes shaped like a long real session (reasoning
with encrypted content, shell calls with large outputs, the matching exec events, usage events,
answers), then loads it in a fresh process and reports wall time and peak RSS, against the same
process's RSS before loading. Also times `list_sessions` over `--sessions` small rollouts.
"""

from __future__ import annotations

import argparse
import base64
import datetime as _dt
import json
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

CHILD = """
import resource, sys, time
from pathlib import Path
from tui.engine.resume import load_rollout
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
r = load_rollout(Path(sys.argv[1]))
dt = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(dt, base, peak, len(r.history), len(r.repaired))
"""


def _line(kind: str, payload: object) -> str:
    stamp = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")
    return json.dumps({"timestamp": stamp, "type": kind, "payload": payload}, ensure_ascii=False, separators=(",", ":")) + "\n"


def _msg(role: str, text: str) -> dict[str, object]:
    part = "output_text" if role == "assistant" else "input_text"
    return {"type": "message", "role": role, "content": [{"type": part, "text": text}]}


def build_rollout(path: Path, target_bytes: int, session_id: str, rng: random.Random) -> None:
    words = "the of and to in is that for it as with was on be by file test line error def return".split()

    def prose(n: int) -> str:
        return " ".join(rng.choice(words) for _ in range(n))

    with open(path, "w", encoding="utf-8") as f:
        f.write(_line("session_meta", {"id": session_id, "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(), "cwd": "/work/project", "model": "gpt-5.4", "instructions": prose(1500), "tools": [], "cli_version": "0.1", "model_provider": "openai", "wire_api": "responses"}))
        f.write(_line("response_item", _msg("developer", "<permissions instructions>\n" + prose(80) + "\n</permissions instructions>")))
        f.write(_line("response_item", _msg("user", "<environment_context>\n  <cwd>/work/project</cwd>\n</environment_context>")))
        f.write(_line("turn_context", {"model": "gpt-5.4", "approval_policy": "on-request", "sandbox_mode": "workspace-write", "cwd": "/work/project"}))
        turn, call = 0, 0
        while f.tell() < target_bytes:
            turn += 1
            f.write(_line("response_item", _msg("user", f"step {turn}: " + prose(40))))
            for _ in range(rng.randint(2, 8)):
                call += 1
                enc = base64.b64encode(rng.randbytes(rng.randint(600, 3000))).decode()
                f.write(_line("response_item", {"type": "reasoning", "summary": [{"type": "summary_text", "text": prose(30)}], "encrypted_content": enc}))
                args = json.dumps({"command": ["bash", "-lc", f"rg -n {rng.choice(words)} src | head -200"], "workdir": "/work/project"})
                f.write(_line("response_item", {"type": "function_call", "call_id": f"call_{call}", "name": "shell", "arguments": args}))
                out = "\n".join(f"src/mod{rng.randint(1, 90)}.py:{rng.randint(1, 900)}: {prose(10)}" for _ in range(rng.randint(5, 120)))
                f.write(_line("event_msg", {"type": "exec_command_ended", "call_id": f"call_{call}", "exit_code": 0, "duration_s": 0.1, "output": out}))
                f.write(_line("response_item", {"type": "function_call_output", "call_id": f"call_{call}", "output": f"Exit code: 0\nWall time: 0.1 seconds\nOutput:\n{out}"}))
                f.write(_line("event_msg", {"type": "token_usage", "input_tokens": 50_000, "cached_input_tokens": 48_000, "output_tokens": 300, "reasoning_tokens": 100, "total_tokens": 50_300}))
            f.write(_line("response_item", _msg("assistant", prose(rng.randint(40, 300)))))
            f.write(_line("event_msg", {"type": "turn_completed", "turn_id": f"turn-{turn}", "last_agent_message": "done"}))
        # Killed mid-turn: a call with no output, then a torn line.
        f.write(_line("response_item", {"type": "function_call", "call_id": "call_last", "name": "shell", "arguments": "{}"}))
        f.write(_line("response_item", _msg("assistant", prose(50)))[:40])


def build_tiny(path: Path, target_bytes: int, session_id: str) -> None:
    """The worst case for memory per byte: nothing but tiny call/output pairs, all in the history."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(_line("session_meta", {"id": session_id, "cwd": "/w", "instructions": "I", "tools": []}))
        n = 0
        while f.tell() < target_bytes:
            n += 1
            f.write(_line("response_item", {"type": "function_call", "call_id": f"c{n}", "name": "shell", "arguments": '{"command":["ls"]}'}))
            f.write(_line("response_item", {"type": "function_call_output", "call_id": f"c{n}", "output": "a.py b.py"}))


def build_many(home: Path, count: int, rng: random.Random) -> None:
    for n in range(count):
        when = _dt.datetime(2026, 1, 1) + _dt.timedelta(minutes=n)
        sid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        folder = home / "sessions" / f"{when:%Y}" / f"{when:%m}" / f"{when:%d}"
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"rollout-{when:%Y-%m-%dT%H-%M-%S}-{sid}.jsonl", "w", encoding="utf-8") as f:
            f.write(_line("session_meta", {"id": sid, "timestamp": when.replace(tzinfo=_dt.timezone.utc).isoformat(), "cwd": f"/work/p{n % 7}", "instructions": "x" * 20_000, "tools": []}))
            f.write(_line("response_item", _msg("developer", "<permissions instructions>\n...")))
            f.write(_line("response_item", _msg("user", "# AGENTS.md instructions for /w\n\n" + "y" * 8_000, )))
            f.write(_line("turn_context", {"model": "m", "approval_policy": "never", "sandbox_mode": "read-only", "cwd": "/w"}))
            f.write(_line("response_item", _msg("user", f"task number {n}")))
            for k in range(200):  # the rest of the session, never read by the listing
                f.write(_line("response_item", _msg("assistant", "z" * 500 + str(k))))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--sessions", type=int, default=2000)
    args = ap.parse_args()
    rng = random.Random(7)
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        for shape in ("realistic", "tiny"):
            path = Path(tmp) / f"rollout-{shape}.jsonl"
            if shape == "realistic":
                build_rollout(path, args.mb * 1_000_000, str(uuid.uuid4()), rng)
            else:
                build_tiny(path, args.mb * 1_000_000, str(uuid.uuid4()))
            print(f"{shape}: {path.stat().st_size / 1e6:.1f} MB rollout")
            for _ in range(3):
                out = subprocess.run([sys.executable, "-c", CHILD, str(path)], cwd=root, capture_output=True, text=True, check=True).stdout.split()
                dt, base, peak, items, repaired = float(out[0]), int(out[1]), int(out[2]), int(out[3]), int(out[4])
                print(f"  load_rollout: {dt:.2f}s, peak RSS {peak / 1024:.0f} MB (process before loading {base / 1024:.0f} MB), {items} items, {repaired} repaired")
            path.unlink()
        home = Path(tmp) / "home"
        build_many(home, args.sessions, rng)
        sys.path.insert(0, str(root))
        from tui.engine.resume import list_sessions

        for _ in range(2):
            t = time.perf_counter()
            infos = list_sessions(home)
            print(f"list_sessions: {len(infos)} sessions in {time.perf_counter() - t:.2f}s (first: {infos[0].first_message!r})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
