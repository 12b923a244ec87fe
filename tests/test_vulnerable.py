"""The attack lab of notebook 05: every attack works on its vulnerable twin and fails on ``create_app()``.

One ``test_attack_N_…`` per attack of the notebook; each forges the request once and sends it to both servers,
so the lab keeps teaching (the twin accepts) and the series' server keeps refusing (401 ``invalid_token``).
The rest pins the twin's other branches.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jwt
import pytest
from conftest import ADMIN, ALICE

from tutorial_src.errors import SettingsError
from tutorial_src.keys import USERS as USERS_KEY
from tutorial_src.lab.attacks import (
    crack_hs256,
    create_key_set_app,
    forge_token,
    load_wordlist,
    new_rsa_key,
    public_jwk,
    read_token,
    sign_rs256,
    tamper,
)
from tutorial_src.lab.vulnerable import (
    KEY_DIR,
    WEAK_SECRET,
    WEAKNESSES,
    RS256TwinSettings,
    create_vulnerable_app,
    user_from_claims,
)
from tutorial_src.tokens import create_access_token

ATTACKER_KEY = b"a key only the attacker knows, 32+ bytes long"
ADMIN_LIST = {
    "users": [
        {"id": 1, "email": ALICE[0], "is_admin": False},
        {"id": 2, "email": ADMIN[0], "is_admin": True},
    ]
}


@pytest.fixture
def twin(aiohttp_client, settings, users):
    """``await twin("alg_none")``: a test client of that vulnerable twin, sharing settings and users."""

    async def make(weakness: str, **kwargs):
        return await aiohttp_client(create_vulnerable_app(weakness, settings, users, **kwargs))

    return make


async def login(client, who=ALICE) -> str:
    response = await client.post("/login", json={"email": who[0], "password": who[1]})
    assert response.status == 200
    return (await response.json())["access_token"]


async def admin_users(client, token: str):
    response = await client.get("/admin/users", headers={"Authorization": f"Bearer {token}"})
    return response.status, await response.json()


async def assert_twin_accepts(twin_client, token: str) -> None:
    assert await admin_users(twin_client, token) == (200, ADMIN_LIST)


async def assert_real_app_refuses(client, token: str, message: str) -> None:
    status, body = await admin_users(client, token)
    assert (status, body["error"], body["message"]) == (401, "invalid_token", message)


def alice_claims_as_admin(token: str) -> dict:
    """Alice's real claims with the subject changed to the admin's id, as an attacker would edit them."""
    _, claims, _ = read_token(token)
    return {**claims, "sub": "2"}


# --- one test per attack ------------------------------------------------------------------------------------
async def test_attack_1_signature_not_verified(twin, client):
    vulnerable = await twin("unverified")
    forged = forge_token({"alg": "HS256", "typ": "JWT"}, alice_claims_as_admin(await login(client)), ATTACKER_KEY)
    await assert_twin_accepts(vulnerable, forged)
    await assert_real_app_refuses(client, forged, "the token's signature does not match")


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_attack_2_alg_none(twin, client, alg):
    vulnerable = await twin("alg_none")
    forged = forge_token({"alg": alg, "typ": "JWT"}, alice_claims_as_admin(await login(client)))
    assert forged.endswith(".")  # empty signature
    await assert_twin_accepts(vulnerable, forged)
    await assert_real_app_refuses(client, forged, "the token's signing algorithm is not allowed")


async def test_attack_3_weak_secret_cracked_offline(twin, client):
    vulnerable = await twin("weak_secret")
    issued = await login(vulnerable)
    secret, guesses = crack_hs256(issued, load_wordlist())
    assert secret == WEAK_SECRET and guesses < len(load_wordlist())
    forged = forge_token({"alg": "HS256", "typ": "JWT"}, alice_claims_as_admin(issued), secret.encode())
    await assert_twin_accepts(vulnerable, forged)
    await assert_real_app_refuses(client, forged, "the token's signature does not match")
    # The series' secret is random: the same word list finds nothing.
    assert crack_hs256(await login(client), load_wordlist()) is None


async def test_attack_4_algorithm_confusion(twin, client):
    vulnerable = await twin("alg_confusion")
    public_key = await (await vulnerable.get("/public-key.pem")).read()
    forged = forge_token(
        {"alg": "HS256", "typ": "JWT"}, alice_claims_as_admin(await login(vulnerable)), public_key
    )
    await assert_twin_accepts(vulnerable, forged)
    await assert_real_app_refuses(client, forged, "the token's signature does not match")


async def test_attack_4_pyjwt_refuses_the_confusion(twin):
    # The defence shown with PyJWT directly (the series' server is HS256-only): an RS256 verifier with an
    # allow-list of one refuses the HS256 token, and even a sloppy list cannot make PyJWT use a PEM as HMAC key.
    vulnerable = await twin("alg_confusion")
    public_key = await (await vulnerable.get("/public-key.pem")).read()
    forged = forge_token({"alg": "HS256"}, alice_claims_as_admin(await login(vulnerable)), public_key)
    with pytest.raises(jwt.InvalidAlgorithmError):
        jwt.decode(forged, public_key, algorithms=["RS256"])
    with pytest.raises(jwt.InvalidKeyError):
        jwt.decode(forged, public_key, algorithms=["RS256", "HS256"])


async def test_attack_5_jwk_header_injection(twin, client):
    vulnerable = await twin("jwk_header")
    attacker = new_rsa_key()
    claims = alice_claims_as_admin(await login(vulnerable))
    forged = sign_rs256({"jwk": public_jwk(attacker)}, claims, attacker)
    await assert_twin_accepts(vulnerable, forged)
    await assert_real_app_refuses(client, forged, "the token's signing algorithm is not allowed")
    # With the server's own key (configured, never read from the token) PyJWT refuses it too.
    public_key = await (await vulnerable.get("/public-key.pem")).read()
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged, public_key, algorithms=["RS256"], audience=claims["aud"])


async def test_attack_6_kid_path_traversal(twin, client):
    vulnerable = await twin("kid_path")
    header = {"alg": "HS256", "typ": "JWT", "kid": "../../../../../../../../dev/null"}
    forged = forge_token(header, alice_claims_as_admin(await login(client)), b"")
    await assert_twin_accepts(vulnerable, forged)
    await assert_real_app_refuses(client, forged, "the token's signature does not match")
    with pytest.raises(jwt.InvalidKeyError):  # PyJWT 2.15 refuses an empty HMAC key outright
        jwt.decode(forged, b"", algorithms=["HS256"])


async def test_attack_6_kid_sql_injection(twin, client):
    vulnerable = await twin("kid_sql")
    header = {"alg": "HS256", "typ": "JWT", "kid": f"nope' UNION SELECT '{ATTACKER_KEY.decode()}"}
    forged = forge_token(header, alice_claims_as_admin(await login(client)), ATTACKER_KEY)
    await assert_twin_accepts(vulnerable, forged)
    await assert_real_app_refuses(client, forged, "the token's signature does not match")


async def test_attack_7_jku_points_at_attacker_key_set(twin, client, aiohttp_server):
    vulnerable = await twin("jku")
    attacker = new_rsa_key()
    key_server = await aiohttp_server(create_key_set_app({"keys": [public_jwk(attacker, kid="k1")]}))
    assert key_server.host == "127.0.0.1"
    header = {"jku": str(key_server.make_url("/jwks.json")), "kid": "k1"}
    forged = sign_rs256(header, alice_claims_as_admin(await login(vulnerable)), attacker)
    await assert_twin_accepts(vulnerable, forged)
    await assert_real_app_refuses(client, forged, "the token's signing algorithm is not allowed")


async def test_attack_8_claim_tampering(twin, client):
    vulnerable = await twin("claim_tampering")
    token = await login(client)
    # Alice uses her own token once on each server: the twin caches its signature, the series' server caches
    # its verdict under the whole token (token_cache.TokenCache.get).
    for server in (vulnerable, client):
        assert (await server.get("/get-user", headers={"Authorization": f"Bearer {token}"})).status == 200
    for edited in (tamper(token, sub="2"), tamper(token, is_admin=True)):
        await assert_twin_accepts(vulnerable, edited)
        await assert_real_app_refuses(client, edited, "the token's signature does not match")


async def test_attack_9_replay_expired_and_other_audience(twin, client, settings, users):
    vulnerable = await twin("replay")
    admin = users.get_by_id(2)
    expired = create_access_token(admin, settings, now=datetime.now(timezone.utc) - timedelta(hours=2))
    reports = dataclasses.replace(settings, audience="jwt-tutorial-reports")
    other_audience = create_access_token(admin, reports)
    for token, message in (
        (expired, "the token has expired"),
        (other_audience, "the token is meant for another audience"),
    ):
        await assert_twin_accepts(vulnerable, token)
        await assert_real_app_refuses(client, token, message)


# --- the twins still work as servers, and refuse what their one flaw does not let through --------------------
@pytest.mark.parametrize("weakness", WEAKNESSES)
async def test_every_twin_accepts_its_own_tokens(twin, weakness):
    vulnerable = await twin(weakness)
    token = await login(vulnerable)
    response = await vulnerable.get("/get-user", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 200 and (await response.json())["email"] == ALICE[0]
    assert (await admin_users(vulnerable, token))[0] == 403  # alice is no admin


@pytest.mark.parametrize("weakness", ["alg_none", "weak_secret", "kid_path", "claim_tampering", "replay"])
async def test_hmac_twins_refuse_a_token_signed_with_another_key(twin, client, weakness):
    vulnerable = await twin(weakness)
    forged = forge_token({"alg": "HS256"}, alice_claims_as_admin(await login(client)), ATTACKER_KEY)
    status, body = await admin_users(vulnerable, forged)
    assert (status, body["error"]) == (401, "invalid_token")
    assert body["message"].startswith("the twin refused the token (")


@pytest.mark.parametrize("weakness", ["alg_confusion", "jwk_header", "jku"])
async def test_rs256_twins_refuse_a_token_signed_with_another_key(twin, weakness):
    vulnerable = await twin(weakness)
    attacker = new_rsa_key()
    forged = sign_rs256({}, alice_claims_as_admin(await login(vulnerable)), attacker)
    assert (await admin_users(vulnerable, forged))[0] == 401
    if weakness == "alg_confusion":
        hs256 = forge_token({"alg": "HS256"}, alice_claims_as_admin(await login(vulnerable)), ATTACKER_KEY)
        assert (await admin_users(vulnerable, hs256))[0] == 401


async def test_kid_path_twin_reads_a_bounded_key(twin, client):
    # /dev/zero is endless: the twin reads 4 KiB of it, refuses the token, and answers.
    vulnerable = await twin("kid_path")
    header = {"alg": "HS256", "kid": "../../../../../../../../dev/zero"}
    forged = forge_token(header, alice_claims_as_admin(await login(client)), ATTACKER_KEY)
    assert (await admin_users(vulnerable, forged))[0] == 401


async def test_kid_sql_twin_refuses_an_unknown_kid(twin, client):
    vulnerable = await twin("kid_sql")
    forged = forge_token(
        {"alg": "HS256", "kid": "old-key"}, alice_claims_as_admin(await login(client)), ATTACKER_KEY
    )
    assert (await admin_users(vulnerable, forged))[0] == 401


@pytest.mark.parametrize(
    "jku", ["http://example.invalid/jwks.json", "http://127.0.0.1:80@example.invalid/", "file:///dev/null"]
)
async def test_jku_twin_fetches_from_loopback_only(twin, jku):
    vulnerable = await twin("jku")
    attacker = new_rsa_key()
    forged = sign_rs256({"jku": jku}, alice_claims_as_admin(await login(vulnerable)), attacker)
    status, body = await admin_users(vulnerable, forged)
    assert (status, body["message"]) == (401, "the twin refused the token (InvalidTokenError)")


async def test_jku_twin_uses_the_first_key_without_kid(twin, aiohttp_server):
    vulnerable = await twin("jku")
    attacker = new_rsa_key()
    key_server = await aiohttp_server(create_key_set_app({"keys": [public_jwk(attacker)]}))
    header = {"jku": str(key_server.make_url("/jwks.json"))}
    forged = sign_rs256(header, alice_claims_as_admin(await login(vulnerable)), attacker)
    await assert_twin_accepts(vulnerable, forged)


async def test_replay_twin_still_checks_the_signature(twin, settings, users):
    vulnerable = await twin("replay")
    other = dataclasses.replace(settings, jwt_secret="another-secret-that-is-32-bytes-or-more")
    assert (await admin_users(vulnerable, create_access_token(users.get_by_id(2), other)))[0] == 401


async def test_twin_parses_the_header_like_the_real_app(twin):
    vulnerable = await twin("unverified")
    assert (await (await vulnerable.get("/")).json())["user"] is None
    for other in ("Basic YWxpY2U6cHc=", "Token abc", "abc"):  # RFC 6750 §3.1: 401 and a bare challenge
        response = await vulnerable.get("/get-user", headers={"Authorization": other})
        assert (response.status, (await response.json())["error"]) == (401, "authentication_required")
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="jwt-tutorial"'
    response = await vulnerable.get("/get-user", headers={"Authorization": "Bearer a b"})
    assert (response.status, (await response.json())["error"]) == (400, "invalid_request")
    response = await vulnerable.get("/get-user")
    assert (response.status, (await response.json())["error"]) == (401, "authentication_required")
    response = await vulnerable.get("/get-user?access_token=abc")
    assert (response.status, (await response.json())["error"]) == (400, "invalid_request")
    two = [("Authorization", "Bearer abc"), ("Authorization", "Bearer def")]
    response = await vulnerable.get("/get-user", headers=two)
    assert (response.status, (await response.json())["error"]) == (400, "invalid_request")


@pytest.mark.parametrize(
    ("claims", "problem"),
    [({"sub": "abc"}, "not a user id"), ({"sub": 2}, "not a user id"), ({"sub": "99"}, "does not exist")],
)
def test_user_from_claims_refuses_unknown_subjects(users, claims, problem):
    with pytest.raises(LookupError, match=problem):
        user_from_claims(claims, users)


def test_user_from_claims_trusts_a_boolean_is_admin_claim_only(users):
    assert user_from_claims({"sub": "1", "is_admin": True}, users).is_admin is True
    assert user_from_claims({"sub": "2", "is_admin": False}, users).is_admin is False
    assert user_from_claims({"sub": "1", "is_admin": "yes"}, users).is_admin is False
    assert users.get_by_id(1).is_admin is False  # the store itself is unchanged


async def test_unverified_twin_refuses_garbage_with_401(twin):
    vulnerable = await twin("unverified")
    status, body = await admin_users(vulnerable, "not.a.token")
    assert (status, body["error"]) == (401, "invalid_token")


def test_create_vulnerable_app_refuses_unknown_weakness_and_short_secret(settings, users):
    with pytest.raises(ValueError, match="unknown weakness"):
        create_vulnerable_app("sql", settings, users)
    with pytest.raises(SettingsError):
        create_vulnerable_app("weak_secret", settings, users, weak_secret="secret")


def test_rs256_twin_settings_want_rs256_and_a_private_key():
    with pytest.raises(SettingsError, match="RS256"):
        RS256TwinSettings(jwt_secret="a secret that is not a PEM private key at all")
    with pytest.raises(SettingsError, match="RS256"):
        RS256TwinSettings(jwt_secret="-----BEGIN PRIVATE KEY-----", jwt_algorithm="HS256")


def test_create_vulnerable_app_defaults_to_demo_users():
    app = create_vulnerable_app("replay")
    assert [user.email for user in app[USERS_KEY].all()] == ["alice@example.com", "admin@example.com"]


async def test_kid_path_twin_removes_its_key_folder(aiohttp_client, settings, users):
    app = create_vulnerable_app("kid_path", settings, users)
    key_dir: Path = app[KEY_DIR]
    assert (key_dir / "current").is_file()
    client = await aiohttp_client(app)
    await client.close()
    assert not key_dir.exists()


async def test_public_key_route_serves_pem(twin):
    vulnerable = await twin("jwk_header")
    response = await vulnerable.get("/public-key.pem")
    assert response.status == 200
    assert (await response.read()).startswith(b"-----BEGIN PUBLIC KEY-----")


def test_no_entry_point_builds_the_twin():
    # The twin is built only by notebook 05, its checkers and the tests: no other module of the package imports
    # it, so neither `python -m tutorial_src` nor gunicorn can ever serve it.
    package = Path(__file__).resolve().parent.parent / "tutorial_src"
    allowed = {package / "vulnerable.py", package / "check" / "nb05.py"}
    imports_twin = re.compile(r"^\s*(from|import)\s+\S*vulnerable", re.MULTILINE)
    for path in package.rglob("*.py"):
        if path not in allowed:
            assert not imports_twin.search(path.read_text(encoding="utf-8")), path
