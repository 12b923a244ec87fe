"""The demo app's routes: ``GET /``, ``POST /login``, ``GET /get-user``, ``GET /admin/users``."""

from __future__ import annotations

from conftest import ADMIN, ALICE, TEST_SECRET

from tutorial_src.app import create_app
from tutorial_src.demo import DEMO_USERS
from tutorial_src.routes import setup_routes
from tutorial_src.settings import fast_test_settings


async def login(client, email: str, password: str) -> str:
    response = await client.post("/login", json={"email": email, "password": password})
    assert response.status == 200
    return (await response.json())["access_token"]


async def test_index_is_public(client):
    response = await client.get("/")
    assert response.status == 200
    assert await response.json() == {"message": "Hello! POST /login to get a token.", "user": None}


async def test_get_user_answers_like_the_2016_article_plus_the_fields(client):
    token = await login(client, *ALICE)
    response = await client.get("/get-user", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 200
    assert await response.json() == {
        "user": "User id=1: <alice@example.com, is_admin=False>",
        "id": 1,
        "email": "alice@example.com",
        "is_admin": False,
    }


async def test_get_user_needs_a_token(client):
    response = await client.get("/get-user")
    assert response.status == 401
    assert (await response.json())["error"] == "authentication_required"


async def test_admin_users_lists_every_user_for_an_admin(client):
    token = await login(client, *ADMIN)
    response = await client.get("/admin/users", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 200
    assert await response.json() == {
        "users": [
            {"id": 1, "email": "alice@example.com", "is_admin": False},
            {"id": 2, "email": "admin@example.com", "is_admin": True},
        ]
    }


async def test_admin_users_is_forbidden_to_other_users(client):
    token = await login(client, *ALICE)
    response = await client.get("/admin/users", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 403
    assert (await response.json())["error"] == "insufficient_scope"


async def test_admin_users_needs_a_token(client):
    response = await client.get("/admin/users")
    assert response.status == 401


def test_setup_routes_adds_the_four_routes(app):
    routes = {(route.method, route.resource.canonical) for route in app.router.routes()}
    assert {("GET", "/"), ("POST", "/login"), ("GET", "/get-user"), ("GET", "/admin/users")} <= routes
    assert setup_routes.__doc__


async def test_create_app_defaults_to_the_demo_users(aiohttp_client):
    client = await aiohttp_client(create_app(fast_test_settings(jwt_secret=TEST_SECRET)))
    email, password, _ = DEMO_USERS[0]
    token = await login(client, email, password)
    response = await client.get("/get-user", headers={"Authorization": f"Bearer {token}"})
    assert (await response.json())["user"] == "User id=1: <alice@example.com, is_admin=False>"


async def test_unknown_route_is_json(client):
    response = await client.get("/nowhere")
    assert response.status == 404
    assert (await response.json())["error"] == "not_found"


async def test_wrong_method_is_json(client):
    response = await client.post("/get-user")
    assert response.status == 405
    assert (await response.json())["error"] == "method_not_allowed"
