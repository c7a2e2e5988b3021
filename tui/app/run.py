"""Start the interactive app: configuration → session → Textual app (or the scripted demo)."""

from __future__ import annotations

import argparse
import sys


def run_app(args: argparse.Namespace) -> int:
    from tui.engine.bootstrap import build_session, configure_or_report
    from tui.safety.sandbox import SandboxUnavailable

    demo = None
    initial_text = ""
    if getattr(args, "demo", False):
        from tui.demo.script import DEMO_MODEL, DEMO_PROMPT, DemoModel, prepare_workspace

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
        ]
        args.config = overrides
        args.cd = str(workspace)
    try:
        configured = configure_or_report(args)
        if configured is None:
            return 2
        rc, provider = configured
        from tui.app.app import CodeloopApp, git_branch

        try:
            session = build_session(rc, provider, interactive=True)
        except SandboxUnavailable as e:
            print(f"codeloop: {e}", file=sys.stderr)
            return 2
        cfg = rc.config
        limit = cfg.model_auto_compact_token_limit or (
            session.context_window * 9 // 10 if session.context_window else None
        )
        CodeloopApp(
            session, demo=demo is not None, auto_compact_limit=limit, branch=git_branch(rc.cwd),
            tui=cfg.tui, home=rc.home, initial_text=initial_text,
        ).run()
        return 0
    finally:
        if demo is not None:
            demo.stop()
