"""The server under abuse: what bounds the work a hostile or broken client can make the server do.

- ``server_options``: the protocol options of ``web.Application(handler_args=...)``, so ``python -m
  tutorial_src``, gunicorn's ``GunicornWebWorker``, a test client and a notebook's server all apply them: no
  decompression of request bodies, no lingering read of a refused body, the header timeout, and handlers
  cancelled when their client hangs up.
- ``request_hygiene``: bodies with a ``Content-Encoding`` are refused (415), a body must arrive within
  ``body_timeout`` (408), and a client gone before its answer is logged once, at INFO.
- ``login_guard``: attempt limits (429) and the bounded argon2 work (503) around ``POST /login``.
- ``ignore_stale_credentials``: a route that serves anonymous callers ignores a broken or stale credential.

``setup_abuse_limits(app)`` installs them. The design and its reasons: docs/design.md, "The server under abuse".
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Hashable
from typing import Any

from aiohttp import hdrs, web

from .errors import TutorialError
from .keys import CURRENT_USER, SETTINGS
from .limits import (
    AttemptLimiter,
    LoginGate,
    LoginQueueFull,
    MemoryAttemptLimiter,
    TooManyAttempts,
    cpus_available,
)
from .login import read_credentials
from .logs import install_log_scrubbing
from .middleware import Handler
from .responses import json_error
from .settings import Settings

logger = logging.getLogger(__name__)

#: The app's attempt limiter (``limits.MemoryAttemptLimiter`` unless a shared store replaces it).
LOGIN_ATTEMPTS = web.AppKey("login_attempts", AttemptLimiter)
#: The app's bound on logins hashing at once.
LOGIN_GATE = web.AppKey("login_gate", LoginGate)
#: The routes ``login_guard`` guards: every route that checks a password (``/auth/login`` is the browser's,
#: notebook 08's ``browser.AUTH_PREFIX``; a test checks the two agree).
LOGIN_PATHS = frozenset({"/login", "/auth/login"})
#: Every route that runs argon2 (notebook 07's sign-up and password change too): each waits for a place in the
#: same bounded gate, so no route lets a flood of requests queue unbounded hashing work.
HASHING_PATHS = LOGIN_PATHS | {"/register", "/password"}
#: What a client waits before trying again when every login slot is busy, in seconds.
BUSY_RETRY_AFTER = 1


def server_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for aiohttp's ``RequestHandler`` (``web.Application(handler_args=...)``).

    ``handler_args`` win over the runner's own (``aiohttp/web_app.py``, ``_make_handler``), so gunicorn's
    ``--keep-alive`` is replaced by ``header_timeout`` too.
    """
    return {
        # aiohttp inflates a gzip body as it arrives, before any handler decides to refuse it: not here.
        "auto_decompress": False,
        # After an answer sent before the body was read (413, 415, 401…), aiohttp reads and discards the rest
        # for up to 10 s ("lingering close"), inflating it too. 0: the connection is closed instead.
        "lingering_time": 0,
        # aiohttp closes a connection that has not delivered a complete request head this long after it
        # opened, or after the previous answer (aiohttp/web_protocol.py, _process_keepalive).
        "keepalive_timeout": settings.header_timeout,
        # A handler whose client has gone is cancelled: a login waiting for a hashing slot is dropped.
        "handler_cancellation": True,
    }


class BodyTimeout(TutorialError):
    """The request body did not arrive within ``Settings.body_timeout``."""


def _expire(request: web.Request) -> None:
    if not request.content.is_eof():
        request.content.set_exception(BodyTimeout())


@web.middleware
async def request_hygiene(request: web.Request, handler: Handler) -> web.StreamResponse:
    """415 for a compressed body, 408 for a body slower than ``body_timeout``; log a client that left."""
    settings = request.app[SETTINGS]
    deadline = None
    if request.body_exists:
        coding = request.headers.get(hdrs.CONTENT_ENCODING, "identity").strip().lower()
        if coding != "identity":
            # RFC 9110 §15.5.16: 415 for an unsupported content coding, with Accept-Encoding saying which are.
            raise json_error(
                web.HTTPUnsupportedMediaType,
                "unsupported_media_type",
                f"request bodies are not decompressed here; send the body without Content-Encoding: {coding}",
                headers={hdrs.ACCEPT_ENCODING: "identity"},
            )
        if not request.content.is_eof():
            # A reader of the body then gets BodyTimeout; the handler itself is not timed (hashing may wait).
            deadline = asyncio.get_running_loop().call_later(settings.body_timeout, _expire, request)
    try:
        return await handler(request)
    except BodyTimeout:
        raise json_error(
            web.HTTPRequestTimeout,
            "request_timeout",
            f"the request body did not arrive within {settings.body_timeout:g} s",
        ) from None
    except asyncio.CancelledError:
        # aiohttp cancels the handler when the connection is lost (handler_cancellation): no answer, no
        # access log line; one line here says what happened. On shutdown aiohttp cancels the handler while the
        # connection is still open: no line then.
        if request.transport is None:
            logger.info("%s %s: the client closed the connection before the answer", request.method, request.path)
        raise
    finally:
        if deadline is not None:
            deadline.cancel()


def _hashing_path(request: web.Request) -> str | None:
    """The route's path when the request is a ``POST`` to a route of ``HASHING_PATHS``, else ``None``."""
    info = request.match_info
    if info.http_exception is not None or request.method != hdrs.METH_POST:
        return None
    resource = info.route.resource
    path = resource.canonical if resource is not None else None
    return path if path in HASHING_PATHS else None


async def let_the_loop_turn() -> None:
    """Two turns of the event loop, before any argon2 work: a client that hung up right after its request (its
    EOF already waiting in the socket) is noticed, and its handler cancelled, first."""
    await asyncio.sleep(0)
    await asyncio.sleep(0)


def _leave(gate: LoginGate) -> Callable[[asyncio.Future[web.StreamResponse]], None]:
    def done(work: asyncio.Future[web.StreamResponse]) -> None:
        gate.leave()
        if not work.cancelled():
            work.exception()  # retrieved: a login whose client left may end in a 401 nobody reads

    return done


@web.middleware
async def login_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Around ``POST /login``: 429 past the attempt limits, 503 when the hashing queue is full.

    An attempt is counted before its password is checked (so parallel guesses count too) and forgiven when
    the login succeeds or never reaches argon2. Once inside the gate the handler runs shielded: if the client
    leaves while argon2 runs in a thread, the place is given back only when that work is over. Sign-up and
    password changes (``HASHING_PATHS``) wait in the same gate; only logins count toward the attempt limits.
    """
    path = _hashing_path(request)
    if path is None:
        return await handler(request)
    attempts = request.app[LOGIN_ATTEMPTS]
    ticket = await _count_attempt(request) if path in LOGIN_PATHS else None
    gate = request.app[LOGIN_GATE]
    try:
        await gate.enter()
    except LoginQueueFull:
        await _forgive(attempts, ticket)
        # The error code of RFC 6749 §4.1.2.1 for a server too busy to handle the request now.
        raise json_error(
            web.HTTPServiceUnavailable,
            "temporarily_unavailable",
            "the server is checking too many passwords at once; try again shortly",
            headers={hdrs.RETRY_AFTER: str(BUSY_RETRY_AFTER)},
        ) from None
    except asyncio.CancelledError:
        await _forgive(attempts, ticket)  # dropped before any hashing: nothing was tried
        raise
    try:
        await let_the_loop_turn()
    except asyncio.CancelledError:
        gate.leave()
        await _forgive(attempts, ticket)
        raise
    work = asyncio.ensure_future(handler(request))
    work.add_done_callback(_leave(gate))
    try:
        response = await asyncio.shield(work)
    except (web.HTTPUnauthorized, asyncio.CancelledError):
        raise  # a wrong password, or one checked for a client that left: the attempt counts
    except BaseException:
        await _forgive(attempts, ticket)
        raise
    await _forgive(attempts, ticket)
    return response


async def _forgive(attempts: AttemptLimiter, ticket: Hashable | None) -> None:
    if ticket is not None:
        await attempts.forgive(ticket)


async def _count_attempt(request: web.Request) -> Hashable:
    """Count a login attempt against its email and its address; 429 past either limit."""
    email, _ = await read_credentials(request)  # aiohttp keeps the body: the handler reads it again for free
    settings = request.app[SETTINGS]
    # One key for the email whether or not it has an account: the limit says nothing about which emails exist.
    limits = {
        f"email:{email.strip().lower()}": settings.login_failures_per_account,
        f"address:{request.remote}": settings.login_failures_per_address,
    }
    try:
        return await request.app[LOGIN_ATTEMPTS].begin(limits)
    except TooManyAttempts as limit:
        # RFC 6585 §4: 429 Too Many Requests, with Retry-After.
        raise json_error(
            web.HTTPTooManyRequests,
            "too_many_requests",
            f"too many failed logins; try again in {limit.retry_after_header} s",
            headers={hdrs.RETRY_AFTER: limit.retry_after_header},
        ) from None


def _error_code(exc: web.HTTPException) -> str | None:
    try:
        code = json.loads(exc.text or "").get("error")
        return code if isinstance(code, str) else None
    except (ValueError, AttributeError):
        return None


def _without_credentials(request: web.Request) -> web.Request:
    # A list of pairs, not a dict: other repeated headers stay repeated.
    headers = [(name, value) for name, value in request.headers.items() if name.lower() != "authorization"]
    return request.clone(headers=headers, rel_url=request.rel_url.without_query_params("access_token"))


@web.middleware
async def ignore_stale_credentials(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A credential the auth middleware refuses is ignored by routes that serve anonymous callers.

    It sits just outside ``auth_middleware``. When that refuses the credentials (400 ``invalid_request`` or
    401 ``invalid_token``: it raises before setting ``CURRENT_USER``), the request runs again without them. A
    route that serves anonymous callers then answers as for one (``POST /login`` logs in again, ``GET /``
    says hello); a route that needs a user answers with the original refusal, which says what is wrong with
    the token, instead of "no credentials".
    """
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if CURRENT_USER in request or exc.status not in (400, 401):
            raise
        refusal = exc
    try:
        return await handler(_without_credentials(request))
    except web.HTTPUnauthorized as exc:
        if _error_code(exc) == "authentication_required":
            raise refusal from None
        raise


def setup_abuse_limits(app: web.Application) -> None:
    """The attempt limiter, the login gate and the ``request_hygiene`` and ``login_guard`` middlewares.

    Call it once the app holds its ``SETTINGS``; the app also needs ``handler_args=server_options(settings)``
    and ``ignore_stale_credentials`` just before ``auth_middleware``.
    """
    settings = app[SETTINGS]
    attempts: AttemptLimiter = MemoryAttemptLimiter(settings.login_window)
    app[LOGIN_ATTEMPTS] = attempts
    app[LOGIN_GATE] = LoginGate(settings.login_workers or cpus_available(), settings.login_queue)
    app.middlewares.extend([request_hygiene, login_guard])
    install_log_scrubbing()
