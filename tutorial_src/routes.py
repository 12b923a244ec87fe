"""The demo app's routes and who may call each, in one table (the aiohttp-demos ``setup_routes`` pattern).

Deny by default: every route is either guarded (its handler is a guard's wrapper) or marked ``public_route`` on
purpose; ``unguarded_routes`` lists the others, and a test fails while that list is not empty.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from .sessions import change_password, logout_all, register
from .views import admin_users, get_user, index

#: A decorator that guards a handler, such as ``decorators.login_required``.
Guard = Callable[[Handler], Handler]

F = TypeVar("F", bound=Callable[..., Any])

# Handlers marked public. Weak, so marking a handler never keeps it (or a notebook's app) alive.
_PUBLIC: weakref.WeakSet[Callable[..., Any]] = weakref.WeakSet()


def public_route(handler: F) -> F:
    """Mark a handler that anyone may call, on purpose; ``unguarded_routes`` then leaves its routes out."""
    _PUBLIC.add(handler)
    return handler


def _is_guarded_or_public(handler: Callable[..., Any]) -> bool:
    # A guard built with functools.wraps leaves __wrapped__ on its wrapper: that tells a forgotten guard from
    # a present one (not a right guard from a wrong one; the guards' own tests do that).
    return handler in _PUBLIC or hasattr(handler, "__wrapped__")


def unguarded_routes(app: web.Application) -> list[str]:
    """``"METHOD /path"`` of every route of ``app`` whose handler is neither guarded nor ``public_route``, by path.

    A class-based view (``web.View``) counts method by method: each of its ``get``, ``post``, … must be.
    """
    found: list[tuple[str, str]] = []
    for route in app.router.routes():
        handler = route.handler
        path = route.resource.canonical if route.resource is not None else "?"
        if isinstance(handler, type) and issubclass(handler, web.View):
            methods = [m for m in sorted(hdrs.METH_ALL) if hasattr(handler, m.lower())]
            found += [(path, m) for m in methods if not _is_guarded_or_public(getattr(handler, m.lower()))]
        elif not _is_guarded_or_public(handler):
            found.append((path, route.method))
    return [f"{method} {path}" for path, method in sorted(found)]


def setup_routes(
    app: web.Application,
    *,
    login_handler: Handler,
    login_required: Guard,
    admin_required: Guard,
    refresh_handler: Handler,
    logout_handler: Handler,
) -> None:
    """``GET /`` (public), ``POST /login``, ``GET /get-user`` (login required), ``GET /admin/users`` (admins);
    notebook 07's ``POST /register`` and ``POST /refresh`` (public: they carry their own credential), ``POST
    /logout``, ``POST /logout-all`` and ``POST /password`` (login required).

    The guards are applied here rather than on the handlers in ``views.py``, so that ``build_app`` can serve
    the same routes with the decorators a notebook has just written.
    """
    app.router.add_get("/", public_route(index))
    app.router.add_post("/login", public_route(login_handler))
    app.router.add_get("/get-user", login_required(get_user))
    app.router.add_get("/admin/users", admin_required(admin_users))
    app.router.add_post("/register", public_route(register))
    app.router.add_post("/refresh", public_route(refresh_handler))
    app.router.add_post("/logout", login_required(logout_handler))
    app.router.add_post("/logout-all", login_required(logout_all))
    app.router.add_post("/password", login_required(change_password))
