"""Start the interactive app: configuration → session → Textual app (or the scripted demo)."""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.engine.resume import ResumeRequest
    from tui.engine.session import Session


def run_resume(args: argparse.Namespace) -> int:
    """`codeloop resume [--last | SESSION_ID]`; with neither, the app opens on the picker.

    No API key is needed to list, pick and read a session: a request made without one fails
    with the missing key's message (tui/engine/keyless.py)."""
    session_id = getattr(args, "session_id", None)
    if getattr(args, "last", False) and session_id:
        print("codeloop: give --last or a SESSION_ID, not both", file=sys.stderr)
        return 2
    if not getattr(args, "last", False) and not session_id:
        return run_app(args, pick=True)
    from tui.engine.resume import ResumeRequest

    return run_app(args, resume=ResumeRequest(session_id))


def run_app(args: argparse.Namespace, resume: ResumeRequest | None = None, *, pick: bool = False) -> int:
    """The app on a new session, on the recorded one `resume` designates, or (`pick`) on the
    picker of recorded sessions (Esc there starts a new one)."""
    # No garbage collection until the first frame is up (the app's warm_up turns it back on):
    # start-up allocates a lot and frees almost nothing, and the collector's passes over it
    # cost ~40 ms of the first frame.
    gc.disable()
    from tui.engine.bootstrap import (
        build_session,
        configure_or_report,
        resume_session,
        sandbox_policy,
    )
    from tui.safety.sandbox import SandboxUnavailable

    demo = None
    workspace = None
    initial_text = ""
    if getattr(args, "demo", False):
        from tui.demo.script import (
            DEMO_CONTEXT_WINDOW,
            DEMO_MODEL,
            DEMO_PROMPT,
            DemoModel,
            prepare_workspace,
        )

        demo = DemoModel()
        initial_text = DEMO_PROMPT
        base_url = demo.start()
        workspace = prepare_workspace()
        overrides = list(getattr(args, "config", None) or [])
        overrides += [
            'model_provider="codeloop-demo"',
            f'model_providers.codeloop-demo.base_url="{base_url}"',
            'model_providers.codeloop-demo.name="codeloop demo (scripted)"',
            f'model="{DEMO_MODEL}"',
            f"model_context_window={DEMO_CONTEXT_WINDOW}",
        ]
        args.config = overrides
        args.cd = str(workspace)
    try:
        key_problem = None
        if resume is None and not pick:
            configured = configure_or_report(args)
        else:
            from tui.engine.keyless import configure_keyless

            keyless = configure_keyless(args)
            configured = None if keyless is None else keyless[:2]
            key_problem = None if keyless is None else keyless[2]
        if configured is None:
            return 2
        rc, provider = configured
        cfg = rc.config
        client = None
        if key_problem is not None:
            from tui.engine.keyless import MissingKeyClient

            client = MissingKeyClient(key_problem, provider.base_url)
        if pick and not _has_sessions(rc.home):
            print(f"codeloop: there is no recorded session in {rc.home / 'sessions'}", file=sys.stderr)
            return 2
        from tui.app.app import CodeloopApp, SessionFactory, SessionPreview
        from tui.app.startup import git_branch
        from tui.engine.models import auto_compact_limit, context_window

        session = preview = None
        try:
            if resume is None:
                sandbox = sandbox_policy(rc)  # a missing bwrap is said before the app starts
                window = cfg.model_context_window or context_window(cfg.model)
                preview = SessionPreview(
                    cfg.model, rc.cwd, cfg.approval_policy, sandbox.mode, window,
                    start=lambda: build_session(rc, provider, interactive=True, client=client),
                )
                limit = auto_compact_limit(cfg.model, cfg.model_auto_compact_token_limit, window)
            else:
                from tui.engine.resume import RolloutError, SessionNotFound

                try:
                    session = resume_session(rc, provider, resume.locate(rc.home, rc.cwd), interactive=True, client=client)
                except (SessionNotFound, RolloutError) as e:
                    print(f"codeloop: {e}", file=sys.stderr)
                    return 2
                limit = session.auto_compact_limit
        except SandboxUnavailable as e:
            print(f"codeloop: {e}", file=sys.stderr)
            return 2
        from tui.engine.images import ImageError, check_files
        from tui.safety.terminal_text import neutralize

        try:
            images = check_files(getattr(args, "images", None) or [], rc.cwd)
        except ImageError as e:
            print(neutralize(f"codeloop: {e}"), file=sys.stderr)
            return 2
        app = CodeloopApp(
            session, demo=demo is not None, auto_compact_limit=limit, branch=git_branch(rc.cwd),
            tui=cfg.tui, home=rc.home, initial_text=initial_text,
            resumed=session is not None,
            sessions=SessionFactory(
                home=rc.home,
                new=lambda: build_session(rc, provider, interactive=True, client=client),
                resume=lambda path: resume_session(rc, provider, path, interactive=True, client=client),
            ),
            preview=preview,
            pick_first=pick,
        )
        app.initial_images = images
        if key_problem is not None:
            app.startup_notes.append(f"{key_problem.splitlines()[0]} Recorded sessions can be opened and read (Ctrl+T shows one whole); sending needs the key.")
        try:
            from tui.app.escape_keys import install

            install()
            app.run()
        finally:
            from tui.tools.process import kill_live_groups

            kill_live_groups()  # however the app ended, no command outlives it
        goodbye = exit_summary(app.session)
        if goodbye:
            print(goodbye)
        return app.return_code or 0
    finally:
        if demo is not None:
            demo.stop()
        if workspace is not None:
            from tui.demo.script import leave_workspace

            kept = leave_workspace(workspace)
            if kept is not None:
                print(kept, file=sys.stderr)


def _has_sessions(home: Path) -> bool:
    from tui.engine.resume import list_sessions

    return bool(list_sessions(home))


def exit_summary(session: Session | None) -> str:
    """What the terminal keeps after the app ends: the session, how to resume it, what it cost.
    Empty when nothing was sent (nothing to resume)."""
    if session is None or session.rollout is None or session.total_usage.total_tokens == 0:
        return ""
    usage = session.total_usage
    return (
        f"Session {session.session_id}: {usage.input_tokens:,} tokens in ({usage.cached_input_tokens:,} cached), "
        f"{usage.output_tokens:,} out.\nResume it: codeloop resume {session.session_id}"
    )
