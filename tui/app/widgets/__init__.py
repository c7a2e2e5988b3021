"""The app's widgets, one per module. The budget, diff and plan panes keep their CSS in a `.tcss`
beside their module; the other widgets in `DEFAULT_CSS`.

Widgets take data through methods and never call the engine; the session screen
(`tui/app/screens/session.py`) wires the engine's events to them. Import from the modules (`tui.app.widgets.diff_view`, …): nothing is re-exported here,
so importing one widget does not load the others.
"""
