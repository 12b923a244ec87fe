"""Decorators that guard handlers: ``login_required`` (401) and ``admin_required`` (403).

The middleware only says who the caller is; each route says who may call it. ``routes.setup_routes`` applies
the decorators in one table beside the routes, so a new route shows its protection, or its lack of one, in the
same line, and moving a route never silently changes its protection the way a list of paths in the middleware
would.

Both work on plain handlers ``async def handler(request)`` and on ``web.View`` methods ``async def get(self)``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from aiohttp import web

from .keys import CURRENT_USER, SETTINGS
from .models import User
from .responses import bearer_error

P = ParamSpec("P")
R = TypeVar("R", bound=web.StreamResponse)


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


def signed_in_user(request: web.Request) -> User:
    """The user the auth middleware found for this request.

    Raises:
        web.HTTPUnauthorized: 401 ``{"error": "authentication_required", …}`` with ``WWW-Authenticate: Bearer
            realm="…"`` and no error code (RFC 6750 §3.1: a request without credentials gets a bare challenge),
            when nobody is signed in.
    """
    user = request[CURRENT_USER]
    if user is None:
        message = "this route needs an access token: 'Authorization: Bearer <token>' from POST /login"
        raise bearer_error(web.HTTPUnauthorized, "authentication_required", message, request.app[SETTINGS].realm)
    return user


def login_required(handler: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Let the handler run only for a signed-in user; anonymous callers get the 401 of ``signed_in_user``.

    The wrapper keeps the handler's name and docstring (``functools.wraps``).

    Raises:
        TypeError: at decoration time, when the handler is not ``async def``.
    """
    _require_coroutine(handler, "login_required")

    @functools.wraps(handler)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        signed_in_user(_request_of(args))
        return await handler(*args, **kwargs)

    return wrapper


def admin_required(handler: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Let the handler run only for a signed-in admin.

    Anonymous callers get the same 401 as ``login_required``; signed-in users who are not admins get 403
    ``{"error": "insufficient_scope", …}`` with ``WWW-Authenticate: Bearer realm="…",
    error="insufficient_scope", …`` (RFC 6750 §3.1).

    Raises:
        TypeError: at decoration time, when the handler is not ``async def``.
    """
    _require_coroutine(handler, "admin_required")

    @functools.wraps(handler)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        request = _request_of(args)
        if not signed_in_user(request).is_admin:
            message = "this route is for admins only"
            raise bearer_error(web.HTTPForbidden, "insufficient_scope", message, request.app[SETTINGS].realm)
        return await handler(*args, **kwargs)

    return wrapper
