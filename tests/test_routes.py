"""Deny by default: ``unguarded_routes`` lists every route that is neither guarded nor marked ``public_route``."""

from __future__ import annotations

from aiohttp import web

from tutorial_src.app import build_app, create_app
from tutorial_src.decorators import admin_required, login_required
from tutorial_src.keyset import KeyRing
from tutorial_src.routes import public_route, unguarded_routes
from tutorial_src.settings import fast_test_settings


async def export_users(request: web.Request) -> web.Response:
    """Every user's record: must be guarded."""
    return web.json_response({"users": []})


async def health(request: web.Request) -> web.Response:
    """Anyone may ask."""
    return web.json_response({"ok": True})


class Profile(web.View):
    @login_required
    async def get(self) -> web.Response:
        return web.json_response({})

    async def delete(self) -> web.Response:
        return web.json_response({})


def test_the_demo_app_has_no_unguarded_route() -> None:
    assert unguarded_routes(create_app(fast_test_settings())) == []


def test_the_well_known_routes_are_public_on_purpose() -> None:
    settings = fast_test_settings(jwt_algorithm="ES256", signing_keys=KeyRing.generate("ES256"))
    app = create_app(settings)
    paths = {route.resource.canonical for route in app.router.routes() if route.resource is not None}
    assert "/.well-known/jwks.json" in paths
    assert unguarded_routes(app) == []


def test_a_route_added_without_a_guard_is_listed() -> None:
    app = create_app(fast_test_settings())
    app.router.add_get("/admin/export", export_users)
    assert unguarded_routes(app) == ["GET /admin/export", "HEAD /admin/export"]


def test_a_guarded_or_public_route_is_not_listed() -> None:
    app = create_app(fast_test_settings())
    app.router.add_get("/admin/export", admin_required(export_users), allow_head=False)
    app.router.add_get("/health", public_route(health), allow_head=False)
    assert unguarded_routes(app) == []


def test_a_view_counts_method_by_method() -> None:
    app = create_app(fast_test_settings())
    app.router.add_view("/profile/{user_id}", Profile)
    assert unguarded_routes(app) == ["DELETE /profile/{user_id}"]


def test_a_decorator_that_drops_the_guard_is_caught() -> None:
    def no_decorator(handler):
        return handler

    app = build_app(fast_test_settings(), login_required=no_decorator, admin_required=no_decorator)
    assert unguarded_routes(app) == [
        "GET /admin/users",
        "HEAD /admin/users",
        "GET /get-user",
        "HEAD /get-user",
        "POST /logout",
        "POST /logout-all",
        "POST /password",
    ]


def test_public_returns_the_handler_itself() -> None:
    assert public_route(health) is health
