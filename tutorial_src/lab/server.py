"""Run an aiohttp app in the background of a Jupyter kernel, on 127.0.0.1 and a port the OS picks.

A notebook cell cannot ``web.run_app`` (it would block the kernel), and the kernel's own event loop is busy
running the kernel. So the server gets its own event loop in a daemon thread, and cells talk to it over real
HTTP with ``requests``, exactly as any other client would.

Only one background server lives per process: starting a new one stops the previous one first, so running a
cell twice never fails with "address already in use"; starting the app that is already being served returns the
running server. The port is ephemeral (0 = "any free port"), so many
learners on one JupyterHub node never collide.

Starting a server also adds the loopback addresses to ``NO_PROXY``/``no_proxy``: on a network that sets
``HTTP_PROXY`` (many company and university networks do), ``requests`` would otherwise send the notebook's calls
to its own server through that proxy, which cannot reach the kernel's 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import MutableMapping
from types import TracebackType

from aiohttp import web

from ..errors import ServerError

_current: BackgroundServer | None = None
_current_lock = threading.Lock()

#: The names of this machine that a request must reach directly, never through a proxy.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def bypass_proxies_for_loopback(environ: MutableMapping[str, str] = os.environ) -> None:
    """Add ``LOOPBACK_HOSTS`` to ``no_proxy`` and ``NO_PROXY`` in ``environ``, keeping what they already list.

    Both spellings: requests reads ``no_proxy`` first and ``NO_PROXY`` only when the former is unset or empty,
    and urllib's ``proxy_bypass`` (which requests also asks) prefers the lowercase one too. On Windows they are
    one variable, and the second update finds nothing missing.
    """
    for key in ("no_proxy", "NO_PROXY"):
        listed = [host.strip() for host in environ.get(key, "").split(",") if host.strip()]
        missing = [host for host in LOOPBACK_HOSTS if host not in listed]
        if missing:
            environ[key] = ",".join([*listed, *missing])


class BackgroundServer:
    """An aiohttp ``web.Application`` served from a daemon thread with its own event loop.

    Use ``start_server(app)`` rather than this class directly, or use it as a context manager::

        with BackgroundServer(app) as server:
            requests.get(server.url + "/")

    Attributes:
        url: ``http://127.0.0.1:<port>``, set once started.
        port: the port the OS picked.

    Raises:
        ServerError: the server did not start, or did not stop, within ``timeout`` seconds; the app failed to
            start; or the app was already served once (aiohttp binds an app to one event loop for good).
    """

    def __init__(self, app: web.Application, *, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
        self.app = app
        self.host = host
        self.timeout = timeout
        self.port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._start_error: BaseException | None = None
        # Guards the hand-over between start() giving up after `timeout` and the thread finishing its start.
        self._state_lock = threading.Lock()
        self._abandoned = False

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:<port>``, with no trailing slash."""
        if self.port is None:
            raise ServerError("the server is not running; call start() first")
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the server thread is alive and serving."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> BackgroundServer:
        """Start serving; returns ``self`` once the socket listens."""
        if self.running:
            return self
        if self.app.frozen:
            raise ServerError(
                "this app was already served once, and aiohttp cannot serve an app on a second event loop; "
                "build a new one, e.g. app = create_app(settings)"
            )
        # Before the first request, so the notebook's requests (and the checkers') skip any proxy.
        bypass_proxies_for_loopback()
        self._started.clear()
        self._start_error = None
        self._abandoned = False
        self._thread = threading.Thread(target=self._serve, name="tutorial-server", daemon=True)
        self._thread.start()
        if not self._started.wait(self.timeout):
            with self._state_lock:
                if not self._started.is_set():
                    # The thread cleans up and ends by itself when (if) its start finishes.
                    self._abandoned = True
                    self._thread = None
                    raise ServerError(f"the server did not start within {self.timeout} s")
        if self._start_error is not None:
            self._thread.join(self.timeout)
            self._thread = None
            raise ServerError(f"the server could not start: {self._start_error}") from self._start_error
        return self

    def stop(self) -> None:
        """Stop serving, close the socket and end the thread. Calling it again does nothing."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        if thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(self.timeout)
            if thread.is_alive():
                raise ServerError(f"the server thread did not stop within {self.timeout} s")
        self._thread = None
        self.port = None

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        # access_log=None: a request log on stderr would clutter every notebook cell. The shutdown timeout
        # (for requests still running at stop) stays under `timeout`, so stop() does not give up first.
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=self.timeout / 2)
        try:
            loop.run_until_complete(runner.setup())
            self._runner = runner
            site = web.TCPSite(runner, self.host, 0)
            loop.run_until_complete(site.start())
            self.port = runner.addresses[0][1]
        except BaseException as error:  # reported to the thread that called start()
            self._start_error = error
            try:
                self._close(loop, runner)
            finally:
                self._started.set()  # start() must hear of the failure even if the clean-up fails too
            return
        with self._state_lock:
            if self._abandoned:  # start() gave up waiting: nobody will ever stop this server
                self.port = None
                self._close(loop, runner)
                return
            self._started.set()
        try:
            loop.run_forever()
        finally:
            self._close(loop, runner)

    @staticmethod
    def _close(loop: asyncio.AbstractEventLoop, runner: web.AppRunner) -> None:
        # On this thread's own loop: closes the listening socket and open connections, runs the app's
        # on_shutdown/on_cleanup (also after a failed start, when setup got that far), then closes the loop.
        try:
            loop.run_until_complete(runner.cleanup())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        # No port here: notebook outputs must not change from run to run.
        state = "running" if self.running else "stopped"
        return f"<BackgroundServer on 127.0.0.1, {state}>"


def start_server(app: web.Application, *, timeout: float = 10.0) -> BackgroundServer:
    """Serve ``app`` in the background on 127.0.0.1 and an ephemeral port, stopping any previous one first.

    Calling it again with the app it is already serving returns that server (re-running a cell is harmless).

    Returns:
        The running ``BackgroundServer``; its ``url`` is where to send requests.

    Raises:
        ServerError: start or stop of the previous server timed out, the app failed to start, or the app was
            already served by a server that has stopped (then the previous server keeps running).
    """
    global _current
    with _current_lock:
        if _current is not None and _current.app is app and _current.running:
            return _current
        if app.frozen:
            # Checked before stopping the previous server, so a mistake does not leave the learner without one.
            return BackgroundServer(app, timeout=timeout).start()  # raises ServerError
        if _current is not None:
            _current.stop()
            _current = None
        server = BackgroundServer(app, timeout=timeout).start()
        _current = server
    return server


def stop_server() -> None:
    """Stop the background server started by ``start_server``, if any (idempotent)."""
    global _current
    with _current_lock:
        if _current is not None:
            _current.stop()
            _current = None
