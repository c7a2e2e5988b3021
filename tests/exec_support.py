"""Drive the real `codeloop exec` process against the local fake server.

`run_exec` runs one exec process; `attack` scripts a hostile model — one response per tool call,
then a closing message — and returns what each call's output told the model, so an adversarial
test reads: the calls the model made, the policy, and what must hold afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.fakeopenai import FakeOpenAI
from tests.fakeopenai import events as fe

Item = list[dict[str, Any]]

BUGGY_CALC = "def add(a, b):\n    return a - b\n"


def exec_workspace(tmp_path: Path, calc: str = BUGGY_CALC) -> tuple[Path, Path]:
    """A folder holding `calc.py` for exec to work in, and a CODELOOP_HOME beside it (not made)."""
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "calc.py").write_text(calc)
    return ws, tmp_path / "home"


def run_exec(
    fake: FakeOpenAI,
    cwd: Path,
    home: Path,
    *args: str,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """`python -m tui exec ARGS` in `cwd` with CODELOOP_HOME=`home`, pointed at `fake`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CODELOOP_"))}
    base.update({"CODELOOP_HOME": str(home), "OPENAI_BASE_URL": fake.base_url, "OPENAI_API_KEY": "test-key"})
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "tui", "exec", *args],
        cwd=cwd, env=base, input=stdin, capture_output=True, text=True, timeout=timeout,
    )


def start_exec(fake: FakeOpenAI, cwd: Path, home: Path, *args: str, **popen: Any) -> subprocess.Popen[str]:
    """`codeloop exec` as a real process, as run_exec runs it, not waited for."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CODELOOP_"))}
    env.update({"CODELOOP_HOME": str(home), "OPENAI_BASE_URL": fake.base_url, "OPENAI_API_KEY": "test-key"})
    return subprocess.Popen(
        [sys.executable, "-m", "tui", "exec", *args], cwd=cwd, env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen,
    )  # fmt: skip


def shell(call_id: str, command: list[str] | str, **extra: Any) -> Item:
    """A `shell` function call; a str command becomes `bash -lc COMMAND`."""
    argv = ["bash", "-lc", command] if isinstance(command, str) else command
    return fe.function_call_item(call_id, "shell", json.dumps({"command": argv, **extra}))


def patch(call_id: str, body: str) -> Item:
    """A freeform `apply_patch` call; `body` is wrapped in Begin/End Patch when it is not already."""
    if not body.startswith("*** Begin Patch"):
        body = f"*** Begin Patch\n{body.rstrip(chr(10))}\n*** End Patch\n"
    return fe.custom_tool_call_item(call_id, "apply_patch", body)


@dataclass
class Outcome:
    proc: subprocess.CompletedProcess[str]
    outputs: dict[str, str]
    """Each call's output as the model read it in the last request, by call id."""
    bodies: list[dict[str, Any]]

    def output(self, call_id: str) -> str:
        return self.outputs[call_id]


def attack(
    fake: FakeOpenAI,
    cwd: Path,
    home: Path,
    calls: list[Item],
    *flags: str,
    env: dict[str, str] | None = None,
    timeout: float = 90,
) -> Outcome:
    """A hostile model making `calls` one response at a time through `codeloop exec FLAGS`."""
    for call in calls:
        fake.queue_response(fe.turn(call))
    fake.queue_response(fe.turn(fe.message_item("done")))
    proc = run_exec(fake, cwd, home, *flags, "do the task", env=env, timeout=timeout)
    bodies = fake.responses_bodies()
    outputs: dict[str, str] = {}
    if bodies:
        for item in bodies[-1]["input"]:
            if item.get("type", "").endswith("_call_output"):
                out = item["output"]
                outputs[item["call_id"]] = out if isinstance(out, str) else json.dumps(out)
    return Outcome(proc, outputs, bodies)
