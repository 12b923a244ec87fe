"""The demo app's handlers besides ``/login``; ``routes.setup_routes`` says who may call each."""

from __future__ import annotations

from aiohttp import web

from .keys import CURRENT_USER, USERS


async def index(request: web.Request) -> web.Response:
    """``GET /``, public: ``{"message": str, "user": str | None}``, whoever calls."""
    user = request[CURRENT_USER]
    return web.json_response(
        {"message": "Hello! POST /login to get a token.", "user": str(user) if user else None}
    )


async def get_user(request: web.Request) -> web.Response:
    """``GET /get-user``: ``{"user": "User id=1: <…>", "id": int, "email": str, "is_admin": bool}``."""
    user = request[CURRENT_USER]
    if user is None:
        # setup_routes guards this route with login_required: a request without a user here is a bug in the guard
        # (a 500, logged), never an anonymous answer. Not signed_in_user: a notebook's server runs its own guard.
        raise RuntimeError("GET /get-user ran without a signed-in user: its guard let an anonymous request in")
    return web.json_response({"user": str(user), **user.to_public_dict()})


async def admin_users(request: web.Request) -> web.Response:
    """``GET /admin/users``, admins only: ``{"users": [{"id": int, "email": str, "is_admin": bool}, …]}``."""
    return web.json_response({"users": [user.to_public_dict() for user in request.app[USERS].all()]})
