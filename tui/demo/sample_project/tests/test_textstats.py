import unittest

from textstats import line_count, longest_word, word_count


class WordCountTest(unittest.TestCase):
    def test_counts_words_separated_by_single_spaces(self) -> None:
        self.assertEqual(word_count("the quick brown fox"), 4)

    def test_empty_text_has_no_words(self) -> None:
        self.assertEqual(word_count(""), 0)

    def test_runs_of_whitespace_and_newlines_separate_words(self) -> None:
        self.assertEqual(word_count("  to be,\n  or not\tto be  "), 6)


class LineCountTest(unittest.TestCase):
    def test_trailing_newline_does_not_add_a_line(self) -> None:
        self.assertEqual(line_count("one\ntwo\n"), 2)


class LongestWordTest(unittest.TestCase):
    def test_first_of_the_longest_words_wins(self) -> None:
        self.assertEqual(longest_word("a tiny library of tools"), "library")

    def test_no_words_gives_empty_string(self) -> None:
        self.assertEqual(longest_word("   "), "")


if __name__ == "__main__":
    unittest.main()
