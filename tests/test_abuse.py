"""tutorial_src.abuse in the app: attempt limits, the login gate, compressed and slow bodies, stale credentials.

The app runs in aiohttp's test server, which applies ``server_options`` like every runner (they are the app's
``handler_args``); tests/test_abuse_server.py checks the standalone server and gunicorn.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import threading

import jwt
import pytest
from conftest import ALICE, TEST_SECRET

from tutorial_src.abuse import LOGIN_ATTEMPTS, LOGIN_GATE, server_options
from tutorial_src.app import create_app
from tutorial_src.limits import MemoryAttemptLimiter
from tutorial_src.settings import fast_test_settings

ADDRESS_LIMIT = 50


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def limited(aiohttp_client, settings, users, clock):
    """A client of an app whose attempt limiter reads a fake clock."""
    app = create_app(settings, users)
    app[LOGIN_ATTEMPTS] = MemoryAttemptLimiter(settings.login_window, clock=clock)
    return await aiohttp_client(app)


def credentials(email: str, password: str) -> dict[str, str]:
    return {"email": email, "password": password}


async def assert_error(response, status: int, code: str) -> dict:
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    body = await response.json()
    assert set(body) == {"error", "message"} and body["error"] == code
    return body


def expired_token() -> str:
    """Alice's token, right in every way but long expired."""
    claims = {"sub": "1", "iat": 1, "exp": 2, "iss": "jwt-tutorial", "aud": "jwt-tutorial-api", "jti": "0" * 32}
    return jwt.encode(claims, TEST_SECRET, algorithm="HS256")


# --- attempt limits


@pytest.mark.parametrize("email", [ALICE[0], "nobody@example.com"], ids=["known", "unknown"])
async def test_the_20th_wrong_password_in_a_minute_gets_429_known_email_or_not(limited, settings, clock, email):
    statuses = []
    for _ in range(20):
        response = await limited.post("/login", json=credentials(email, "wrong password"))
        statuses.append(response.status)
        clock.now += 1
    allowed = settings.login_failures_per_account
    assert statuses == [401] * allowed + [429] * (20 - allowed)
    body = await assert_error(response, 429, "too_many_requests")
    # The first failure (t=1000) leaves the window at 1060; the 20th attempt came at t=1019.
    assert response.headers["Retry-After"] == "41"
    assert body["message"] == "too many failed logins; try again in 41 s"


async def test_known_and_unknown_emails_are_limited_alike(limited, settings, clock):
    answers = {}
    for email in (ALICE[0], "nobody@example.com"):
        for _ in range(settings.login_failures_per_account + 1):
            response = await limited.post("/login", json=credentials(email, "wrong password"))
        answers[email] = (response.status, response.headers["Retry-After"], await response.text())
    assert answers[ALICE[0]] == answers["nobody@example.com"]


async def test_a_right_password_passes_once_the_window_has_passed(limited, settings, clock):
    for _ in range(settings.login_failures_per_account):
        await limited.post("/login", json=credentials(*ALICE[:1], "wrong password"))
    refused = await limited.post("/login", json=credentials(*ALICE))
    assert refused.status == 429  # the account is locked for the window, right password or not
    clock.now += settings.login_window
    response = await limited.post("/login", json=credentials(*ALICE))
    assert response.status == 200, await response.text()


async def test_an_email_is_limited_whatever_its_case_and_spaces(limited, settings):
    for index in range(settings.login_failures_per_account):
        email = f"  {'Alice@Example.COM' if index % 2 else 'alice@example.com'} "
        await limited.post("/login", json=credentials(email, "wrong password"))
    response = await limited.post("/login", json=credentials(*ALICE))
    await assert_error(response, 429, "too_many_requests")


async def test_one_address_is_limited_across_emails(limited, settings):
    for index in range(settings.login_failures_per_address):
        response = await limited.post("/login", json=credentials(f"user{index}@example.com", "guess"))
        assert response.status == 401
    response = await limited.post("/login", json=credentials("another@example.com", "guess"))
    await assert_error(response, 429, "too_many_requests")


async def test_successful_logins_are_not_counted(limited, settings):
    for _ in range(settings.login_failures_per_account + 2):
        response = await limited.post("/login", json=credentials(*ALICE))
        assert response.status == 200


async def test_a_malformed_login_is_not_counted(limited, settings):
    for _ in range(settings.login_failures_per_account + 2):
        response = await limited.post("/login", json={"email": ALICE[0]})
        await assert_error(response, 400, "invalid_request")
    assert (await limited.post("/login", json=credentials(*ALICE))).status == 200


async def test_form_logins_are_limited_too(limited, settings):
    for _ in range(settings.login_failures_per_account):
        await limited.post("/login", data=credentials(ALICE[0], "wrong password"))
    response = await limited.post("/login", data=credentials(ALICE[0], "wrong password"))
    await assert_error(response, 429, "too_many_requests")


# --- the login gate


class BlockingStore:
    """Wraps a store's ``authenticate`` so each call waits for ``release``; counts the calls."""

    def __init__(self, users) -> None:
        self.calls = 0
        self.started = threading.Event()
        self.release = threading.Event()
        self._authenticate = users.authenticate
        users.authenticate = self.authenticate

    def authenticate(self, email: str, password: str):
        self.calls += 1
        self.started.set()
        self.release.wait(60)
        return self._authenticate(email, password)


@pytest.fixture
async def one_slot(aiohttp_client, users):
    settings = fast_test_settings(jwt_secret=TEST_SECRET, login_workers=1, login_queue=1)
    blocking = BlockingStore(users)
    client = await aiohttp_client(create_app(settings, users))
    yield client, blocking
    blocking.release.set()


async def wait_for(condition, what: str) -> None:
    # Not a timing assertion: a bound on how long to wait for something that must happen.
    for _ in range(3000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


async def test_a_full_queue_gets_503_with_retry_after_and_the_oldest_waiter_goes(one_slot):
    client, blocking = one_slot
    gate = client.app[LOGIN_GATE]
    first = asyncio.ensure_future(client.post("/login", json=credentials(*ALICE)))
    await asyncio.to_thread(blocking.started.wait, 60)
    second = asyncio.ensure_future(client.post("/login", json=credentials(*ALICE)))
    await wait_for(lambda: gate.waiting == 1, "the second login waits")
    third = asyncio.ensure_future(client.post("/login", json=credentials(*ALICE)))
    response = await second  # the queue of one was full: the login that waited longest is turned away
    body = await assert_error(response, 503, "temporarily_unavailable")
    assert response.headers["Retry-After"] == "1"
    assert "try again" in body["message"]
    blocking.release.set()
    assert (await first).status == 200
    assert (await third).status == 200
    assert blocking.calls == 2


async def test_a_login_whose_client_left_before_its_turn_is_never_hashed(one_slot):
    client, blocking = one_slot
    gate = client.app[LOGIN_GATE]
    first = asyncio.ensure_future(client.post("/login", json=credentials(*ALICE)))
    await asyncio.to_thread(blocking.started.wait, 60)
    body = json.dumps(credentials(*ALICE)).encode()
    _, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
    writer.write(
        b"POST /login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        + b"Content-Length: %d\r\n\r\n" % len(body)
        + body
    )
    await writer.drain()
    await wait_for(lambda: gate.waiting == 1, "the abandoned login waits")
    writer.close()
    await writer.wait_closed()
    await wait_for(lambda: gate.waiting == 0, "the abandoned login leaves the queue")
    blocking.release.set()
    assert (await first).status == 200
    assert blocking.calls == 1
    assert gate.inside == 0


async def test_a_login_cancelled_after_its_turn_came_gives_its_place_back_unhashed(one_slot, monkeypatch):
    client, blocking = one_slot
    gate = client.app[LOGIN_GATE]
    turned = asyncio.Event()

    async def hang_between_turn_and_hashing() -> None:
        turned.set()
        await asyncio.Event().wait()  # until cancelled

    monkeypatch.setattr("tutorial_src.abuse.let_the_loop_turn", hang_between_turn_and_hashing)
    body = json.dumps(credentials(*ALICE)).encode()
    _, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
    writer.write(
        b"POST /login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        + b"Content-Length: %d\r\n\r\n" % len(body)
        + body
    )
    await writer.drain()
    await asyncio.wait_for(turned.wait(), 60)
    assert gate.inside == 1
    writer.close()
    await writer.wait_closed()
    await wait_for(lambda: gate.inside == 0, "the place is given back")
    assert blocking.calls == 0


# --- request bodies


@pytest.mark.parametrize(("method", "path"), [("POST", "/login"), ("GET", "/"), ("POST", "/get-user")])
async def test_a_compressed_body_is_refused_unread_on_any_route(client, method, path):
    body = gzip.compress(b"{}" * 1000)
    response = await client.request(method, path, data=body, headers={"Content-Encoding": "gzip"})
    await assert_error(response, 415, "unsupported_media_type")
    assert response.headers["Accept-Encoding"] == "identity"


async def test_identity_content_encoding_is_accepted(client):
    response = await client.post("/login", json=credentials(*ALICE), headers={"Content-Encoding": "identity"})
    assert response.status == 200


async def test_a_slow_body_gets_408_then_the_connection_closes(aiohttp_client, users):
    settings = fast_test_settings(jwt_secret=TEST_SECRET, body_timeout=0.5)
    client = await aiohttp_client(create_app(settings, users))
    reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
    writer.write(
        b"POST /login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{"
    )
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 60)  # read() returns at EOF: the server closed
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert json.loads(body) == {
        "error": "request_timeout",
        "message": "the request body did not arrive within 0.5 s",
    }


async def test_slow_headers_are_closed(aiohttp_client, users):
    settings = fast_test_settings(jwt_secret=TEST_SECRET, header_timeout=0.5)
    client = await aiohttp_client(create_app(settings, users))
    reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: t\r\n")  # and never the blank line
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 60) == b""  # closed without an answer
    writer.close()


def test_server_options_say_what_the_runners_apply(settings):
    assert server_options(settings) == {
        "auto_decompress": False,
        "lingering_time": 0,
        "keepalive_timeout": settings.header_timeout,
        "handler_cancellation": True,
    }


# --- stale credentials


STALE_HEADERS = {
    "expired": lambda: {"Authorization": f"Bearer {expired_token()}"},
    "broken": lambda: {"Authorization": "Bearer a.b.c"},
    "malformed": lambda: {"Authorization": "Bearer a.b.c d.e.f"},
    "other scheme": lambda: {"Authorization": "Basic YWxpY2U6cHc="},
}


@pytest.mark.parametrize("kind", STALE_HEADERS)
async def test_login_with_valid_credentials_and_a_stale_header_gets_200(client, kind):
    response = await client.post("/login", json=credentials(*ALICE), headers=STALE_HEADERS[kind]())
    assert response.status == 200, await response.text()
    assert "access_token" in await response.json()


async def test_login_with_two_authorization_headers_or_a_url_token_gets_200(client):
    two = [("Authorization", "Bearer a.b.c"), ("Authorization", "Bearer d.e.f")]
    assert (await client.post("/login", json=credentials(*ALICE), headers=two)).status == 200
    url_token = await client.post("/login?access_token=a.b.c", json=credentials(*ALICE))
    assert url_token.status == 200


async def test_a_wrong_password_with_a_stale_header_is_a_wrong_password(client):
    response = await client.post("/login", json=credentials(ALICE[0], "wrong"), headers=STALE_HEADERS["expired"]())
    await assert_error(response, 401, "invalid_credentials")


@pytest.mark.parametrize("kind", STALE_HEADERS)
async def test_the_public_index_serves_a_stale_header_as_anonymous(client, kind):
    response = await client.get("/", headers=STALE_HEADERS[kind]())
    assert response.status == 200
    assert (await response.json())["user"] is None
    assert "WWW-Authenticate" not in response.headers


@pytest.mark.parametrize("path", ["/get-user", "/admin/users"])
async def test_protected_routes_keep_refusing_a_stale_token(client, path):
    response = await client.get(path, headers=STALE_HEADERS["expired"]())
    body = await assert_error(response, 401, "invalid_token")
    assert body["message"] == "the token has expired"
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="jwt-tutorial", error="invalid_token"')
    malformed = await client.get(path, headers=STALE_HEADERS["malformed"]())
    await assert_error(malformed, 400, "invalid_request")
    # RFC 6750 §3.1: another scheme carries no Bearer credentials, so the bare challenge of an anonymous caller.
    other = await client.get(path, headers=STALE_HEADERS["other scheme"]())
    await assert_error(other, 401, "authentication_required")
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="jwt-tutorial"')
    assert "error=" not in other.headers["WWW-Authenticate"]


async def test_an_unknown_route_is_not_found_whatever_the_credential(client):
    response = await client.get("/nope", headers=STALE_HEADERS["broken"]())
    await assert_error(response, 404, "not_found")


async def test_sign_up_and_password_change_wait_in_the_same_gate_and_count_no_login_attempt(one_slot):
    """Notebook 07's routes that run argon2 take a place in the login gate: with the one place taken and the
    queue of one full, a sign-up and a password change are turned away with 503, never queued without bound;
    neither counts toward the login attempt limits."""
    client, blocking = one_slot
    gate = client.app[LOGIN_GATE]
    blocking.release.set()
    login = await client.post("/login", json=credentials(*ALICE))
    assert login.status == 200
    token = (await login.json())["access_token"]
    blocking.release.clear()
    blocking.started.clear()
    first = asyncio.ensure_future(client.post("/login", json=credentials(*ALICE)))
    await asyncio.to_thread(blocking.started.wait, 60)
    new_user = credentials("new@example.com", "a passphrase of my own")
    waiting = asyncio.ensure_future(client.post("/register", json=new_user))
    await wait_for(lambda: gate.waiting == 1, "the sign-up waits for a place")
    change = asyncio.ensure_future(
        client.post(
            "/password",
            json={"current_password": ALICE[1], "new_password": "another passphrase of mine"},
            headers={"Authorization": f"Bearer {token}"},
        )
    )
    # The queue of one was full: the request that waited longest (the sign-up) is turned away.
    await assert_error(await waiting, 503, "temporarily_unavailable")
    await wait_for(lambda: gate.waiting == 1, "the password change waits for a place")
    blocking.release.set()
    assert (await first).status == 200
    assert (await change).status == 204
    assert gate.inside == 0 and gate.waiting == 0
    assert (await client.post("/register", json=new_user)).status == 201
