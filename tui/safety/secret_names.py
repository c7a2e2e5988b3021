"""Which variables hold secrets, and credentials carried inside URL-valued variables.

One rule for the command environment (tui/tools/process.py `shell_environment`), the shell
snapshot (tui/tools/shell_snapshot.py) and the redactor's list of known values
(tui/safety/redact.py), so what commands are not given is exactly what output is checked for.

A name is split into segments (at `_`, `-`, `.` and lower→upper case changes) and is a secret's
when a segment is one of the words below (`MY_SERVICE_CREDENTIAL`, `DB_PASS`, `SENTRY_DSN`,
`apiKey`), or one of the unambiguous words appears anywhere in it (`GHTOKEN`, `DBPASSWORD`).
Segments, not substrings, for the short words: `KEYBOARD_LAYOUT`, `MONKEY_MODE`,
`GIT_AUTHOR_NAME`, `TOKENIZERS_PARALLELISM` and `PASSTHROUGH` are nobody's secret.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

# A segment equal to one of these marks a secret.
_SECRET_SEGMENTS = frozenset(
    {
        "KEY", "KEYS", "APIKEY", "ACCESSKEY", "SECRETKEY", "PRIVATEKEY", "PRIVKEY", "SIGNINGKEY",
        "MASTERKEY", "TOKEN", "TOKENS", "SECRET", "SECRETS", "PASS", "PASSWD", "PASSWORD",
        "PASSWORDS", "PASSPHRASE", "PWD", "PW", "CREDENTIAL", "CREDENTIALS", "CRED", "CREDS",
        "AUTH", "OAUTH", "DSN", "PRIVATE", "COOKIE", "COOKIES", "SESSION", "SIGNING", "SIGNATURE",
        "CERT", "CERTS", "CERTIFICATE", "PEM", "PFX", "P12", "WEBHOOK", "SALT", "JWT", "BEARER",
    }
)  # fmt: skip
# Words long and specific enough to count anywhere in a name.
_SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "PASSPHRASE", "APIKEY", "PRIVATEKEY")
# Words that look like ours but name something public or the shell's own state.
_PUBLIC_NAMES = frozenset(
    {"PWD", "OLDPWD", "SSL_CERT_FILE", "SSL_CERT_DIR", "SESSION_MANAGER", "DESKTOP_SESSION", "TOKENIZERS_PARALLELISM"}
)
# Public CA bundles (needed for TLS) and the desktop's session plumbing are not secrets.
_PUBLIC_SEGMENTS = frozenset({"CA", "CAINFO", "CAPATH", "XDG", "DBUS"})
_SEGMENT_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")


def name_segments(name: str) -> list[str]:
    """`myService_APIKey.v2` → ["MY", "SERVICE", "API", "KEY", "V2"]."""
    return [part.upper() for part in _SEGMENT_SPLIT.split(name) if part]


def is_secret_name(name: str) -> bool:
    """Whether a variable's name says it holds a secret."""
    upper = name.upper()
    if upper in _PUBLIC_NAMES:
        return False
    segments = name_segments(name)
    if _PUBLIC_SEGMENTS.intersection(segments):
        return False
    if _SECRET_SEGMENTS.intersection(segments):
        return True
    return any(word in upper for word in _SECRET_WORDS) and not upper.startswith("TOKENIZER")


# scheme://[user][:password]@ — the password (and the colon) is what goes.
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/\s:@?#]*)(:[^/\s@?#]*)?@")
# A query or fragment parameter: its name decides.
_URL_PARAM = re.compile(r"([?&;#])([^=&;#\s]+)=([^&;#\s]*)")
_SIGNATURE_PARAMS = frozenset({"sig", "signature", "x-amz-signature", "x-amz-credential", "x-amz-security-token", "code"})


def _secret_param(name: str) -> bool:
    name = unquote(name)
    return name.lower() in _SIGNATURE_PARAMS or is_secret_name(name)


def url_secrets(value: str) -> list[str]:
    """The passwords and secret query values inside the URLs in `value` (decoded and raw)."""
    if "://" not in value and "=" not in value:
        return []
    found: list[str] = []
    if "://" in value:
        for match in _URL_USERINFO.finditer(value):
            if match.group(3) and len(match.group(3)) > 1:
                raw = match.group(3)[1:]
                found += [raw, unquote(raw)]
    if "?" in value or "#" in value:
        for match in _URL_PARAM.finditer(value):
            if match.group(3) and _secret_param(match.group(2)):
                found += [match.group(3), unquote(match.group(3))]
    return found


def strip_url_secrets(value: str) -> str:
    """`value` with passwords taken out of its URLs and secret query parameters dropped:
    `postgres://u:p@h/db?sslpassword=x&a=1` → `postgres://u@h/db?a=1`; `redis://:p@h` → `redis://h`.
    Text that holds no URL comes back unchanged."""
    if "://" not in value:
        return value

    def userinfo(match: re.Match[str]) -> str:
        user = match.group(2)
        return f"{match.group(1)}{user}@" if user else match.group(1)

    value = _URL_USERINFO.sub(userinfo, value)
    if "?" not in value and "#" not in value:
        return value

    value = _URL_PARAM.sub(lambda m: m.group(1) + "\0" if _secret_param(m.group(2)) else m.group(0), value)
    # A dropped parameter leaves its separator behind: `?\0&a=1` → `?a=1`, `?a=1&\0` → `?a=1`.
    value = re.sub(r"([?#])\0[&;]?", r"\1", value)
    value = re.sub(r"[&;]\0", "", value)
    return re.sub(r"[?#](?=$|[\s\"'])", "", value.replace("\0", ""))


__all__ = ["is_secret_name", "name_segments", "strip_url_secrets", "url_secrets"]
