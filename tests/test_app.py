"""tutorial_src.app: ``build_app`` makes every app of the series; ``create_app`` is it with the package's parts."""

from __future__ import annotations

import pytest
from aiohttp import web

from tutorial_src.app import build_app, create_app
from tutorial_src.auth import auth_middleware
from tutorial_src.keys import SETTINGS, USERS
from tutorial_src.lab.vulnerable import WEAKNESSES, create_vulnerable_app
from tutorial_src.middleware import error_middleware
from tutorial_src.models import UserStore
from tutorial_src.sqlite_store import SQLiteStore

# A syntactically valid bearer header of 8.5 KB: over aiohttp's default 8190-byte header line limit.
LONG_HEADER = "Bearer " + "a" * (8704 - len("Bearer "))


def routes_of(app: web.Application) -> set[tuple[str, str]]:
    return {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }


def test_create_app_is_build_app_with_the_package_parts(settings, users):
    app = create_app(settings, users, token_cache=False)
    built = build_app(settings, users)
    plain = list(app.middlewares)
    assert plain == list(built.middlewares)
    assert plain[0] is error_middleware
    assert auth_middleware in plain
    # The demo app composes notebook 06's layer in place of the plain auth middleware, nothing else changes.
    layered = list(create_app(settings, users).middlewares)
    at = plain.index(auth_middleware)
    assert len(layered) == len(plain)
    assert layered[at] is not auth_middleware
    assert layered[:at] + layered[at + 1 :] == plain[:at] + plain[at + 1 :]
    assert (
        routes_of(app)
        == routes_of(built)
        == {
            ("GET", "/"),
            ("POST", "/login"),
            ("GET", "/get-user"),
            ("GET", "/admin/users"),
            ("POST", "/register"),
            ("POST", "/refresh"),
            ("POST", "/logout"),
            ("POST", "/logout-all"),
            ("POST", "/password"),
        }
    )


async def test_build_app_serves_the_parts_it_is_given(aiohttp_client, settings, users):
    calls = []

    def recording(name):
        def guard(handler):
            async def guarded(request: web.Request) -> web.StreamResponse:
                calls.append(name)
                return web.json_response({"guarded_by": name})

            return guarded

        return guard

    async def my_login(request: web.Request) -> web.Response:
        calls.append("login")
        return web.json_response({"token": "mine"})

    @web.middleware
    async def my_auth(request: web.Request, handler):
        calls.append("auth")
        return await auth_middleware(request, handler)

    client = await aiohttp_client(
        build_app(
            settings,
            users,
            auth_middleware=my_auth,
            login_handler=my_login,
            login_required=recording("login_required"),
            admin_required=recording("admin_required"),
        )
    )
    # A body the login guard (abuse.login_guard) can read: it reads the email before the handler runs.
    credentials = {"email": "someone@example.com", "password": "any"}
    assert await (await client.post("/login", json=credentials)).json() == {"token": "mine"}
    assert await (await client.get("/get-user")).json() == {"guarded_by": "login_required"}
    assert await (await client.get("/admin/users")).json() == {"guarded_by": "admin_required"}
    assert calls == ["auth", "login", "auth", "login_required", "auth", "admin_required"]


@pytest.mark.parametrize("weakness", WEAKNESSES)
async def test_the_twin_answers_a_long_bearer_header_as_the_app_does(aiohttp_client, settings, users, weakness):
    # The twin once lost the app's handler_args: aiohttp then refused the 8.5 KB header with a plain-text 400.
    answers = []
    for app in (create_app(settings, users), create_vulnerable_app(weakness, settings, users)):
        client = await aiohttp_client(app)
        response = await client.get("/admin/users", headers={"Authorization": LONG_HEADER})
        body = await response.json()  # raises on a plain-text body
        challenge = response.headers["WWW-Authenticate"]
        answers.append(
            (response.status, response.content_type, body["error"], 'error="invalid_token"' in challenge)
        )
    assert answers[0] == answers[1] == (401, "application/json", "invalid_token", True)


def test_create_app_keeps_its_users_in_the_file_jwt_tutorial_db_names(settings, tmp_path, monkeypatch):
    monkeypatch.setenv("JWT_TUTORIAL_DB", str(tmp_path / "env.db"))
    store = create_app(settings)[USERS]
    assert isinstance(store, SQLiteStore) and store.path == tmp_path / "env.db" and store.demo_users
    monkeypatch.delenv("JWT_TUTORIAL_DB")
    assert isinstance(create_app(settings)[USERS], UserStore)


def test_the_apps_settings_carry_the_stores_denylist(settings, users):
    app = build_app(settings, users)
    assert app[SETTINGS].revocations is users.revocations and settings.revocations is None
    assert app[SETTINGS] == settings  # the denylist is state, not a setting
    assert build_app(app[SETTINGS], users)[SETTINGS] is app[SETTINGS]
