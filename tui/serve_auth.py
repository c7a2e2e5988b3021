"""Who may open `codeloop serve`: the holder of the token it printed, from the page it served.

Browsers apply no same-origin policy to WebSockets and let any page send requests to
127.0.0.1, and every user of the machine can connect to a local port. Without a check, any web
page the user visits while serve runs, or any other local user, could open a session and type
`!cat ~/.ssh/id_rsa`. So, as Jupyter does:

- serve makes a random token at start and prints it in the URL (`http://127.0.0.1:8000/?token=…`).
  It exists only in this process and the terminal: not in an argv, the environment or a file.
- Opening that URL sets a cookie (HttpOnly, SameSite=Strict, for this port) and redirects to the
  bare page, so the token does not stay in the address bar, the history or a Referer.
- Every request — the page, static assets, downloads, the WebSocket — needs the cookie or the
  token (compared in constant time); without it the answer is 401 with a plain page saying where
  the URL is.
- A request whose `Origin` is not the served origin (or `--public-url`'s) is refused with 403,
  the WebSocket included: a page elsewhere cannot use the user's cookie (a SameSite cookie would
  not be sent anyway, this is the second lock).
- On a loopback address the `Host` must name a loopback host (or `--public-url`'s): a DNS-rebound
  name pointing at 127.0.0.1 is refused, whatever it carries.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

TOKEN_PARAMETER = "token"
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]", "::1")
_UNAUTHORIZED = (
    "codeloop serve: this address needs its token.\n\n"
    "Open the full URL that `codeloop serve` printed in its terminal when it started\n"
    "(http://HOST:PORT/?token=...). The token is made anew each time serve starts.\n"
)
_FORBIDDEN = "codeloop serve: requests from another site are refused.\n"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host in ("localhost", "")


class ServeGuard:
    """The checks above, for a server listening on `bind_host`:`port` and known as `public_url`."""

    def __init__(self, token: str, bind_host: str, port: int, public_url: str) -> None:
        self.token = token
        self.port = port
        self.cookie = f"codeloop_serve_{port}"
        public = _origin(public_url)
        self.origins = {f"http://{name}:{port}" for name in _LOOPBACK_NAMES if not name == "::1"} | {public}
        self.check_host = _is_loopback(bind_host)
        self.hosts = {f"{name}:{port}" for name in _LOOPBACK_NAMES} | {urlsplit(public_url).netloc.lower()}

    def url(self, public_url: str) -> str:
        """The address to print: the public URL with the token."""
        return f"{public_url.rstrip('/')}/?{TOKEN_PARAMETER}={self.token}"

    def _token_ok(self, offered: str | None) -> bool:
        return offered is not None and hmac.compare_digest(offered.encode(), self.token.encode())

    def verdict(self, host: str, origin: str | None, query_token: str | None, cookie: str | None) -> int:
        """200 to let the request through, else the status to refuse it with."""
        if self.check_host and host.lower() not in self.hosts:
            return 403
        if origin is not None and origin.lower() not in self.origins:
            return 403
        if self._token_ok(cookie) or self._token_ok(query_token):
            return 200
        return 401

    def middleware(self) -> Any:
        from aiohttp import web

        @web.middleware
        async def guard(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
            query_token = request.query.get(TOKEN_PARAMETER)
            status = self.verdict(
                request.headers.get("Host", ""), request.headers.get("Origin"), query_token, request.cookies.get(self.cookie)
            )
            if status != 200:
                text = _FORBIDDEN if status == 403 else _UNAUTHORIZED
                return _hardened(web.Response(status=status, text=text, content_type="text/plain"))
            if query_token is not None and request.method == "GET" and request.path == "/":
                # Trade the token in the address for a cookie, and take it out of the address.
                response: web.StreamResponse = web.HTTPFound("/")
                response.set_cookie(self.cookie, self.token, httponly=True, samesite="Strict", path="/")
                return _hardened(response)
            return _hardened(await handler(request))

        return guard


def _hardened(response: Any) -> Any:
    # No Referer carries anything out; no other site frames the page; nothing is cached.
    if not getattr(response, "prepared", False):
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
        response.headers["Cache-Control"] = "no-store"
    return response


__all__ = ["ServeGuard", "TOKEN_PARAMETER", "new_token"]
