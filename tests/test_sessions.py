"""tutorial_src.sessions: notebook 07's HTTP contract against ``create_app`` (token cache on), with each store.

| request                                         | answer                                                   |
|-------------------------------------------------|----------------------------------------------------------|
| POST /register {email, password}                | 201 {id, email}; 400 weak_password / invalid_email; 409  |
| POST /login                                     | 200 + refresh_token; access token typ at+jwt, with a sid |
| POST /refresh {refresh_token}                   | 200 new pair; 400 invalid_grant; a replay revokes all    |
| POST /logout (bearer, optional {refresh_token}) | 204; the session's access and refresh tokens revoked     |
| POST /logout-all                                | 204; every session of the user                           |
| POST /password {current_password, new_password} | 204; every other session; 403 wrong current; 400 weak    |
| the database locked, or its poll failing        | 503 temporarily_unavailable, JSON, Retry-After           |
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import aiosqlite
import jwt
import pytest
from aiohttp import web
from conftest import ADMIN, ALICE, TEST_SECRET

from tutorial_src import login as login_module
from tutorial_src.app import build_app, create_app
from tutorial_src.keys import CURRENT_USER, USERS
from tutorial_src.models import UserStore
from tutorial_src.passwords import password_hasher
from tutorial_src.settings import fast_test_settings
from tutorial_src.sqlite_store import SQLiteStore
from tutorial_src.tokens import create_access_token

PASSWORD = "a long enough passphrase"


@pytest.fixture
def settings():
    # A long poll: these tests look at one process, which updates its denylist at once.
    return fast_test_settings(
        jwt_secret=TEST_SECRET, db_timeout=0.2, revocation_poll=30.0, revocation_max_delay=60.0
    )


@pytest.fixture(params=["memory", "sqlite"])
def users(request, settings, tmp_path):
    if request.param == "memory":
        store = UserStore.from_settings(settings)
        store.create(*ALICE)
        store.create(*ADMIN, is_admin=True)
        return store
    return SQLiteStore(tmp_path / "sessions.db", settings)


@pytest.fixture
async def client(aiohttp_client, settings, users):
    client = await aiohttp_client(create_app(settings, users))
    if isinstance(users, SQLiteStore):  # opened by the app now: the memory store's two users
        await seed(users, settings)
    return client


async def seed(store: SQLiteStore, settings) -> None:
    hasher = password_hasher(settings)
    await store.create_user(ALICE[0], hasher.hash(ALICE[1]))
    await store.create_user(ADMIN[0], hasher.hash(ADMIN[1]), is_admin=True)


async def log_in(client, email=ALICE[0], password=ALICE[1]) -> dict:
    response = await client.post("/login", json={"email": email, "password": password})
    assert response.status == 200, await response.text()
    return await response.json()


def bearer(tokens: dict | str) -> dict[str, str]:
    token = tokens if isinstance(tokens, str) else tokens["access_token"]
    return {"Authorization": f"Bearer {token}"}


async def refresh(client, refresh_token: str):
    return await client.post("/refresh", json={"refresh_token": refresh_token})


async def assert_error(response, status: int, code: str) -> str:
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    body = await response.json()
    assert set(body) == {"error", "message"} and body["error"] == code
    return body["message"]


async def status_of(client, tokens) -> int:
    return (await client.get("/get-user", headers=bearer(tokens))).status


# --- register ---------------------------------------------------------------------------------------------


async def test_register_then_log_in(client):
    response = await client.post("/register", json={"email": " Bob@Example.com", "password": PASSWORD})
    assert response.status == 201
    body = await response.json()
    assert body == {"id": body["id"], "email": "bob@example.com"}
    assert (await log_in(client, "bob@example.com", PASSWORD))["token_type"] == "Bearer"


async def test_register_takes_a_form_too(client):
    response = await client.post("/register", data={"email": "carol@example.com", "password": PASSWORD})
    assert response.status == 201


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("short one", "at least 15 characters"),
        ("x" * 257, "at most 256 characters"),
        ("Correct Horse Battery Staple", "commonly used"),
        ("abcabcabcabcabcabc", "repeated"),
        ("robert-likes-long-passwords", "email name"),
    ],
)
async def test_register_names_the_password_rule(client, password, rule):
    response = await client.post("/register", json={"email": "robert@example.com", "password": password})
    message = await assert_error(response, 400, "weak_password")
    assert rule in message
    assert "§3.1.1.2" in message or "at most" in message


@pytest.mark.parametrize(
    "email", ["bob", "@example.com", "bob@localhost", "bob smith@example.com", "b@x." + "y" * 260]
)
async def test_register_refuses_what_is_no_email(client, email):
    response = await client.post("/register", json={"email": email, "password": PASSWORD})
    await assert_error(response, 400, "invalid_email")


async def test_register_a_taken_email_is_409(client):
    response = await client.post("/register", json={"email": "ALICE@example.com", "password": PASSWORD})
    await assert_error(response, 409, "email_taken")


async def test_register_a_malformed_body_is_400(client):
    await assert_error(await client.post("/register", json={"email": "bob@example.com"}), 400, "invalid_request")


# --- login ------------------------------------------------------------------------------------------------


async def test_login_hands_out_a_typed_access_token_of_a_session_and_a_refresh_token(client, settings):
    tokens = await log_in(client)
    assert list(tokens) == ["access_token", "token_type", "expires_in", "refresh_token"]
    assert jwt.get_unverified_header(tokens["access_token"])["typ"] == "at+jwt"
    claims = jwt.decode(tokens["access_token"], TEST_SECRET, algorithms=["HS256"], audience=settings.audience)
    assert len(claims["sid"]) == 32 and len(tokens["refresh_token"]) == 43
    assert await status_of(client, tokens) == 200


async def test_notebook_01s_login_hands_out_no_refresh_token(aiohttp_client, settings):
    users = UserStore.from_settings(settings)
    users.create(*ALICE)
    client = await aiohttp_client(build_app(settings, users, login_handler=login_module.login))
    assert list(await log_in(client)) == ["access_token", "token_type", "expires_in"]


# --- refresh ----------------------------------------------------------------------------------------------


async def test_refresh_rotates(client):
    tokens = await log_in(client)
    response = await refresh(client, tokens["refresh_token"])
    assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
    new = await response.json()
    assert new["refresh_token"] != tokens["refresh_token"] and new["access_token"] != tokens["access_token"]
    assert await status_of(client, new) == 200
    assert (await refresh(client, new["refresh_token"])).status == 200


async def test_a_spent_token_within_the_grace_gets_the_same_successor(client):
    tokens = await log_in(client)
    first = await (await refresh(client, tokens["refresh_token"])).json()
    second = await (await refresh(client, tokens["refresh_token"])).json()
    assert second["refresh_token"] == first["refresh_token"]


async def test_concurrent_refreshes_of_one_token_yield_one_successor(client):
    tokens = await log_in(client)
    answers = await asyncio.gather(*(refresh(client, tokens["refresh_token"]) for _ in range(20)))
    successors = {(await answer.json())["refresh_token"] for answer in answers if answer.status == 200}
    assert len(successors) == 1


@pytest.fixture
def no_grace(settings):
    return settings.__class__(**{**settings.__dict__, "refresh_grace": 0.0})


async def test_a_replayed_token_revokes_the_whole_family(aiohttp_client, no_grace, users):
    client = await aiohttp_client(create_app(no_grace, users))
    if isinstance(users, SQLiteStore):
        await seed(users, no_grace)
    tokens = await log_in(client)
    other = await log_in(client)  # another session of alice: it lives on
    new = await (await refresh(client, tokens["refresh_token"])).json()
    assert await status_of(client, new) == 200  # in the token cache now
    await asyncio.sleep(0.01)
    message = await assert_error(await refresh(client, tokens["refresh_token"]), 400, "invalid_grant")
    assert "revoked" in message
    assert await status_of(client, new) == 401  # right after: the family's access token
    assert await status_of(client, tokens) == 401
    await assert_error(await refresh(client, new["refresh_token"]), 400, "invalid_grant")
    assert await status_of(client, other) == 200
    assert (await refresh(client, other["refresh_token"])).status == 200


async def test_one_kind_of_token_never_passes_for_the_other(client):
    # RFC 8725 §3.11-3.12: a refresh token as a bearer token, an access token at /refresh.
    tokens = await log_in(client)
    await assert_error(
        await client.get("/get-user", headers=bearer(tokens["refresh_token"])), 401, "invalid_token"
    )
    await assert_error(await refresh(client, tokens["access_token"]), 400, "invalid_grant")


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"json": {}}, 400, "invalid_request"),
        ({"json": {"refresh_token": 42}}, 400, "invalid_request"),
        ({"json": ["x"]}, 400, "invalid_request"),
        ({"data": "{", "headers": {"Content-Type": "application/json"}}, 400, "invalid_request"),
        ({"data": "refresh_token=x", "headers": {"Content-Type": "text/plain"}}, 415, "unsupported_media_type"),
        (
            {"data": b"--x\r\n", "headers": {"Content-Type": "multipart/form-data; boundary=y"}},
            400,
            "invalid_request",
        ),
        ({"data": {"refresh_token": "not-a-token"}}, 400, "invalid_grant"),
    ],
)
async def test_refresh_refuses_malformed_bodies(client, kwargs, status, code):
    await assert_error(await client.post("/refresh", **kwargs), status, code)


# --- logout -----------------------------------------------------------------------------------------------


async def test_logout_ends_the_session(client):
    tokens = await log_in(client)
    other = await log_in(client)
    assert await status_of(client, tokens) == 200
    response = await client.post("/logout", headers=bearer(tokens))
    assert response.status == 204
    await assert_error(await client.get("/get-user", headers=bearer(tokens)), 401, "invalid_token")
    await assert_error(await refresh(client, tokens["refresh_token"]), 400, "invalid_grant")
    assert await status_of(client, other) == 200


async def test_logout_also_ends_the_session_of_a_refresh_token_in_the_body(client):
    tokens, second, admins = await log_in(client), await log_in(client), await log_in(client, *ADMIN)
    response = await client.post(
        "/logout", headers=bearer(tokens), json={"refresh_token": second["refresh_token"]}
    )
    assert response.status == 204
    await assert_error(await refresh(client, second["refresh_token"]), 400, "invalid_grant")
    # Another user's refresh token, or an unknown one, ends nothing (RFC 7009 §2.2: 200 all the same).
    third = await log_in(client)
    response = await client.post("/logout", headers=bearer(third), json={"refresh_token": admins["refresh_token"]})
    assert response.status == 204
    assert (await refresh(client, admins["refresh_token"])).status == 200
    fourth = await log_in(client)
    response = await client.post("/logout", headers=bearer(fourth), json={"refresh_token": "unknown"})
    assert response.status == 204
    fifth = await log_in(client)
    assert (await client.post("/logout", headers=bearer(fifth), json={})).status == 204


async def test_logout_ends_an_access_token_without_a_session(client, settings):
    token = create_access_token(client.server.app[USERS].get_by_id(1), settings)  # as notebooks 01-06 mint
    assert await status_of(client, token) == 200
    assert (await client.post("/logout", headers=bearer(token))).status == 204
    assert await status_of(client, token) == 401


async def test_logout_needs_a_login(client):
    await assert_error(await client.post("/logout"), 401, "authentication_required")


async def test_logout_all_ends_every_session(client):
    sessions = [await log_in(client) for _ in range(3)]
    admins = await log_in(client, *ADMIN)
    assert (await client.post("/logout-all", headers=bearer(sessions[0]))).status == 204
    for tokens in sessions:
        assert await status_of(client, tokens) == 401
        await assert_error(await refresh(client, tokens["refresh_token"]), 400, "invalid_grant")
    assert await status_of(client, admins) == 200


# --- password ---------------------------------------------------------------------------------------------


async def test_a_new_password_ends_every_other_session(client):
    current, other = await log_in(client), await log_in(client)
    body = {"current_password": ALICE[1], "new_password": PASSWORD}
    assert (await client.post("/password", headers=bearer(current), json=body)).status == 204
    assert await status_of(client, current) == 200
    assert (await refresh(client, current["refresh_token"])).status == 200
    assert await status_of(client, other) == 401
    await assert_error(await refresh(client, other["refresh_token"]), 400, "invalid_grant")
    await assert_error(
        await client.post("/login", json={"email": ALICE[0], "password": ALICE[1]}), 401, "invalid_credentials"
    )
    await log_in(client, ALICE[0], PASSWORD)


async def test_a_wrong_current_password_is_403_and_a_weak_new_one_400(client):
    tokens = await log_in(client)
    wrong = {"current_password": "not it", "new_password": PASSWORD}
    await assert_error(
        await client.post("/password", headers=bearer(tokens), json=wrong), 403, "invalid_credentials"
    )
    weak = {"current_password": ALICE[1], "new_password": "short"}
    await assert_error(await client.post("/password", headers=bearer(tokens), json=weak), 400, "weak_password")
    await assert_error(await client.post("/password", headers=bearer(tokens), json={}), 400, "invalid_request")


# --- deleting a user --------------------------------------------------------------------------------------


async def test_deleting_a_user_revokes_everything(client):
    tokens = await log_in(client)
    assert await status_of(client, tokens) == 200
    assert await client.server.app[USERS].delete_user(1)
    assert await status_of(client, tokens) == 401
    await assert_error(await refresh(client, tokens["refresh_token"]), 400, "invalid_grant")


# --- guards that let the wrong request through (a broken notebook guard): never a revocation by mistake ------


def no_guard(handler):
    return handler


@web.middleware
async def everyone_is_alice(request, handler):
    request[CURRENT_USER] = request.app[USERS].get_by_id(1)
    return await handler(request)


@web.middleware
async def nobody(request, handler):
    request[CURRENT_USER] = None
    return await handler(request)


async def test_logout_without_a_token_behind_a_missing_guard_is_401(aiohttp_client, settings, users):
    client = await aiohttp_client(build_app(settings, users, login_required=no_guard))
    await assert_error(await client.post("/logout"), 401, "invalid_token")


async def test_a_token_the_middleware_did_not_check_is_checked_again(aiohttp_client, settings, users):
    client = await aiohttp_client(build_app(settings, users, auth_middleware=everyone_is_alice))
    if isinstance(users, SQLiteStore):
        await seed(users, settings)
    await assert_error(await client.post("/logout-all", headers=bearer("not.a.token")), 401, "invalid_token")


async def test_a_guard_that_lets_nobody_in_is_a_bug_not_a_logout(aiohttp_client, settings, users):
    client = await aiohttp_client(build_app(settings, users, auth_middleware=nobody, login_required=no_guard))
    token = create_access_token(UserStore.from_settings(settings).create(*ALICE), settings, session_id="s" * 32)
    response = await client.post("/logout-all", headers=bearer(token))
    await assert_error(response, 500, "internal_error")


# --- two processes on one file: what the other one has not read yet ------------------------------------------


@pytest.fixture
async def sqlite_client(aiohttp_client, settings, tmp_path):
    path = tmp_path / "two.db"
    store = SQLiteStore(path, settings)
    client = await aiohttp_client(create_app(settings, store))
    other = SQLiteStore(path, settings)  # another process's store
    await other.open()
    yield client, other
    await other.close()


async def test_a_token_spent_moments_ago_through_another_process_is_refused_not_a_replay(sqlite_client, settings):
    client, other = sqlite_client
    user = await other.create_user("bob@example.com", password_hasher(settings).hash(PASSWORD))
    _, token = await other.start_session(user.id, now=time.time(), lifetime=100, token_ttl=100)
    successor = (await other.use_refresh_token(token, now=time.time(), grace=5, token_ttl=100)).successor
    message = await assert_error(await refresh(client, token), 400, "invalid_grant")
    assert "just used" in message
    await client.server.app[USERS].sync()
    assert (await refresh(client, successor)).status == 200  # the family lives on


async def test_a_user_this_process_has_not_read_yet_cannot_refresh(sqlite_client, settings):
    client, other = sqlite_client
    user = await other.create_user("bob@example.com", "hash")
    _, token = await other.start_session(user.id, now=time.time(), lifetime=100, token_ttl=100)
    assert "user" in await assert_error(await refresh(client, token), 400, "invalid_grant")


# --- the database locked or broken: 503, never 500, never a revoked token accepted ---------------------------


@contextlib.asynccontextmanager
async def write_locked(path):
    """Another connection holds the write lock. Through aiosqlite: a blocking sqlite3 call here would stop the
    event loop, and with it the app's own transaction that holds the lock meanwhile."""
    async with aiosqlite.connect(path, isolation_level=None) as holder:
        await holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            await holder.execute("ROLLBACK")


async def execute(path, statement: str) -> None:
    async with aiosqlite.connect(path, isolation_level=None) as db:
        await db.execute(statement)


async def test_a_locked_database_is_503_json(aiohttp_client, settings, tmp_path):
    path = tmp_path / "locked.db"
    client = await aiohttp_client(create_app(settings, SQLiteStore(path, settings, demo_users=True)))
    tokens = await log_in(client, "alice@example.com", "correct horse battery staple")
    async with write_locked(path):
        for response in (
            await client.post("/register", json={"email": "bob@example.com", "password": PASSWORD}),
            await refresh(client, tokens["refresh_token"]),
            await client.post("/logout", headers=bearer(tokens)),
        ):
            message = await assert_error(response, 503, "temporarily_unavailable")
            assert "locked" in message and response.headers["Retry-After"] == "1"
    # The logout that failed still revoked the access token in this process: it never passes again.
    assert await status_of(client, tokens) == 401
    assert (
        await client.post(
            "/logout", headers=bearer(await log_in(client, "alice@example.com", "correct horse battery staple"))
        )
    ).status == 204


async def test_a_stale_denylist_refuses_every_token_until_the_database_answers(aiohttp_client, tmp_path, caplog):
    caplog.set_level(logging.INFO, "tutorial_src.revocation")
    settings = fast_test_settings(jwt_secret=TEST_SECRET, revocation_poll=0.05, revocation_max_delay=0.3)
    path = tmp_path / "stale.db"
    client = await aiohttp_client(create_app(settings, SQLiteStore(path, settings, demo_users=True)))
    tokens = await log_in(client, "alice@example.com", "correct horse battery staple")
    assert await status_of(client, tokens) == 200  # cached now
    await execute(path, "ALTER TABLE changes RENAME TO changes_elsewhere")
    try:
        assert await eventually(client, tokens, 503)
        await assert_error(await client.get("/get-user", headers=bearer(tokens)), 503, "temporarily_unavailable")
        assert (await client.get("/")).status == 200  # no token, nothing to check
    finally:
        await execute(path, "ALTER TABLE changes_elsewhere RENAME TO changes")
    assert await eventually(client, tokens, 200)
    assert "cannot read the revocations" in caplog.text and "revocations read again" in caplog.text


async def eventually(client, tokens, status: int, bound: float = 30.0) -> bool:
    """Whether GET /get-user answers ``status`` within ``bound`` seconds (a bound, not a timing assertion)."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if await status_of(client, tokens) == status:
            return True
        await asyncio.sleep(0.05)
    return False
