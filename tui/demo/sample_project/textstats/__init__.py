"""Small text statistics: words, lines and the longest word."""

from textstats.core import line_count, longest_word, word_count

__all__ = ["line_count", "longest_word", "word_count"]
