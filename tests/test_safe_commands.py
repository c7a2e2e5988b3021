from __future__ import annotations

import shlex

import pytest

from tui.safety.safe_commands import is_known_safe, normalize_command

SAFE: list[list[str]] = [
    ["ls"],
    ["ls", "-la", "src"],
    ["cat", "README.md"],
    ["grep", "-rn", "TODO", "."],
    ["head", "-n", "20", "file.txt"],
    ["wc", "-l", "a.py"],
    ["pwd"],
    ["true"],
    ["numfmt", "1000"],
    ["tac", "log.txt"],
    ["/usr/bin/cat", "x"],
    ["uniq", "-c", "sorted.txt"],
    ["find", ".", "-name", "*.py", "-type", "f"],
    ["rg", "-n", "pattern", "src"],
    ["rg", "--pre-glob", "*.gz", "x"],
    ["sed", "-n", "10p", "file.txt"],
    ["sed", "-n", "1,40p", "file.txt"],
    ["git", "status"],
    ["git", "status", "--porcelain", "-b"],
    ["git", "log", "--oneline", "-5"],
    ["git", "diff", "--stat", "HEAD~1"],
    ["git", "show", "HEAD:README.md"],
    ["git", "--no-pager", "diff"],
    ["git", "branch"],
    ["git", "branch", "-a", "-vv"],
    ["git", "branch", "--show-current"],
    ["git", "branch", "--list", "feat/*"],
    ["git", "branch", "--contains", "abc123"],
    ["git", "branch", "--sort=-committerdate", "--format=%(refname:short)"],
    ["bash", "-lc", "ls"],
    ["bash", "-lc", "ls && pwd"],
    ["bash", "-lc", "ls | wc -l"],
    ["bash", "-lc", "grep -R \"Cargo.toml\" -n || true"],
    ["bash", "-lc", "echo 'hi' ; ls"],
    ["bash", "-lc", "sed -n '1,5p' file.txt"],
    ["bash", "-lc", "git status && git diff --stat"],
    ["bash", "-lc", "find . -name '*.py' | head -n 5"],
    ["bash", "-lc", "ls *.py"],
    ["bash", "-lc", "ls &&\n  pwd\n"],
    ["bash", "-lc", "grep 'a > b' notes.txt"],
    ["bash", "-lc", "ls # list files"],
    ["bash", "-c", "pwd"],
    ["sh", "-c", "echo done"],
    ["zsh", "-lc", "ls"],
    ["/bin/bash", "-lc", "ls"],
]

UNSAFE: list[list[str]] = [
    [],
    ["rm", "-rf", "build"],
    ["python", "-c", "print(1)"],
    ["./ls"],
    ["/tmp/cat", "x"],
    ["uniq", "in.txt", "out.txt"],
    ["base64", "file.bin"],
    ["rev", ".env"],
    ["tr", "a-z", "n-za-m"],
    ["git", "-C", "sub", "log", "-1"],
    ["git", "--git-dir=x.git", "log"],
    ["git", "--work-tree=..", "status"],
    ["git", "--exec-path=.", "status"],
    ["git", "-p", "log"],
    ["git", "--paginate", "log"],
    ["git", "diff", "--ext"],
    ["git", "diff", "--textconv"],
    ["git", "show", "--tex"],
    ["git", "log", "--out=x", "-1"],
    ["bash", "-lc", "cd sub && git status"],
    ["base64", "-o", "out.bin", "in"],
    ["base64", "--output=out.bin"],
    ["base64", "-oout.bin"],
    ["find", ".", "-delete"],
    ["find", ".", "-name", "x", "-exec", "rm", "{}", ";"],
    ["find", ".", "-execdir", "sh", "{}", ";"],
    ["find", ".", "-fprint", "/etc/passwd"],
    ["find", ".", "-fprintf", "out", "%p"],
    ["rg", "--pre", "pwned", "x"],
    ["rg", "--pre=pwned", "x"],
    ["rg", "--hostname-bin=pwned", "x"],
    ["rg", "-z", "x"],
    ["rg", "-iz", "x"],
    ["rg", "--search-zip", "x"],
    ["sed", "-i", "s/a/b/", "file.txt"],
    ["sed", "-n", "1p"],
    ["sed", "-n", "1p", "-i"],
    ["sed", "-n", "xp", "file.txt"],
    ["sed", "-n", "1,5p;w out", "file.txt"],
    ["git", "-c", "core.pager=evil", "log"],
    ["git", "--config-env=core.pager=EVIL", "log"],
    ["git", "log", "-c"],
    ["git", "diff", "--output=patch.txt"],
    ["git", "diff", "--ext-diff"],
    ["git", "push"],
    ["git", "checkout", "main"],
    ["git", "--git-dir=x", "status"],
    ["git", "branch", "new-feature"],
    ["git", "branch", "-d", "old"],
    ["git", "branch", "-D", "old"],
    ["git", "branch", "-m", "a", "b"],
    ["git", "branch", "--set-upstream-to=origin/main"],
    ["git", "branch", "-a", "new"],
    ["bash", "-lc", "ls > out.txt"],
    ["bash", "-lc", "cat < in.txt"],
    ["bash", "-lc", "ls && rm -rf /"],
    ["bash", "-lc", "(ls)"],
    ["bash", "-lc", "ls || (pwd && echo hi)"],
    ["bash", "-lc", "echo $(rm -rf /)"],
    ["bash", "-lc", "echo `rm -rf /`"],
    ["bash", "-lc", "echo \"$(rm -rf /)\""],
    ["bash", "-lc", "echo $HOME"],
    ["bash", "-lc", "ls & rm x"],
    ["bash", "-lc", "ls |& cat"],
    ["bash", "-lc", "ls &&"],
    ["bash", "-lc", "&& ls"],
    ["bash", "-lc", "ls ;; pwd"],
    ["bash", "-lc", "echo 'unterminated"],
    ["bash", "-lc", "find . -name *.py"],
    ["bash", "-lc", "find . {-delete,}"],
    ["bash", "-lc", "rg foo *"],
    ["bash", "-lc", "uniq *"],
    ["bash", "-lc", "find . -name '&&' -delete"],
    ["bash", "-lc", "LD_PRELOAD=evil.so ls"],
    ["bash", "-lc", "'git status'"],
    ["bash", "-lc", "git", "status"],
    ["bash", "-lc", "*"],
    ["bash", "-x", "ls"],
    ["/tmp/bash", "-lc", "ls"],
    ["python", "-lc", "ls"],
]


@pytest.mark.parametrize("argv", SAFE, ids=shlex.join)
def test_read_only_commands_are_known_safe(argv: list[str]) -> None:
    assert is_known_safe(argv)


@pytest.mark.parametrize("argv", UNSAFE, ids=shlex.join)
def test_commands_that_may_write_or_execute_are_not_known_safe(argv: list[str]) -> None:
    assert not is_known_safe(argv)


def test_quoted_operator_is_an_argument_not_a_separator() -> None:
    # If `'&&'` split the command, `ls -delete` would look like a harmless ls.
    assert not is_known_safe(["bash", "-lc", "find . -name '&&' ls -delete"])
    assert is_known_safe(["bash", "-lc", "grep '&&' notes.txt"])


def test_shell_wrapped_command_shares_the_key_of_the_plain_argv() -> None:
    assert normalize_command(["bash", "-lc", "ls  -la"]) == "ls -la"
    assert normalize_command(["ls", "-la"]) == "ls -la"
    assert normalize_command(["zsh", "-lc", "  ls\t-la  "]) == "ls -la"


def test_normalized_key_keeps_quoted_whitespace() -> None:
    assert normalize_command(["bash", "-lc", "echo  'a   b'  \"c  d\""]) == "echo 'a   b' \"c  d\""
    assert normalize_command(["bash", "-lc", "echo a\\  b"]) == "echo a\\  b"


def test_normalized_key_keeps_newlines_but_drops_blank_lines() -> None:
    assert normalize_command(["bash", "-lc", "  ls \n\n   pwd  \n"]) == "ls\npwd"


def test_normalized_key_leaves_heredoc_bodies_alone() -> None:
    script = "cat  <<EOF\n  two  spaces\nEOF"
    assert normalize_command(["bash", "-lc", script]) == "cat <<EOF\n  two  spaces\nEOF"


def test_normalized_key_keeps_env_assignments() -> None:
    assert normalize_command(["bash", "-lc", "PAGER=cat  git log"]) == "PAGER=cat git log"
    assert normalize_command(["env", "PAGER=cat", "git", "log"]) == "env PAGER=cat git log"
    assert normalize_command(["bash", "-lc", "PAGER=cat git log"]) != normalize_command(["git", "log"])


def test_plain_argv_key_quotes_like_a_shell() -> None:
    assert normalize_command(["grep", "-n", "a b", "*.py"]) == "grep -n 'a b' '*.py'"


def test_non_wrapper_shell_invocations_keep_full_argv_as_key() -> None:
    assert normalize_command(["bash", "script.sh"]) == "bash script.sh"
    assert normalize_command(["bash", "-lc", "ls", "extra"]) == "bash -lc ls extra"
