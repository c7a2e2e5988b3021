"""Performance benchmarks for codeloop: `python -m tests.benchmarks [--quick] [--only NAME]`.

Not pytest tests (no module here is named `test_*`): each benchmark drives the real app and
engine against the local fake server (tui/fakeserver) and returns rows for one table. The SDK is
never mocked; where a target is relative, its baseline is measured in the same run.
"""
