"""Decorators that guard handlers: ``login_required`` (401) and ``admin_required`` (403).

The middleware only says who the caller is; each handler says who may call it. Putting the rule on the handler
keeps it beside the code it protects: a new route is public until someone writes the decorator, and moving a
route never silently changes its protection the way a list of paths in the middleware would.

Both work on plain handlers ``async def handler(request)`` and on ``web.View`` methods ``async def get(self)``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import hdrs, web

from .keys import CURRENT_USER, SETTINGS
from .models import User
from .responses import bearer_challenge, json_error

H = TypeVar("H", bound=Callable[..., Awaitable[web.StreamResponse]])


def _request_of(args: tuple[Any, ...]) -> web.Request:
    # A plain handler gets the request; a web.View method gets the view, which holds the request. The request
    # is tested first: isinstance() of the exact class is immediate, of an ABC such as web.View it is not.
    first = args[0]
    if isinstance(first, web.Request):
        return first
    return first.request if isinstance(first, web.View) else first


def _require_coroutine(handler: Callable[..., Any], decorator: str) -> None:
    if not inspect.iscoroutinefunction(handler):
        raise TypeError(f"@{decorator} guards async handlers; {handler.__qualname__} is not 'async def'")


def login_required(handler: H) -> H:
    """Let the handler run only for a signed-in user.

    Anonymous callers get 401 ``{"error": "authentication_required", …}`` with ``WWW-Authenticate: Bearer
    realm="…"`` and no error code (RFC 6750 §3.1: a request without credentials gets a bare challenge).
    The wrapper keeps the handler's name and docstring (``functools.wraps``).

    Raises:
        TypeError: at decoration time, when the handler is not ``async def``.
    """
    _require_coroutine(handler, "login_required")

    @functools.wraps(handler)
    async def wrapper(*args: Any) -> web.StreamResponse:
        request = _request_of(args)
        if request[CURRENT_USER] is None:
            realm = request.app[SETTINGS].realm
            raise json_error(
                web.HTTPUnauthorized,
                "authentication_required",
                "this route needs an access token: 'Authorization: Bearer <token>' from POST /login",
                headers={hdrs.WWW_AUTHENTICATE: bearer_challenge(realm)},
            )
        return await handler(*args)

    return wrapper  # type: ignore[return-value]


def admin_required(handler: H) -> H:
    """Let the handler run only for a signed-in admin.

    Anonymous callers get the same 401 as ``login_required``; signed-in users who are not admins get 403
    ``{"error": "insufficient_scope", …}`` with ``WWW-Authenticate: Bearer realm="…",
    error="insufficient_scope", …`` (RFC 6750 §3.1).

    Raises:
        TypeError: at decoration time, when the handler is not ``async def``.
    """
    _require_coroutine(handler, "admin_required")

    @login_required
    @functools.wraps(handler)
    async def wrapper(*args: Any) -> web.StreamResponse:
        request = _request_of(args)
        user: User = request[CURRENT_USER]
        if not user.is_admin:
            message = "this route is for admins only"
            realm = request.app[SETTINGS].realm
            raise json_error(
                web.HTTPForbidden,
                "insufficient_scope",
                message,
                headers={hdrs.WWW_AUTHENTICATE: bearer_challenge(realm, "insufficient_scope", message)},
            )
        return await handler(*args)

    return wrapper  # type: ignore[return-value]
