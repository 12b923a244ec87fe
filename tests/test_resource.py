"""The resource service: it verifies the issuer's tokens with the published keys alone, fetched without
blocking, cached, refetched on an unknown kid at most once per cooldown; attacks of notebook 05 fail on it."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tutorial_src.app import create_app
from tutorial_src.keyset import KeyRing, SigningKey, rotate
from tutorial_src.lab.attacks import create_key_set_app, forge_token, new_rsa_key, public_jwk, sign_rs256
from tutorial_src.lab.server import BackgroundServer
from tutorial_src.models import User, UserStore
from tutorial_src.resource import (
    JWKS,
    VERIFIED,
    ResourceSettings,
    create_resource_app,
    max_age,
    should_refetch,
    usable_keys,
)
from tutorial_src.settings import fast_test_settings
from tutorial_src.tokens import create_access_token

ALICE = User(1, "alice@example.com", "not a hash", False)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ring():
    return KeyRing.generate("ES256")


@pytest.fixture
def issuer_settings(ring):
    return fast_test_settings(jwt_algorithm="ES256", signing_keys=ring, jwks_max_age=60, access_token_ttl=60)


@pytest.fixture
async def issuer(aiohttp_server, issuer_settings):
    return await aiohttp_server(create_app(issuer_settings, UserStore.from_settings(issuer_settings)))


def resource_settings(issuer_url, issuer_settings, **overrides):
    values = {
        "jwks_uri": f"{issuer_url}/.well-known/jwks.json",
        "issuer": issuer_settings.issuer,
        "audience": issuer_settings.audience,
        "refetch_cooldown": 5.0,
        "fetch_timeout": 5.0,
    }
    values.update(overrides)
    return ResourceSettings(**values)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
async def service(aiohttp_client, issuer, issuer_settings, clock):
    app = create_resource_app(resource_settings(str(issuer.make_url("")).rstrip("/"), issuer_settings))
    app[JWKS].clock = clock
    return await aiohttp_client(app)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


async def get(service, token):
    response = await service.get("/resource", headers=bearer(token))
    return response.status, await response.json(), response.headers.get("WWW-Authenticate")


# --- unit pieces ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("known", "stale", "now", "last", "expected"),
    [
        (True, False, 100.0, 99.0, False),  # known kid, fresh set: never fetch per request
        (True, False, 100.0, None, False),
        (False, False, 100.0, None, True),  # nothing fetched yet
        (False, False, 100.0, 90.0, True),  # unknown kid, cooldown over
        (False, False, 100.0, 95.0, True),  # exactly at the cooldown
        (False, False, 100.0, 96.0, False),  # unknown kid within the cooldown
        (True, True, 100.0, 90.0, True),  # stale set
        (True, True, 100.0, 99.0, False),  # stale, but fetched (or tried) just now
    ],
)
def test_should_refetch(known, stale, now, last, expected):
    assert should_refetch(known, stale, now, last, 5.0) is expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("public, max-age=120", 120.0),
        ("max-age=0", 0.0),
        ("MAX-AGE = 7 , public", 7.0),
        ("public", 300.0),
        (None, 300.0),
        ("max-age=abc", 300.0),
        ("s-maxage=5", 300.0),
    ],
)
def test_max_age(header, expected):
    assert max_age(header, 300.0) == expected


def test_usable_keys_keeps_signing_keys_with_a_kid_and_an_allowed_algorithm():
    es, ed = SigningKey.generate("ES256"), SigningKey.generate("EdDSA")
    document = {
        "keys": [
            es.public_jwk,
            {**ed.public_jwk, "use": "enc"},  # not for signatures
            {key: value for key, value in SigningKey.generate().public_jwk.items() if key != "kid"},
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},  # a shared secret: HS256, not allowed
            {"kty": "EC", "crv": "P-256", "kid": "broken"},  # unusable: skipped
            "not a key",
        ]
    }
    assert list(usable_keys(document, ("ES256", "EdDSA"))) == [es.kid]
    with pytest.raises(jwt.PyJWKSetError):
        usable_keys(document, ("RS256",))
    for bad in ([es.public_jwk], {"keys": []}, {"keys": "x"}, None):
        with pytest.raises(jwt.PyJWKSetError):
            usable_keys(bad, ("ES256",))


# --- the service -------------------------------------------------------------------------------------------


async def test_a_token_of_the_issuer_opens_the_resource(service, issuer_settings):
    token = create_access_token(ALICE, issuer_settings)
    assert await get(service, token) == (200, {"subject": 1, "message": "resource for user 1"}, None)
    assert await get(service, token) == (200, {"subject": 1, "message": "resource for user 1"}, None)
    jwks = service.server.app[JWKS]
    assert (jwks.fetches, jwks.failures) == (1, 0)
    assert token in service.server.app[VERIFIED]


async def test_requests_arriving_during_the_first_fetch_wait_for_it(service, issuer_settings):
    tokens = [create_access_token(ALICE, issuer_settings) for _ in range(5)]
    answers = await asyncio.gather(*(get(service, token) for token in tokens))
    assert [status for status, _, _ in answers] == [200] * 5
    assert service.server.app[JWKS].fetches == 1


async def test_public_and_anonymous_and_malformed_requests_answer_like_the_app(service):
    response = await service.get("/")
    assert (response.status, await response.json()) == (200, {"service": "resource", "subject": None})
    response = await service.get("/resource")
    assert response.status == 401
    assert (await response.json())["error"] == "authentication_required"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="jwt-tutorial"'
    # RFC 6750 §3.1: another scheme carries no Bearer credentials: 401 and the bare challenge, as in the app.
    response = await service.get("/resource", headers={"Authorization": "Basic abc"})
    assert response.status == 401
    assert (await response.json())["error"] == "authentication_required"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="jwt-tutorial"'
    response = await service.get("/resource", headers={"Authorization": "Bearer a b"})
    assert response.status == 400
    assert (await response.json())["error"] == "invalid_request"
    assert 'error="invalid_request"' in response.headers["WWW-Authenticate"]
    assert service.server.app[JWKS].fetches == 0  # nothing to verify, nothing fetched


async def test_an_unknown_kid_refetches_once_per_cooldown_then_401(service, issuer_settings, clock):
    await get(service, create_access_token(ALICE, issuer_settings))
    stranger = fast_test_settings(jwt_algorithm="ES256", signing_keys=KeyRing.generate("ES256"))
    jwks = service.server.app[JWKS]
    clock.now += 5  # cooldown over: the first unknown kid refetches
    for _ in range(3):
        status, body, challenge = await get(service, create_access_token(ALICE, stranger))
        assert status == 401
        assert body == {
            "error": "invalid_token",
            "message": "the token's key (kid) is not one the issuer publishes",
        }
        assert challenge.startswith('Bearer realm="jwt-tutorial", error="invalid_token"')
    assert jwks.fetches == 2  # the first fetch, then one refetch for three unknown-kid tokens


async def test_a_key_published_after_the_first_fetch_is_found_by_a_refetch(service, issuer_settings, ring, clock):
    await get(service, create_access_token(ALICE, issuer_settings))
    ring.publish_next()
    ring.promote()  # a rushed rotation: signing at once with a key the service has not seen
    clock.now += 5
    assert (await get(service, create_access_token(ALICE, issuer_settings)))[0] == 200
    assert service.server.app[JWKS].fetches == 2


async def test_cached_keys_keep_working_while_the_issuer_is_down(service, issuer, issuer_settings, clock):
    token = create_access_token(ALICE, issuer_settings)
    assert (await get(service, token))[0] == 200
    await issuer.close()
    service.server.app[VERIFIED].clear()
    clock.now += 3600  # the set is stale and the cooldown over: the service tries, fails, serves on
    assert (await get(service, token))[0] == 200
    jwks = service.server.app[JWKS]
    assert (jwks.fetches, jwks.failures) == (2, 1)


async def test_no_keys_and_no_issuer_is_a_503_in_json(aiohttp_client, issuer_settings):
    app = create_resource_app(resource_settings("http://127.0.0.1:9", issuer_settings, refetch_cooldown=3))
    client = await aiohttp_client(app)
    response = await client.get("/resource", headers=bearer(create_access_token(ALICE, issuer_settings)))
    assert response.status == 503
    assert response.headers["Retry-After"] == "3"
    assert await response.json() == {
        "error": "temporarily_unavailable",
        "message": "the issuer's keys could not be fetched; try again shortly",
    }


@pytest.mark.parametrize(
    "answer",
    [
        web.json_response({"error": "down"}, status=500),
        web.Response(text="not json"),
        web.json_response({"keys": []}),
        web.Response(body=b"{" + b" " * (65 * 1024) + b"}"),
        web.HTTPFound("http://127.0.0.1:9/jwks.json"),  # a redirect is not followed
    ],
    ids=["500", "not-json", "empty-set", "too-large", "redirect"],
)
async def test_a_bad_jwks_answer_is_a_failed_fetch_never_a_500(aiohttp_server, aiohttp_client, answer):
    async def jwks(request):
        return answer

    bad = web.Application()
    bad.router.add_get("/jwks.json", jwks)
    server = await aiohttp_server(bad)
    settings = ResourceSettings(jwks_uri=str(server.make_url("/jwks.json")), issuer="x")
    client = await aiohttp_client(create_resource_app(settings))
    token = jwt.encode(
        {"sub": "1"}, SigningKey.generate().private_key, "ES256", headers={"kid": "k", "typ": "at+jwt"}
    )
    response = await client.get("/resource", headers=bearer(token))
    assert response.status == 503
    assert client.server.app[JWKS].failures == 1


async def test_the_jwks_fetch_does_not_stall_the_event_loop(aiohttp_client, issuer_settings, ring):
    """A ticker task runs every 10 ms while the service fetches from an issuer that answers after 1 s.

    An ``async`` fetch lets it tick on (about 100 ticks); a blocking one (PyJWT's ``PyJWKClient``, urllib) stops
    it for the whole second: the test shows both, so it can tell them apart.
    """

    async def slow_jwks(request):
        await asyncio.sleep(1.0)
        return web.Response(text=ring.keys.jwks_json, content_type="application/json")

    slow = web.Application()
    slow.router.add_get("/jwks.json", slow_jwks)
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    token = create_access_token(ALICE, issuer_settings)
    # The slow issuer runs in its own thread and loop, like a real remote server.
    with BackgroundServer(slow) as issuer:
        settings = resource_settings(issuer.url, issuer_settings, jwks_uri=f"{issuer.url}/jwks.json")
        client = await aiohttp_client(create_resource_app(settings))
        task = asyncio.create_task(ticker())
        try:
            await asyncio.sleep(0.05)
            before = ticks
            response = await client.get("/resource", headers=bearer(token))
            async_ticks = ticks - before
            assert response.status == 200
            before = ticks
            jwt.PyJWKClient(f"{issuer.url}/jwks.json", cache_keys=False).get_signing_key_from_jwt(token)
            await asyncio.sleep(0)
            blocking_ticks = ticks - before
        finally:
            task.cancel()
    assert async_ticks >= 20, f"the loop ticked {async_ticks} times during a 1 s fetch"
    assert blocking_ticks <= 1, f"the blocking client let the loop tick {blocking_ticks} times"


# --- rotation ---------------------------------------------------------------------------------------------------


async def test_a_full_rotation_under_a_steady_request_stream_fails_no_request(aiohttp_server, aiohttp_client):
    """Clients keep their token until it expires, as real ones do; rotate() runs its three steps meanwhile."""
    ring = KeyRing.generate("ES256")
    settings = fast_test_settings(
        jwt_algorithm="ES256", signing_keys=ring, jwks_max_age=1, access_token_ttl=2, leeway=0
    )
    issuer = await aiohttp_server(create_app(settings, UserStore.from_settings(settings)))
    service = await aiohttp_client(
        create_resource_app(
            resource_settings(str(issuer.make_url("")).rstrip("/"), settings, refetch_cooldown=0.5, leeway=0)
        )
    )
    outcomes: dict[int | str, int] = {}
    kids_seen: set[str] = set()
    done = asyncio.Event()

    async def client(offset: float) -> None:
        await asyncio.sleep(offset)
        token, renew_at = "", 0.0
        loop = asyncio.get_running_loop()
        while not done.is_set():
            # A fresh token before the old one expires: exp is whole seconds, so up to 1 s sooner than ttl.
            if loop.time() >= renew_at:
                token, renew_at = create_access_token(ALICE, settings), loop.time() + 0.8
                kids_seen.add(jwt.get_unverified_header(token)["kid"])
            response = await service.get("/resource", headers=bearer(token))
            outcome = response.status if response.status == 200 else (await response.json())["message"]
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            await asyncio.sleep(0.02)

    clients = [asyncio.create_task(client(offset / 10)) for offset in range(5)]
    steps: list[str] = []
    await asyncio.sleep(0.5)
    first = ring.keys.current.kid
    await rotate(ring, cache_lifetime=1.0 + 0.2, token_lifetime=2.0 + 0.2, on_step=steps.append)
    await asyncio.sleep(0.5)
    done.set()
    await asyncio.gather(*clients)
    assert steps == ["published", "promoted", "retired"]
    assert kids_seen == {first, ring.keys.current.kid}
    assert outcomes.keys() == {200}, outcomes
    assert outcomes[200] > 50


async def test_a_token_of_a_retired_unpublished_key_is_refused(service, issuer_settings, ring, clock):
    old_token = create_access_token(ALICE, issuer_settings)
    assert (await get(service, old_token))[0] == 200  # verified and cached
    ring.publish_next()
    ring.promote()
    ring.retire()
    clock.now += 3600  # the service's copy of the set is stale: the next request refetches
    new_token = create_access_token(ALICE, issuer_settings)
    assert (await get(service, new_token))[0] == 200
    status, body, _ = await get(service, old_token)
    assert status == 401
    assert body["message"] == "the token's key (kid) is not one the issuer publishes"


# --- attacks of notebook 05, against asymmetric keys ---------------------------------------------------------


def claims(settings, **changes):
    now = datetime.now(timezone.utc)
    values = {
        "sub": "1",
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "iss": settings.issuer,
        "aud": settings.audience,
        "jti": "j",
    }
    values.update(changes)
    return json.loads(
        json.dumps({k: int(v.timestamp()) if isinstance(v, datetime) else v for k, v in values.items()})
    )


async def test_hs256_signed_with_the_published_public_key_is_refused(service, issuer_settings, ring):
    key = ring.keys.current
    public_pem = key.private_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    jwk_text = ring.keys.jwks_json.encode()
    for secret in (public_pem, jwk_text):
        token = forge_token({"alg": "HS256", "typ": "at+jwt", "kid": key.kid}, claims(issuer_settings), secret)
        status, body, _ = await get(service, token)
        assert (status, body["message"]) == (
            401,
            "the token's algorithm is not ES256, the one of the key it names",
        )


@pytest.mark.parametrize("alg", ["none", "RS256", "EdDSA", "ES384"])
async def test_any_other_algorithm_with_a_published_kid_is_refused(service, issuer_settings, ring, alg):
    token = forge_token({"alg": alg, "typ": "at+jwt", "kid": ring.keys.current.kid}, claims(issuer_settings))
    assert (await get(service, token))[0] == 401


async def test_an_embedded_jwk_is_never_used(service, issuer_settings, ring):
    attacker = new_rsa_key()
    embedded = public_jwk(attacker, kid="attacker")
    for kid in ("attacker", ring.keys.current.kid):
        token = sign_rs256({"typ": "at+jwt", "kid": kid, "jwk": embedded}, claims(issuer_settings), attacker)
        assert (await get(service, token))[0] == 401


async def test_a_jku_header_is_never_followed(service, issuer_settings):
    attacker = new_rsa_key()
    requests_seen = 0
    attacker_set = {"keys": [public_jwk(attacker, kid="attacker")]}
    attacker_app = create_key_set_app(attacker_set)

    @web.middleware
    async def count(request, handler):
        nonlocal requests_seen
        requests_seen += 1
        return await handler(request)

    attacker_app.middlewares.append(count)
    with BackgroundServer(attacker_app) as evil:
        header = {"typ": "at+jwt", "kid": "attacker", "jku": f"{evil.url}/jwks.json", "x5u": f"{evil.url}/x"}
        token = sign_rs256(header, claims(issuer_settings), attacker)
        assert (await get(service, token))[0] == 401
    assert requests_seen == 0


@pytest.mark.parametrize(
    "kid",
    ["", "../../../../dev/null", "' OR '1'='1", "x" * 2000, "\u0000", 0, None, ["k"], {"k": 1}],
    ids=["empty", "path", "sql", "long", "nul", "int", "null", "list", "object"],
)
async def test_kid_tricks_are_refused(service, issuer_settings, kid):
    # PyJWT will not write a kid that is not a string; an attacker writes the header by hand.
    token = forge_token({"alg": "ES256", "typ": "at+jwt", "kid": kid}, claims(issuer_settings), b"x" * 32)
    status, body, _ = await get(service, token)
    assert status == 401
    assert body["error"] == "invalid_token"


@pytest.mark.parametrize(
    ("changes", "header", "message"),
    [
        ({"iss": "someone-else"}, {}, "the token was issued by another issuer"),
        ({"aud": "another-api"}, {}, "the token is meant for another audience"),
        ({"exp": 1000}, {}, "the token has expired"),
        ({}, {"typ": "JWT"}, "the token is not an access token (typ must be at+jwt)"),
        ({}, {"typ": None}, "the token is not an access token (typ must be at+jwt)"),
    ],
)
async def test_issuer_audience_expiry_and_type_are_checked(
    service, issuer_settings, ring, changes, header, message
):
    key = ring.keys.current
    headers = {"kid": key.kid, "typ": "at+jwt", **header}
    token = jwt.encode(claims(issuer_settings, **changes), key.private_key, "ES256", headers=headers)
    status, body, _ = await get(service, token)
    assert (status, body["message"]) == (401, message)


async def test_application_at_jwt_is_an_access_token_type_too(service, issuer_settings, ring):
    key = ring.keys.current
    headers = {"kid": key.kid, "typ": "application/AT+JWT"}
    token = jwt.encode(claims(issuer_settings), key.private_key, "ES256", headers=headers)
    assert (await get(service, token))[0] == 200


async def test_a_long_or_malformed_token_is_refused(service):
    assert (await get(service, "a" * 5000))[0] == 401
    assert (await get(service, "a.b.c"))[0] == 401


async def test_a_jwks_larger_than_one_chunk_is_read_whole(aiohttp_server, aiohttp_client, issuer_settings, ring):
    async def jwks(request):
        return web.json_response({**ring.keys.jwks, "padding": "p" * 40_000})  # other members are ignored

    big = web.Application()
    big.router.add_get("/jwks.json", jwks)
    server = await aiohttp_server(big)
    settings = resource_settings("", issuer_settings, jwks_uri=str(server.make_url("/jwks.json")))
    client = await aiohttp_client(create_resource_app(settings))
    assert (await get(client, create_access_token(ALICE, issuer_settings)))[0] == 200
