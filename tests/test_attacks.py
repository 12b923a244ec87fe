"""The attacker's toolkit (``tutorial_src.lab.attacks``): tokens forged with ``jose.py`` checked against PyJWT."""

from __future__ import annotations

import jwt
import pytest

from tutorial_src.lab.attacks import (
    crack_hs256,
    forge_token,
    load_wordlist,
    new_rsa_key,
    public_jwk,
    public_pem,
    read_token,
    sign_rs256,
    tamper,
)
from tutorial_src.lab.vulnerable import WEAK_SECRET

KEY = b"an ordinary HMAC key of 32+ bytes for the tests"
CLAIMS = {"sub": "1", "name": "alice"}


def test_forge_token_matches_pyjwt_for_an_ordinary_key():
    header = {"alg": "HS256", "typ": "JWT"}
    token = forge_token(header, CLAIMS, KEY)
    assert jwt.decode(token, KEY, algorithms=["HS256"]) == CLAIMS
    assert jwt.get_unverified_header(token) == header


def test_forge_token_without_key_leaves_the_signature_empty():
    token = forge_token({"alg": "none"}, CLAIMS)
    assert token.endswith(".") and token.count(".") == 2
    assert read_token(token) == ({"alg": "none"}, CLAIMS, "")


def test_forge_token_signs_with_keys_pyjwt_refuses():
    token = forge_token({"alg": "HS256"}, CLAIMS, b"")
    assert len(token.rpartition(".")[2]) == 43  # 32 bytes of HMAC-SHA256, base64url
    with pytest.raises(jwt.InvalidKeyError):
        jwt.encode(CLAIMS, b"", algorithm="HS256")


@pytest.mark.parametrize("token", ["a.b", "a.b.c.d", "!!!.e30.", "e30.bm90IGpzb24.x"])
def test_read_token_refuses_what_is_not_a_jwt(token):
    with pytest.raises(ValueError):
        read_token(token)


def test_tamper_changes_claims_and_keeps_the_signature():
    token = forge_token({"alg": "HS256"}, CLAIMS, KEY)
    edited = tamper(token, sub="2", is_admin=True)
    assert edited.rpartition(".")[2] == token.rpartition(".")[2]
    assert read_token(edited)[1] == {"sub": "2", "name": "alice", "is_admin": True}
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(edited, KEY, algorithms=["HS256"])


def test_wordlist_is_tiny_synthetic_and_holds_the_weak_secret():
    words = load_wordlist()
    assert 100 <= len(words) <= 1000
    assert WEAK_SECRET in words and len(WEAK_SECRET.encode()) >= 32


def test_crack_hs256_finds_a_listed_secret_and_counts_guesses():
    token = jwt.encode(CLAIMS, WEAK_SECRET, algorithm="HS256")
    words = load_wordlist()
    assert crack_hs256(token, words) == (WEAK_SECRET, words.index(WEAK_SECRET) + 1)
    assert crack_hs256(jwt.encode(CLAIMS, KEY, algorithm="HS256"), words) is None


def test_rsa_helpers_round_trip_with_pyjwt():
    key = new_rsa_key()
    token = sign_rs256({"kid": "k"}, CLAIMS, key)
    assert jwt.decode(token, public_pem(key), algorithms=["RS256"]) == CLAIMS
    jwk = public_jwk(key, kid="k")
    assert (jwk["kty"], jwk["kid"], jwk["alg"]) == ("RSA", "k", "RS256")
    assert jwt.decode(token, jwt.PyJWK(jwk), algorithms=["RS256"]) == CLAIMS


async def test_key_set_app_serves_the_key_set(aiohttp_client):
    from tutorial_src.lab.attacks import create_key_set_app

    client = await aiohttp_client(create_key_set_app({"keys": []}))
    response = await client.get("/jwks.json")
    assert (response.status, await response.json()) == (200, {"keys": []})
