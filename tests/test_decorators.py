"""``login_required`` and ``admin_required`` on plain handlers and on ``web.View`` methods."""

from __future__ import annotations

import inspect

import pytest
from aiohttp import web

from tutorial_src.app import build_app
from tutorial_src.decorators import admin_required, login_required, signed_in_user
from tutorial_src.tokens import create_access_token

REALM = 'Bearer realm="jwt-tutorial"'


@login_required
async def members(request: web.Request) -> web.Response:
    """Members only."""
    return web.json_response({"hello": signed_in_user(request).email})


@admin_required
async def admins(request: web.Request) -> web.Response:
    """Admins only."""
    return web.json_response({"hello": signed_in_user(request).email})


class Profile(web.View):
    @login_required
    async def get(self) -> web.Response:
        """Read your profile."""
        return web.json_response({"hello": signed_in_user(self.request).email})

    @admin_required
    async def delete(self) -> web.Response:
        """Admins only."""
        return web.json_response({"deleted_by": signed_in_user(self.request).email})


@pytest.fixture
async def guarded(aiohttp_client, settings, users):
    app = build_app(settings, users)
    app.router.add_get("/members", members)
    app.router.add_get("/admins", admins)
    app.router.add_view("/profile", Profile)
    return await aiohttp_client(app)


@pytest.fixture
def auth(settings, users):
    def header(user_id: int) -> dict[str, str]:
        return {"Authorization": f"Bearer {create_access_token(users.get_by_id(user_id), settings)}"}

    return header


ANONYMOUS, ALICE, ADMIN = None, 1, 2
TABLE = [
    # (method, path, who, status, error code)
    ("GET", "/members", ANONYMOUS, 401, "authentication_required"),
    ("GET", "/members", ALICE, 200, None),
    ("GET", "/members", ADMIN, 200, None),
    ("GET", "/admins", ANONYMOUS, 401, "authentication_required"),
    ("GET", "/admins", ALICE, 403, "insufficient_scope"),
    ("GET", "/admins", ADMIN, 200, None),
    ("GET", "/profile", ANONYMOUS, 401, "authentication_required"),
    ("GET", "/profile", ALICE, 200, None),
    ("DELETE", "/profile", ANONYMOUS, 401, "authentication_required"),
    ("DELETE", "/profile", ALICE, 403, "insufficient_scope"),
    ("DELETE", "/profile", ADMIN, 200, None),
]


@pytest.mark.parametrize(("method", "path", "who", "status", "error"), TABLE)
async def test_guard(guarded, auth, method, path, who, status, error):
    headers = auth(who) if who else {}
    response = await guarded.request(method, path, headers=headers)
    assert response.status == status
    body = await response.json()
    challenge = response.headers.get("WWW-Authenticate")
    if error is None:
        assert "hello" in body or "deleted_by" in body
        assert challenge is None
    else:
        assert body["error"] == error
        assert body["message"]
    if error == "authentication_required":
        # RFC 6750 §3.1: no credentials, no error code in the challenge.
        assert challenge == REALM
    if error == "insufficient_scope":
        assert challenge.startswith(f'{REALM}, error="insufficient_scope", error_description="')


@pytest.mark.parametrize(
    ("handler", "name", "doc"),
    [
        (members, "members", "Members only."),
        (admins, "admins", "Admins only."),
        (Profile.get, "get", "Read your profile."),
        (Profile.delete, "delete", "Admins only."),
    ],
)
def test_name_and_docstring_are_kept(handler, name, doc):
    assert handler.__name__ == name
    assert handler.__doc__ == doc
    assert inspect.iscoroutinefunction(handler)


def test_the_wrapped_handler_is_reachable():
    # functools.wraps sets __wrapped__, which inspect.unwrap follows to the original function.
    assert inspect.unwrap(members).__code__.co_name == "members"
    assert inspect.unwrap(admins).__code__.co_name == "admins"


@pytest.mark.parametrize("decorator", [login_required, admin_required])
def test_sync_handlers_are_refused_at_decoration_time(decorator):
    def not_async(request):
        return web.json_response({})

    with pytest.raises(TypeError, match="not 'async def'"):
        decorator(not_async)


async def test_the_handler_does_not_run_for_a_refused_request(aiohttp_client, settings, users):
    calls = []

    @admin_required
    async def handler(request):
        calls.append(request)
        return web.json_response({})

    app = build_app(settings, users)
    app.router.add_get("/admin-only", handler)
    client = await aiohttp_client(app)
    token = create_access_token(users.get_by_id(1), settings)
    assert (await client.get("/admin-only")).status == 401
    assert (await client.get("/admin-only", headers={"Authorization": f"Bearer {token}"})).status == 403
    assert calls == []
