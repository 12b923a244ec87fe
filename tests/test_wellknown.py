"""The issuer signing with a private key: Settings, tokens with kid, /.well-known/jwks.json and discovery."""

from __future__ import annotations

import jwt
import pytest
from conftest import ALICE

from tutorial_src.app import create_app
from tutorial_src.errors import InvalidToken, SettingsError
from tutorial_src.keys import USERS
from tutorial_src.keyset import ASYMMETRIC_ALGORITHMS, PRIVATE_MEMBERS, KeyRing, KeySet, SigningKey
from tutorial_src.models import UserStore
from tutorial_src.settings import fast_test_settings
from tutorial_src.tokens import create_access_token, decode_access_token


@pytest.fixture(scope="module", params=ASYMMETRIC_ALGORITHMS)
def ring(request):
    return KeyRing.generate(request.param)


@pytest.fixture
def settings(ring):
    return fast_test_settings(jwt_algorithm=ring.keys.current.algorithm, signing_keys=ring, jwks_max_age=120)


@pytest.fixture
async def issuer(aiohttp_client, settings):
    users = UserStore.from_settings(settings)
    users.create(*ALICE)
    return await aiohttp_client(create_app(settings, users))


def test_settings_need_keys_for_an_asymmetric_algorithm_and_the_current_keys_algorithm():
    with pytest.raises(SettingsError, match="ES256, EdDSA, RS256 need signing_keys"):
        fast_test_settings(jwt_algorithm="ES256")
    with pytest.raises(SettingsError, match="current signing key is EdDSA"):
        fast_test_settings(jwt_algorithm="ES256", signing_keys=KeyRing.generate("EdDSA"))
    with pytest.raises(SettingsError, match="current signing key is ES256"):
        fast_test_settings(signing_keys=KeyRing.generate("ES256"))
    with pytest.raises(SettingsError, match="jwks_max_age"):
        fast_test_settings(jwt_algorithm="ES256", signing_keys=KeyRing.generate(), jwks_max_age=-1)


async def test_jwks_publishes_public_members_only_with_cache_headers(issuer, ring):
    response = await issuer.get("/.well-known/jwks.json")
    assert response.status == 200
    assert response.content_type == "application/jwk-set+json"
    assert response.headers["Cache-Control"] == "public, max-age=120"
    document = await response.json(content_type=None)
    assert [jwk["kid"] for jwk in document["keys"]] == [ring.keys.current.kid]
    for jwk in document["keys"]:
        assert not PRIVATE_MEMBERS & jwk.keys(), f"private members published: {PRIVATE_MEMBERS & jwk.keys()}"
        assert jwk["use"] == "sig" and jwk["alg"] == ring.keys.current.algorithm


async def test_discovery_names_the_issuer_and_the_jwks_uri(issuer, settings):
    response = await issuer.get("/.well-known/openid-configuration")
    assert response.status == 200
    document = await response.json()
    assert document == {"issuer": settings.issuer, "jwks_uri": str(issuer.make_url("/.well-known/jwks.json"))}


async def test_a_token_from_login_verifies_with_the_published_jwks_alone(issuer, settings):
    login = await issuer.post("/login", json={"email": ALICE[0], "password": ALICE[1]})
    body = await login.json()
    token = body["access_token"]
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "at+jwt" and header["alg"] == settings.jwt_algorithm
    jwks = jwt.PyJWKSet.from_dict(await (await issuer.get("/.well-known/jwks.json")).json(content_type=None))
    claims = jwt.decode(
        token, jwks[header["kid"]], algorithms=[settings.jwt_algorithm], audience=settings.audience
    )
    assert claims["sub"] == "1"
    # The issuer checks its own tokens with the same keys.
    response = await issuer.get("/get-user", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 200


async def test_the_issuer_refuses_a_token_of_a_key_it_does_not_publish(issuer, settings):
    other = fast_test_settings(
        jwt_algorithm=settings.jwt_algorithm, signing_keys=KeyRing.generate(settings.jwt_algorithm)
    )
    user = issuer.server.app[USERS].get_by_id(1)
    token = create_access_token(user, other)
    with pytest.raises(InvalidToken, match="not one this issuer publishes"):
        decode_access_token(token, settings)
    response = await issuer.get("/get-user", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 401
    assert (await response.json())["message"] == "the token's key (kid) is not one this issuer publishes"


async def test_the_issuer_keeps_verifying_its_retiring_key_during_a_rotation(issuer, settings):
    ring = settings.signing_keys
    user = issuer.server.app[USERS].get_by_id(1)
    old_token = create_access_token(user, settings)
    ring.publish_next(SigningKey.generate(settings.jwt_algorithm))
    ring.promote()
    try:
        new_token = create_access_token(user, settings)
        assert jwt.get_unverified_header(new_token)["kid"] != jwt.get_unverified_header(old_token)["kid"]
        for token in (old_token, new_token):
            assert decode_access_token(token, settings)["sub"] == "1"
        ring.retire()
        with pytest.raises(InvalidToken):
            decode_access_token(old_token, settings)
    finally:
        ring.keys = KeySet(ring.keys.current)  # the module's ring, for the next test


async def test_an_hmac_app_publishes_nothing(aiohttp_client):
    client = await aiohttp_client(create_app(fast_test_settings(jwt_secret="s" * 32)))
    for path in ("/.well-known/jwks.json", "/.well-known/openid-configuration"):
        response = await client.get(path)
        assert response.status == 404
        assert (await response.json())["error"] == "not_found"
