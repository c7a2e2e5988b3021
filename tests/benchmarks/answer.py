"""The long Markdown answer streamed by stream_5000: headings, lists, code blocks, ~4 chars a token."""

from __future__ import annotations

SENTINEL = "End of the benchmark answer (sentinel 5000)."


def long_answer(tokens: int = 5000, chars_per_token: int = 4) -> str:
    """Deterministic Markdown of `tokens * chars_per_token` characters, ending with SENTINEL.

    The sentinel closes the text as its own paragraph, so it is the last line a person sees once
    the whole answer is on screen.
    """
    budget = tokens * chars_per_token
    tail = f"\n{SENTINEL}\n"
    parts: list[str] = []
    size = 0
    section = 0
    while True:
        section += 1
        block = _section(section)
        if size + len(block) + len(tail) > budget:
            break
        parts.append(block)
        size += len(block)
    # Pad with a plain paragraph so the answer is exactly `budget` characters long.
    room = budget - size - len(tail)
    if room > 1:
        filler = ("Padding words keep the answer at its planned size. " * (room // 40 + 1))[: room - 1]
        parts.append(filler.rsplit(" ", 1)[0].ljust(room - 1) + "\n")
    return ("".join(parts) + tail)[:budget]


def _section(n: int) -> str:
    return (
        f"## {n}. Step {n} of the plan\n\n"
        f"This step changes **module_{n}.py** so that `handler_{n}` returns early when the input is "
        f"empty, and records why in a comment. It keeps the public API unchanged.\n\n"
        f"- read `module_{n}.py` and its tests\n"
        f"- add the guard clause before the loop\n"
        f"- run `pytest -q tests/test_module_{n}.py`\n\n"
        "```python\n"
        f"def handler_{n}(items: list[str]) -> int:\n"
        "    if not items:\n"
        "        return 0  # nothing to do: the caller treats 0 as 'no work'\n"
        f"    return sum(len(item) for item in items) * {n}\n"
        "```\n\n"
        f"1. The guard costs one comparison.\n2. The loop body is untouched.\n\n"
    )
