"""The demo app's routes and who may call each, in one table (the aiohttp-demos ``setup_routes`` pattern)."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler

from .views import admin_users, get_user, index

#: A decorator that guards a handler, such as ``decorators.login_required``.
Guard = Callable[[Handler], Handler]


def setup_routes(
    app: web.Application, *, login_handler: Handler, login_required: Guard, admin_required: Guard
) -> None:
    """``GET /`` (public), ``POST /login``, ``GET /get-user`` (login required), ``GET /admin/users`` (admins).

    The guards are applied here rather than on the handlers in ``views.py``, so that ``build_app`` can serve
    the same routes with the decorators a notebook has just written.
    """
    app.router.add_get("/", index)
    app.router.add_post("/login", login_handler)
    app.router.add_get("/get-user", login_required(get_user))
    app.router.add_get("/admin/users", admin_required(admin_users))
