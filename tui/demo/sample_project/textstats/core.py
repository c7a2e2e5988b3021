"""The statistics themselves."""

from __future__ import annotations


def word_count(text: str) -> int:
    """Number of whitespace-separated words in `text`."""
    # Words are separated by spaces, so there is one more word than there are spaces.
    return text.count(" ") + 1


def line_count(text: str) -> int:
    """Number of lines; a trailing newline does not start a new one."""
    return len(text.splitlines())


def longest_word(text: str) -> str:
    """The longest word (the first one on a tie), or "" for a text without words."""
    return max(text.split(), key=len, default="")
