"""The demo app's routes, in one place (the aiohttp-demos ``setup_routes`` pattern)."""

from __future__ import annotations

from aiohttp import web

from .login import login
from .views import admin_users, get_user, index


def setup_routes(app: web.Application) -> None:
    """``GET /`` (public), ``POST /login``, ``GET /get-user`` (login required), ``GET /admin/users`` (admins)."""
    app.router.add_get("/", index)
    app.router.add_post("/login", login)
    app.router.add_get("/get-user", get_user)
    app.router.add_get("/admin/users", admin_users)
