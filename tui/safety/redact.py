"""Keep secrets out of everything codeloop writes down, prints or shows.

A secret is either a known value or text shaped like a credential:

- the values of variables in our environment whose names say they hold secrets
  (tui/safety/secret_names.py: `*_KEY`, `*TOKEN*`, `*_CREDENTIAL`, `*_DSN`, ...), the passwords
  and secret query values inside URL-valued variables of any name (`DATABASE_URL`), and the
  values of the variables named as provider `env_key`s (`config.resolve_provider`
  remembers the one in use: a custom provider's key may be called anything). Values shorter
  than 8 characters are ignored: blanking every `1` or `true` would garble ordinary text, and
  real keys are longer. So are values naming an existing path (`PASSWORD_STORE_DIR`);
- `Authorization: Bearer …`-style headers, `sk-…`-style keys (and a few other vendors'
  unmistakable prefixes), `?api_key=…`/`&key=…` in URLs and the password in `scheme://user:pw@`.

Known values are also caught reversed, percent-encoded, in hex and in base64
(tui/safety/encoded_secrets.py): a known-safe `rev .env` or `base64 .env` prints them so.

Every match becomes `[REDACTED]`. The patterns only match literal credential characters, so
source code that *handles* a key (`f"Bearer {token}"`, `"?key=" + key`) reads unchanged.

Where it is applied, i.e. every way text leaves the process:

- a shell command's output, as soon as the command ends (tui/tools/shell.py): the model, the
  events, the rollout and the screen then all hold the same, redacted text. Codex passes output
  through as is; we do not, because a key printed by a command would otherwise be sent to the
  model provider (a leak in itself, and a third party for anything but its own key), and because
  resume rebuilds the history from the rollout: a rollout that differed from what the model was
  sent would break the byte-identical request prefix;
- every rollout line (`RolloutWriter.write`), as a backstop for text that got in another way (a
  key pasted into a prompt reaches the model, which the user chose, but not the file);
- `codeloop exec`'s progress lines, final message and `--json` events;
- the app's notices, errors, answers and tool cells.

codeloop writes no log files; anything it prints goes through one of the above.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from tui.safety.encoded_secrets import EncodedSearch, literal_forms
from tui.safety.secret_names import is_secret_name, url_secrets

REDACTED = "[REDACTED]"
MIN_SECRET_CHARS = 8

_TOKEN_CHARS = r"[A-Za-z0-9._~+/=-]"

# (pattern, a lower-case substring the text must contain for the pattern to be worth running).
# Group 1, when present, is kept: it is the label in front of the secret.
_PATTERNS: tuple[tuple[re.Pattern[str], str | None], ...] = (
    (
        re.compile(
            r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?(?:(?:bearer|basic|token|digest)\s+)?)"
            + _TOKEN_CHARS
            + "{8,}"
        ),
        "authorization",
    ),
    # A bare bearer token needs a digit and some length, or "the bearer approaches" would go.
    (re.compile(r"(?i)(\bbearer\s+)(?=" + _TOKEN_CHARS + r"*\d)" + _TOKEN_CHARS + "{16,}"), "bearer"),
    (
        re.compile(
            r"()\b(?:sk-(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{20,}"  # OpenAI, Anthropic, DeepSeek...
            r"|sk_(?:live|test)_[A-Za-z0-9]{16,}"  # Stripe
            r"|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}"  # GitHub
            r"|glpat-[A-Za-z0-9_-]{20,}"  # GitLab
            r"|xox[abprs]-[A-Za-z0-9-]{10,}"  # Slack
            r"|AKIA[0-9A-Z]{16}"  # AWS access key id
            r"|AIza[0-9A-Za-z_-]{35}"  # Google
            r"|hf_[A-Za-z0-9]{30,})"  # Hugging Face
        ),
        None,
    ),
    (
        re.compile(
            r"(?i)([?&](?:api[_-]?key|key|token|access[_-]?token|auth[_-]?token|client[_-]?secret"
            r"|secret|password|passwd|sig|signature)=)[A-Za-z0-9._~%+/-]{8,}"
        ),
        "=",
    ),
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)[^/\s@]+(?=@)"), "://"),
)


def _worth_hiding(value: str) -> bool:
    if len(value) < MIN_SECRET_CHARS:
        return False
    try:
        return not (os.path.isabs(value) and os.path.exists(value))
    except (OSError, ValueError):
        return True


class Redactor:
    """Replaces known secret values and credential-shaped text with `[REDACTED]`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret containing another is replaced whole.
        values = {s for s in secrets if _worth_hiding(s)}
        known = tuple(sorted(values, key=len, reverse=True))
        forms = {form for s in known for form in literal_forms(s) if len(form) >= MIN_SECRET_CHARS}
        self.secrets: tuple[str, ...] = tuple(sorted(values | forms, key=len, reverse=True))
        self._encoded = EncodedSearch(known)

    @classmethod
    def from_environment(
        cls, env: Mapping[str, str] | None = None, key_names: Iterable[str] = (), extra: Iterable[str] = ()
    ) -> Redactor:
        """Secrets from `env` (default: ours): secret-named variables, those in `key_names`, plus `extra`."""
        env = os.environ if env is None else env
        named = set(key_names)
        found = [value for name, value in env.items() if name in named or is_secret_name(name)]
        in_urls = [secret for value in env.values() for secret in url_secrets(value)]
        return cls([*found, *in_urls, *extra])

    def redact(self, text: str) -> str:
        if not text:
            return text
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        text = self._encoded.redact(text, REDACTED)
        lowered = text.lower()
        for pattern, marker in _PATTERNS:
            if marker is None or marker in lowered:
                text = pattern.sub(_keep_label, text)
        return text

    def redact_json(self, value: Any) -> Any:
        """A copy of a JSON-shaped value with every string redacted (keys are left alone).

        Redacting before serialising matters: a secret containing `"` or `\\` is escaped in
        JSON text and would no longer match.
        """
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {k: self.redact_json(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.redact_json(v) for v in value]
        return value


def _keep_label(match: re.Match[str]) -> str:
    return (match.group(1) or "") + REDACTED


# The process-wide redactor: built from the environment as it is when asked (tests and users
# may change it), plus what configuration told us about.
_remembered_names: set[str] = set()
_remembered_values: set[str] = set()
_cached: tuple[object, Redactor] | None = None
_env_seen: object = None  # default_redactor's quick fingerprint of the last environment scanned


def remember_secret(value: str) -> None:
    """Treat `value` as a secret from now on (e.g. an API key set in config, not the environment)."""
    _remembered_values.add(value)


def remember_secret_variable(name: str) -> None:
    """Treat the value of the variable `name` as a secret, whatever it is called."""
    _remembered_names.add(name)


def remembered_secret_variables() -> frozenset[str]:
    """The variables named by `remember_secret_variable` (commands do not get them either)."""
    return frozenset(_remembered_names)


def default_redactor() -> Redactor:
    """The redactor for this process's current environment and remembered secrets.

    Called for every streamed delta the app shows: the environment is fingerprinted in C
    (CPython's `os.environ._data`, a dict of bytes) and scanned name by name only when it changed."""
    global _cached, _env_seen
    data = getattr(os.environ, "_data", None)
    quick = (frozenset(data.items()), len(_remembered_names), len(_remembered_values)) if isinstance(data, dict) else None
    if quick is not None and _cached is not None and quick == _env_seen:
        return _cached[1]
    _env_seen = quick
    env = os.environ
    relevant = tuple(
        (name, value) for name, value in env.items() if name in _remembered_names or is_secret_name(name)
    )
    in_urls = tuple(secret for value in env.values() for secret in url_secrets(value))
    fingerprint = (relevant, in_urls, frozenset(_remembered_values))
    if _cached is None or _cached[0] != fingerprint:
        _cached = (fingerprint, Redactor([value for _, value in relevant] + list(in_urls) + sorted(_remembered_values)))
    return _cached[1]


def redact(text: str) -> str:
    """`default_redactor().redact(text)`."""
    return default_redactor().redact(text)


__all__ = [
    "REDACTED",
    "Redactor",
    "default_redactor",
    "is_secret_name",
    "redact",
    "remember_secret",
    "remember_secret_variable",
    "remembered_secret_variables",
]
