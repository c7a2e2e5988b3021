"""Start the interactive app: configuration → session → Textual app (or the scripted demo)."""

from __future__ import annotations

import argparse
import gc
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.engine.resume import ResumeRequest
    from tui.engine.session import Session


def run_resume(args: argparse.Namespace) -> int:
    """`codeloop resume [--last | SESSION_ID]`; with neither, list the recorded sessions."""
    session_id = getattr(args, "session_id", None)
    if getattr(args, "last", False) and session_id:
        print("codeloop: give --last or a SESSION_ID, not both", file=sys.stderr)
        return 2
    if not getattr(args, "last", False) and not session_id:
        return list_recorded_sessions(args)
    from tui.engine.resume import ResumeRequest

    return run_app(args, resume=ResumeRequest(session_id))


def list_recorded_sessions(args: argparse.Namespace) -> int:
    from tui.engine.bootstrap import configure_or_report
    from tui.engine.resume import list_sessions

    configured = configure_or_report(args)
    if configured is None:
        return 2
    rc, _ = configured
    sessions = list_sessions(rc.home)
    for info in sessions[:20]:
        first = " ".join((info.first_message or "(no message)").split())
        print(f"{info.session_id}  {info.started.astimezone():%Y-%m-%d %H:%M}  {info.cwd}  {first[:60]}")
    print(
        "codeloop: resume which session? Pass --last or a SESSION_ID (a unique prefix will do)."
        if sessions else f"codeloop: there is no recorded session in {rc.home / 'sessions'}",
        file=sys.stderr,
    )
    return 2


def run_app(args: argparse.Namespace, resume: ResumeRequest | None = None) -> int:
    """The app on a new session, or on the recorded one `resume` designates."""
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
        configured = configure_or_report(args)
        if configured is None:
            return 2
        rc, provider = configured
        cfg = rc.config
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
                    start=lambda: build_session(rc, provider, interactive=True),
                )
                limit = auto_compact_limit(cfg.model, cfg.model_auto_compact_token_limit, window)
            else:
                from tui.engine.resume import RolloutError, SessionNotFound

                try:
                    session = resume_session(rc, provider, resume.locate(rc.home, rc.cwd), interactive=True)
                except (SessionNotFound, RolloutError) as e:
                    print(f"codeloop: {e}", file=sys.stderr)
                    return 2
                limit = session.auto_compact_limit
        except SandboxUnavailable as e:
            print(f"codeloop: {e}", file=sys.stderr)
            return 2
        if session is not None:
            from tui.engine.resume import transcript

            shown = transcript(session.history)
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
            transcript=shown if session is not None else None,
            sessions=SessionFactory(
                home=rc.home,
                new=lambda: build_session(rc, provider, interactive=True),
                resume=lambda path: resume_session(rc, provider, path, interactive=True),
            ),
            preview=preview,
        )
        app.initial_images = images
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
