"""/model, /approvals and /sandbox: a picker when typed bare, the argument form as before.

Every change goes to the engine as one `OverrideSettings` op (appended to the history before
the next request, never rewritten). `never` and `danger-full-access` are confirmed first, however
they were chosen. A choice picked with Ctrl+S is also saved in config.toml (config_edit.py:
comments and layout kept, 0600, atomic); a failed save leaves the session's change in place and
says why.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, cast, get_args

from textual.app import App

from tui import protocol as ev
from tui.app.screens.confirm import ConfirmScreen
from tui.app.screens.picker import Choice, Picked, PickerScreen
from tui.engine.model_switch import effort_of
from tui.engine.models import listed_models, model_info, supports_reasoning

if TYPE_CHECKING:
    from tui.app.screens.session import SessionScreen

APPROVAL_POLICIES: tuple[str, ...] = get_args(ev.ApprovalPolicy)
SANDBOX_MODES: tuple[str, ...] = get_args(ev.SandboxMode)
EFFORTS: tuple[str, ...] = get_args(ev.ReasoningEffort)
MAX_MODEL_NAME = 200

APPROVAL_CHOICES = [
    Choice("untrusted", "untrusted", "ask before every command that is not known read-only, and every edit"),
    Choice("on-request", "on-request", "run in the sandbox; the model asks when it needs more"),
    Choice("on-failure", "on-failure", "run in the sandbox; ask to run outside when the sandbox refuses"),
    Choice("never", "never", "never ask: commands and edits run without your approval"),
]
SANDBOX_CHOICES = [
    Choice("read-only", "read-only", "commands may read files, write nothing, no network"),
    Choice("workspace-write", "workspace-write", "commands may write in the folder (and writable_roots), no network"),
    Choice("danger-full-access", "danger-full-access", "no sandbox: commands can do anything your user can"),
]
EFFORT_CHOICES = [
    Choice("none", "none", "no reasoning (models that allow it)"),
    Choice("minimal", "minimal", "fastest"),
    Choice("low", "low", "quick answers"),
    Choice("medium", "medium", "the usual default"),
    Choice("high", "high", "harder problems, slower"),
    Choice("xhigh", "xhigh", "the most thinking (models that allow it)"),
]
WARNINGS = {
    "never": (
        "Approvals `never`: codeloop will not ask before running the model's commands or applying "
        "its edits. The sandbox still applies. Switch to never?"
    ),
    "danger-full-access": (
        "Sandbox `danger-full-access`: the model's commands run with no sandbox. They can read and "
        "change any file your user can (your keys, other projects) and use the network. Switch?"
    ),
}
DEFAULT_EFFORT = "medium"

Say = Callable[[str, str], Awaitable[None]]


def window_text(window: int | None) -> str:
    return f"{window:,} tokens" if window else "context window unknown"


def model_choices(current: str) -> list[Choice]:
    rows = [
        Choice(m.name, m.name, f"{window_text(m.context_window)} · {'reasoning effort' if m.reasoning else 'no reasoning'}")
        for m in listed_models()
    ]
    if current not in {c.id for c in rows}:
        info = model_info(current)
        detail = f"{window_text(info.context_window)} · {'reasoning effort' if info.reasoning else 'no reasoning'}" if info else "not in codeloop's model table"
        rows.insert(0, Choice(current, current, detail))
    return rows


class SettingsCommands:
    def __init__(self, screen: SessionScreen, app: App[None], say: Say, config_file: Path | None) -> None:
        """`config_file`: where "save as default" writes (None: saving is unavailable)."""
        self.screen = screen
        self.app = app
        self._say = say
        self.config_file = config_file

    # ------------------------------------------------------------------ /model

    async def model(self, arg: str) -> None:
        if not arg:
            current = self.screen.session.settings.model
            self._pick(f"Model (now {current})", model_choices(current), current, self._model_picked)
            return
        name, _, effort = arg.partition(" ")
        effort = effort.strip()
        if effort and effort not in EFFORTS:
            await self._say(f"/model: unknown reasoning effort {effort!r}; use one of {' | '.join(EFFORTS)}.", "warning")
        elif len(name) > MAX_MODEL_NAME or not name.isprintable():
            await self._say("/model: that is not a model name.", "warning")
        elif effort and (info := model_info(name)) is not None and not info.reasoning:
            await self._say(f"/model: {name} takes no reasoning effort; nothing changed. Try /model {name}.", "warning")
        elif model_info(name) is None and self.provider_is_openai():
            known = ", ".join(m.name for m in listed_models())
            await self._say(
                f"/model: unknown model {name!r}; nothing changed. Known: {known} (or a dated or suffixed "
                "slug of one, e.g. gpt-5.1-codex).", "warning",
            )
        else:
            await self._set_model(name, cast(ev.ReasoningEffort, effort) if effort else None, save=False)

    def provider_is_openai(self) -> bool:
        """The OpenAI API itself: another provider (a Chat Completions server, a custom base_url)
        may serve any model name, so there an unknown name is accepted with a warning."""
        from tui.config import DEFAULT_OPENAI_BASE_URL

        session = self.screen.session
        o = session.options
        base = session.client.base_url.rstrip("/")
        return o.provider_id == "openai" and o.wire_api == "responses" and base == DEFAULT_OPENAI_BASE_URL

    async def _model_picked(self, picked: Picked) -> None:
        if not supports_reasoning(picked.id):
            await self._set_model(picked.id, None, save=picked.save)
            return
        current = effort_of(self.screen.session.options) or DEFAULT_EFFORT

        async def effort_picked(second: Picked) -> None:
            await self._set_model(picked.id, cast(ev.ReasoningEffort, second.id), save=picked.save or second.save)

        self._pick(f"Reasoning effort for {picked.id} (now {current})", EFFORT_CHOICES, current, effort_picked)

    async def _set_model(self, model: str, effort: ev.ReasoningEffort | None, *, save: bool) -> None:
        session = self.screen.session
        await session.submit(ev.OverrideSettings(model=model, effort=effort))
        self.screen.show_settings()
        self.screen.budget.set_limits(session.context_window, session.auto_compact_limit)
        with_effort = f" with {effort} reasoning effort" if effort else ""
        await self._say(f"model set to {model}{with_effort}; the model is told with your next message.", "info")
        if model_info(model) is None:
            window = session.context_window
            await self._say(
                f"{model} is not in codeloop's model table: the configured context window ({window:,} tokens) stays."
                if window else
                f"{model} is not in codeloop's model table: its context window is unknown, so the budget "
                "shows no limit and nothing is compacted automatically (set model_context_window to fix that).",
                "warning",
            )
        if save:
            values = {"model": model} | ({"model_reasoning_effort": effort} if effort else {})
            await self._save(values)

    # ------------------------------------------------------------------ /approvals, /sandbox

    async def approvals(self, arg: str) -> None:
        current = self.screen.session.settings.approval_policy
        await self._policy("/approvals", arg, APPROVAL_POLICIES, APPROVAL_CHOICES, current)

    async def sandbox(self, arg: str) -> None:
        current = self.screen.session.settings.sandbox.mode
        await self._policy("/sandbox", arg, SANDBOX_MODES, SANDBOX_CHOICES, current)

    async def _policy(self, name: str, arg: str, allowed: tuple[str, ...], choices: list[Choice], current: str) -> None:
        if not arg:
            title = f"{'Approval policy' if name == '/approvals' else 'Sandbox'} (now {current})"

            async def picked(p: Picked) -> None:
                await self._confirm_then_set(name, p.id, p.save)

            self._pick(title, choices, current, picked)
        elif arg not in allowed:
            await self._say(f"{name} needs {' | '.join(allowed)}; nothing changed.", "warning")
        else:
            await self._confirm_then_set(name, arg, save=False)

    async def _confirm_then_set(self, name: str, value: str, save: bool) -> None:
        if name == "/sandbox" and value != "danger-full-access":
            from tui.safety.sandbox import bwrap_problem

            # As at start-up: a sandboxed mode without a working bwrap is refused, never run
            # unsandboxed, and refused now rather than at the first command.
            problem = await asyncio.to_thread(bwrap_problem)
            if problem:
                await self._say(f"/sandbox {value}: the sandbox cannot run here, nothing changed. {problem}", "error")
                return
        session = self.screen.session
        now = session.settings.approval_policy if name == "/approvals" else session.settings.sandbox.mode
        warning = WARNINGS.get(value) if value != now else None
        if warning is None:
            await self._set_policy(name, value, save)
            return

        async def answered(yes: bool | None) -> None:
            if yes:
                await self._set_policy(name, value, save)
            else:
                await self._say(f"{name[1:]} unchanged.", "info")

        self.app.push_screen(ConfirmScreen(warning, type_ahead=self.screen.type_ahead), callback=answered)

    async def _set_policy(self, name: str, value: str, save: bool) -> None:
        if name == "/approvals":
            op = ev.OverrideSettings(approval_policy=cast(ev.ApprovalPolicy, value))
            key = "approval_policy"
        else:
            op = ev.OverrideSettings(sandbox_mode=cast(ev.SandboxMode, value))
            key = "sandbox_mode"
        await self.screen.session.submit(op)
        self.screen.show_settings()
        await self._say(f"{name[1:]} set to {value}; the model is told with your next message.", "info")
        if save:
            await self._save({key: value})

    # ------------------------------------------------------------------ shared

    def _pick(self, title: str, choices: list[Choice], current: str, then: Callable[[Picked], Awaitable[None]]) -> None:
        async def chosen(picked: Picked | None) -> None:
            if picked is not None:
                await then(picked)

        screen = PickerScreen(title, choices, current, can_save=self.config_file is not None)
        self.app.push_screen(screen, callback=chosen)

    async def _save(self, values: dict[str, str]) -> None:
        from tui.config_edit import ConfigEditError, save_top_level

        path = self.config_file
        if path is None:
            await self._say("Saving is not available here (no codeloop home).", "warning")
            return
        try:
            shadowed = await asyncio.to_thread(save_top_level, path, values)
        except (ConfigEditError, OSError) as e:
            await self._say(f"Not saved: {e}. The session uses the new setting anyway.", "error")
            return
        shown = ", ".join(f'{k} = "{v}"' for k, v in values.items())
        await self._say(f"Saved as the default in {path}: {shown}.", "info")
        if shadowed:
            await self._say(
                f"Your default profile also sets {', '.join(shadowed)}, and the profile wins: change it there "
                "to make this the default.", "warning",
            )
