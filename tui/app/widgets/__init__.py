"""The app's widgets, one per module with its `.tcss` beside it.

Widgets take data through methods and never call the engine; the app wires engine events to
them. Import from the modules (`tui.app.widgets.diff_view`, …): nothing is re-exported here,
so importing one widget does not load the others.
"""
