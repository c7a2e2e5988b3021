"""codex: codeloop and the real Codex CLI on the same scripted tasks against the same local server.

Codex is installed from the npm registry (`npm install @openai/codex@CODEX_VERSION`) into
~/.cache/codeloop-bench/codex (or taken from $CODEX_BIN) and pointed at the fake server through a
custom provider in a CODEX_HOME outside /tmp. The native binary is run directly, without the npm
package's Node launcher, so Codex is measured at its fastest. Both run their `exec` mode with
workspace-write sandboxing and no approvals, in a fresh git workspace per run.

The model is a script that reads each request: it finds the shell tool (Codex's `exec_command`,
codeloop's `shell`) and the patch tool (freeform or JSON) in the request's `tools`, and answers
step k of the task when the request carries k tool outputs. Each run's files are checked after it,
so both did the same work.

Figures per task, medians of interleaved runs: whole-process wall time, peak memory (the largest
resident set in the process tree, from wait4), tokens of the first
request's prompt (instructions + tools JSON + input texts, one tokenizer for both) and prefix-cache
breaks (a request whose instructions or tools differ from the previous one's, or whose input does
not start with the previous input).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.benchmarks.report import Row, at_most, info
from tui.fakeserver import FakeOpenAI
from tui.fakeserver import events as fe

CODEX_VERSION = os.environ.get("CODEX_VERSION", "0.169.0")
CACHE = Path.home() / ".cache" / "codeloop-bench"
CODELOOP = Path(sys.executable).parent / "codeloop"
MODEL = "gpt-5.5"
WALL_RATIO, MEMORY_RATIO, PROMPT_RATIO = 1.0, 0.6, 0.6
RUN_TIMEOUT_S = 300

NOTE = """\
- codex: the real Codex CLI (native binary, no Node launcher) and `codeloop exec`, both
  `-m gpt-5.5 -s workspace-write` with no approvals, on the same scripted tasks against the same
  fake server; memory is the peak RSS of the largest process in each tree (wait4's ru_maxrss); prompt tokens counted
  with one tokenizer for both; a cache break is a request that does not extend the previous one."""


# --- the tasks -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    shell: str | None = None  # a command line
    patch: str | None = None  # an apply_patch body


@dataclass(frozen=True)
class Task:
    name: str
    prompt: str
    files: dict[str, str]
    steps: tuple[Step, ...]
    expect: dict[str, str]  # files after the run


def _patch_add_line(path: str, before: str, added: str) -> str:
    return f"*** Begin Patch\n*** Update File: {path}\n@@\n {before}\n+{added}\n*** End Patch\n"


EDIT = Task(
    name="edit",
    prompt="Make hello.py greet the world.",
    files={"hello.py": 'print("hello")\n'},
    steps=(
        Step(shell="cat hello.py"),
        Step(patch='*** Begin Patch\n*** Update File: hello.py\n@@\n-print("hello")\n+print("hello, world")\n*** End Patch\n'),
    ),
    expect={"hello.py": 'print("hello, world")\n'},
)


def _forty() -> Task:
    files = {f"notes/n{j}.txt": f"note {j}\n" + "".join(f"line {k}\n" for k in range(50)) for j in range(10)}
    steps: list[Step] = []
    expect = dict(files)
    for i in range(40):
        j = i // 4
        if i % 4 == 3:
            steps.append(Step(patch=_patch_add_line(f"notes/n{j}.txt", "line 49", f"checked {j}")))
            expect[f"notes/n{j}.txt"] = files[f"notes/n{j}.txt"] + f"checked {j}\n"
        else:
            steps.append(Step(shell=("wc -l notes/n{j}.txt", "grep -c line notes/n{j}.txt", "head -n 3 notes/n{j}.txt")[i % 4].format(j=j)))
    return Task("calls40", "Check every note and mark it checked.", files, tuple(steps), expect)


TASKS = (EDIT, _forty())


class Script:
    """The scripted model: step k answers a request that carries k tool outputs."""

    def __init__(self, task: Task) -> None:
        self.task = task

    def __call__(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        done = sum(1 for item in body["input"] if str(item.get("type", "")).endswith("_call_output"))
        if done >= len(self.task.steps):
            return fe.turn(fe.message_item("Done: all steps ran."))
        step = self.task.steps[done]
        call_id = f"call_{done:03d}"
        tools = {t.get("name"): t for t in body.get("tools", []) if t.get("type") in ("function", "custom")}
        if step.shell is not None:
            if "exec_command" in tools:
                return fe.turn(fe.function_call_item(call_id, "exec_command", json.dumps({"cmd": step.shell})))
            return fe.turn(fe.function_call_item(call_id, "shell", json.dumps({"command": ["bash", "-lc", step.shell]})))
        assert step.patch is not None
        if tools.get("apply_patch", {}).get("type") == "custom":
            return fe.turn(fe.custom_tool_call_item(call_id, "apply_patch", step.patch))
        return fe.turn(fe.function_call_item(call_id, "apply_patch", json.dumps({"input": step.patch})))


# --- the two programs ----------------------------------------------------------------------------


def codex_binary() -> Path:
    """Codex's native binary: $CODEX_BIN, else installed from npm into the bench cache."""
    if os.environ.get("CODEX_BIN"):
        return Path(os.environ["CODEX_BIN"])
    prefix = CACHE / f"codex-{CODEX_VERSION}"
    found = sorted(prefix.glob("node_modules/@openai/codex-linux-*/vendor/*/bin/codex"))
    if not found:
        if shutil.which("npm") is None:
            raise RuntimeError("npm is not installed; set CODEX_BIN to a codex binary")
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(prefix), f"@openai/codex@{CODEX_VERSION}"],
            check=True, capture_output=True, timeout=600,
        )  # fmt: skip
        found = sorted(prefix.glob("node_modules/@openai/codex-linux-*/vendor/*/bin/codex"))
    if not found:
        raise RuntimeError(f"npm installed @openai/codex@{CODEX_VERSION} but no native binary for this platform")
    return found[0]


def codex_home(root: Path, base_url: str, projects: list[Path]) -> Path:
    home = root / "codex-home"
    home.mkdir(exist_ok=True)
    trusted = "".join(f'[projects."{p}"]\ntrust_level = "trusted"\n' for p in projects)
    (home / "config.toml").write_text(
        'model_provider = "bench"\n'
        "check_for_update_on_startup = false\n"
        "[analytics]\nenabled = false\n"
        "[model_providers.bench]\n"
        'name = "bench"\n'
        f'base_url = "{base_url}"\n'
        'wire_api = "responses"\n'
        'env_key = "BENCH_API_KEY"\n'
        "request_max_retries = 0\n"
        "stream_max_retries = 0\n" + trusted
    )
    return home


def make_workspace(path: Path, files: dict[str, str]) -> Path:
    path.mkdir(parents=True)
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=path, check=True)
    subprocess.run([*git, "add", "-A"], cwd=path, check=True)
    subprocess.run([*git, "commit", "-qm", "start"], cwd=path, check=True)
    return path


# --- measuring -----------------------------------------------------------------------------------


@dataclass
class Run:
    wall_s: float
    peak_kib: int
    bodies: list[dict[str, Any]]


# Started by the benchmark, it starts the program: a process forked from the ~100 MB benchmark
# would carry the benchmark's own resident set into ru_maxrss; one forked from this ~8 MB
# launcher carries only that.
LAUNCHER = """\
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_program(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, int]:
    """Wall seconds and peak memory (KiB) of one whole process run.

    Peak memory is the kernel's own figure, the maximum resident set of the process and every
    descendant it waited for (wait4's ru_maxrss): exact, and free of the races of polling /proc
    (a vfork()ed child shows its parent's pages until it execs). Both programs' helpers are small
    (Codex's sandbox helper ~10 MB, bwrap ~2 MB), so the main process is the figure."""
    with tempfile.TemporaryDirectory() as tmp:
        report, log = Path(tmp) / "maxrss", Path(tmp) / "log"
        with log.open("wb") as out:
            start = time.monotonic()
            done = subprocess.run(
                [sys.executable, "-S", "-c", LAUNCHER, str(report), *command],
                env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, timeout=RUN_TIMEOUT_S,
            )  # fmt: skip
            wall = time.monotonic() - start
        if done.returncode != 0:
            tail = log.read_text(errors="replace")[-1500:]
            raise RuntimeError(f"{Path(command[0]).name} exited {done.returncode}: {tail}")
        return wall, int(report.read_text())


def one_run(program: str, task: Task, root: Path, codex: Path | None) -> Run:
    workspace = make_workspace(root / f"{program}-{task.name}-{time.monotonic_ns()}", task.files)
    with FakeOpenAI() as server:
        for _ in range(len(task.steps) + 1):
            server.queue_handler(Script(task))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CODEX_", "CODELOOP_"))}
        env["BENCH_API_KEY"] = "sk-bench"
        if program == "codex":
            assert codex is not None
            env["CODEX_HOME"] = str(codex_home(root, server.base_url, [workspace]))
            command = [str(codex), "exec", "-m", MODEL, "-s", "workspace-write", "-C", str(workspace), task.prompt]
        else:
            env["CODELOOP_HOME"] = str(root / "codeloop-home")
            command = [
                str(CODELOOP), "exec", "-m", MODEL, "-a", "never", "-s", "workspace-write", "-C", str(workspace),
                "-c", 'model_provider="bench"',
                "-c", f'model_providers.bench.base_url="{server.base_url}"',
                "-c", 'model_providers.bench.env_key="BENCH_API_KEY"',
                task.prompt,
            ]  # fmt: skip
        wall, peak = run_program(command, env, workspace)
        bodies = server.responses_bodies()
    for name, text in task.expect.items():
        got = (workspace / name).read_text()
        if got != text:
            raise AssertionError(f"{program} {task.name}: {name} is {got!r}, expected {text!r}")
    if len(bodies) != len(task.steps) + 1:
        raise AssertionError(f"{program} {task.name}: {len(bodies)} requests, expected {len(task.steps) + 1}")
    shutil.rmtree(workspace, ignore_errors=True)
    return Run(wall, peak, bodies)


def prompt_tokens(body: dict[str, Any], count: Callable[[str], int]) -> int:
    total = count(body.get("instructions") or "") + count(json.dumps(body.get("tools", []), separators=(",", ":")))
    for item in body["input"]:
        content = item.get("content")
        if isinstance(content, str):
            total += count(content)
        elif isinstance(content, list):
            total += sum(count(part.get("text", "")) for part in content if isinstance(part, dict))
    return total


def cache_breaks(bodies: list[dict[str, Any]]) -> int:
    def canon(value: Any) -> str:
        return json.dumps(value, sort_keys=True, separators=(",", ":"))

    breaks = 0
    for before, after in zip(bodies, bodies[1:]):
        same_head = canon(before.get("instructions")) == canon(after.get("instructions")) and canon(
            before.get("tools")
        ) == canon(after.get("tools"))
        old, new = before["input"], after["input"]
        extends = len(new) >= len(old) and all(canon(a) == canon(b) for a, b in zip(old, new))
        breaks += not (same_head and extends)
    return breaks


def _counter() -> tuple[Callable[[str], int], str]:
    from tui.engine.tokens import TokenCounter

    counter = TokenCounter(MODEL)
    return counter.count_text, counter.encoding_name


def measure(quick: bool) -> list[Row]:
    runs = 3 if quick else 5
    try:
        codex = codex_binary()
        version = subprocess.run([str(codex), "--version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        return [info("codex.unavailable", 0, "", f"Codex CLI not measured: {exc}")]
    count, encoding = _counter()
    rows: list[Row] = [info("codex.version", 0, "", f"{version} ({codex.name} native binary), tokens by {encoding}")]
    root = CACHE / f"run-{os.getpid()}"  # CODEX_HOME must not be under /tmp
    root.mkdir(parents=True, exist_ok=True)
    try:
        for task in TASKS:
            one_run("codex", task, root, codex)  # warm the file cache for both
            one_run("codeloop", task, root, codex)
            results: dict[str, list[Run]] = {"codeloop": [], "codex": []}
            for _ in range(runs):  # interleaved, so a noisy moment hits both
                for program in results:
                    results[program].append(one_run(program, task, root, codex))
            mine, theirs = results["codeloop"], results["codex"]
            wall = [statistics.median(r.wall_s for r in rs) for rs in (mine, theirs)]
            peak = [statistics.median(r.peak_kib for r in rs) / 1024 for rs in (mine, theirs)]
            tokens = [prompt_tokens(rs[0].bodies[0], count) for rs in (mine, theirs)]
            breaks = [max(cache_breaks(r.bodies) for r in rs) for rs in (mine, theirs)]
            label = f"codex.{task.name}"
            calls = len(task.steps)
            rows += [
                info(f"{label}.wall", wall[0] * 1000, "ms", f"codeloop; Codex {wall[1] * 1000:.0f} ms; {calls} calls, median of {runs}"),
                at_most(f"{label}.wall_ratio", wall[0] / wall[1], "x", WALL_RATIO, "codeloop / Codex, whole process"),
                info(f"{label}.memory", peak[0], "MB", f"codeloop peak RSS; Codex {peak[1]:.0f} MB"),
                at_most(f"{label}.memory_ratio", peak[0] / peak[1], "x", MEMORY_RATIO, "codeloop / Codex, peak"),
                at_most(f"{label}.breaks", breaks[0], "", 0, f"codeloop cache breaks over {calls + 1} requests; Codex {breaks[1]}"),
            ]
            if task is TASKS[0]:
                rows += [
                    info("codex.first_prompt", tokens[0], "tok", f"codeloop; Codex {tokens[1]} tokens"),
                    at_most("codex.first_prompt_ratio", tokens[0] / tokens[1], "x", PROMPT_RATIO, "codeloop / Codex"),
                ]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return rows
