"""textual-serve's server, adapted: a socket bound beforehand, the guard in front, every tab's
process wound up on stop.

Imported by `tui/serve.py` only once the port is bound, so aiohttp and textual-serve stay off
the path of a bad flag or a busy port.
"""

from __future__ import annotations

import asyncio
import signal
import socket
from typing import Any

import textual_serve.server
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from tui.serve_auth import ServeGuard


class ClosingAppService(AppService):
    """textual-serve's per-tab process, closed once it has exited.

    The library waits for the app's output to end but never closes the subprocess transport;
    Python 3.13 then closes it from `__del__` after the event loop is gone and prints
    "Exception ignored … Event loop is closed" on every stop. Closed here, on the loop, after
    the process has exited (killed if it has not within a few seconds of its "quit").
    """

    async def stop(self) -> None:
        try:
            await super().stop()
        finally:
            # Also when the library's stop fails (a tab gone mid-write) or is cancelled.
            await self._close_process()

    async def _close_process(self) -> None:
        process = self._process
        if process is None:
            return
        try:
            await asyncio.wait_for(process.wait(), 5)
        except TimeoutError:
            process.kill()
            await process.wait()
        finally:
            transport = getattr(process, "_transport", None)  # asyncio.subprocess.Process keeps it private
            if transport is not None:
                transport.close()


# The server builds one AppService per websocket by this module-level name.
textual_serve.server.AppService = ClosingAppService  # type: ignore[misc]


class AppServer(Server):
    """textual-serve's Server on a socket bound beforehand.

    Bound first so that a busy port is one clear message instead of a traceback from inside
    the event loop, and so that `--port 0` prints the port it really got. `serve` is
    the library's own, minus the host/port bind.
    """

    def __init__(self, command: str, sock: socket.socket, public_url: str, guard: ServeGuard) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(command, host=host, port=port, title="codeloop", public_url=public_url)
        self._sock = sock
        self._guard = guard
        self._connections: set[asyncio.Task[Any]] = set()

    async def on_startup(self, app: web.Application) -> None:
        print(f"codeloop: serving the app on {self._guard.url(self.public_url)}  (Ctrl+C stops)", flush=True)

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self._guard.middleware())
        return app

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            return await super().handle_websocket(request)
        finally:
            self._connections.discard(task)

    async def on_shutdown(self, app: web.Application) -> None:
        # An open tab's websocket never ends on its own, and aiohttp would wait up to a minute
        # for it. Cancelled, the library's handler sends its app "quit", waits for the process
        # to exit and closes the socket: each session is wound up, none is left running.
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*list(self._connections), return_exceptions=True)

    def serve(self, debug: bool = False) -> None:
        self.debug = debug
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        loop.add_signal_handler(signal.SIGINT, self.request_exit)
        loop.add_signal_handler(signal.SIGTERM, self.request_exit)
        # No access log: a line per page load and tab says nothing the user needs.
        web.run_app(
            self._make_app(),
            sock=self._sock,
            handle_signals=False,
            loop=loop,
            print=lambda *a: None,
            access_log=None,
        )


def make_server(command: str, sock: socket.socket, public_url: str, guard: ServeGuard) -> AppServer:
    return AppServer(command, sock, public_url, guard)
