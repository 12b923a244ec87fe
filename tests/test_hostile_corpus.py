"""Hostile inputs for the whole app, kept as data in ``tests/data/hostile_corpus.json``.

Each case is sent to ``create_app()`` (login and protected routes together) and must get its documented status
and JSON error code; no case may get a 5xx. ``{token:NAME}`` in a header or path is replaced by the token
``TOKENS[NAME]`` builds - most are forged or broken on purpose.
"""

from __future__ import annotations

import base64
import json
import re
import warnings
from datetime import datetime, timezone
from pathlib import Path

import jwt
import pytest
from conftest import TEST_SECRET
from jwt.warnings import InsecureKeyLengthWarning

from tutorial_src.lab.attacks import forge_token, new_rsa_key, public_jwk, public_pem, sign_rs256, tamper

CORPUS = json.loads((Path(__file__).parent / "data" / "hostile_corpus.json").read_text(encoding="utf-8"))
CASES = CORPUS["cases"]
PLACEHOLDER = re.compile(r"\{token:(\w+)\}")
HOUR = 3600


def _claims(sub: str = "2", **changes) -> dict:
    now = int(datetime.now(timezone.utc).timestamp())
    claims = {
        "sub": sub,
        "iat": now,
        "exp": now + 900,
        "iss": "jwt-tutorial",
        "aud": "jwt-tutorial-api",
        "jti": "0123456789abcdef0123456789abcdef",
    }
    claims.update(changes)
    return claims


def _signed(claims: dict, *, key: str = TEST_SECRET, alg: str = "HS256", headers: dict | None = None) -> str:
    return jwt.encode(claims, key, algorithm=alg, headers=headers)


def _without(name: str) -> str:
    claims = _claims()
    del claims[name]
    return _signed(claims)


def _hs512_with_the_right_secret() -> str:
    # The right secret, an algorithm the server does not allow; PyJWT warns that 42 bytes is short for HS512.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return _signed(_claims(), alg="HS512")


def _build_tokens() -> dict[str, str]:
    now = int(datetime.now(timezone.utc).timestamp())
    attacker = new_rsa_key()
    admin = _signed(_claims())
    tokens = {
        "alice": _signed(_claims("1")),
        "admin": admin,
        "alice_is_admin_claim": _signed(_claims("1", is_admin=True)),
        "admin_with_jku_jwk_kid": _signed(
            _claims(), headers={"jku": "http://127.0.0.1:9/jwks.json", "jwk": public_jwk(attacker), "kid": "x"}
        ),
        "alg_none": forge_token({"alg": "none", "typ": "JWT"}, _claims()),
        "alg_None": forge_token({"alg": "None", "typ": "JWT"}, _claims()),
        "alg_NONE": forge_token({"alg": "NONE", "typ": "JWT"}, _claims()),
        "alg_none_signed": forge_token({"alg": "none"}, _claims(), TEST_SECRET.encode()),
        "hs512": _hs512_with_the_right_secret(),
        "wrong_secret": _signed(_claims(), key="a-different-secret-that-is-32-bytes-long"),
        "expired": _signed(_claims(iat=now - 2 * HOUR, exp=now - HOUR)),
        "other_audience": _signed(_claims(aud="jwt-tutorial-reports")),
        "other_issuer": _signed(_claims(iss="someone-else")),
        "nbf_future": _signed(_claims(nbf=now + HOUR)),
        "iat_future": _signed(_claims(iat=now + HOUR)),
        "missing_exp": _without("exp"),
        "missing_jti": _without("jti"),
        "missing_sub": _without("sub"),
        "missing_aud": _without("aud"),
        "missing_iss": _without("iss"),
        "missing_iat": _without("iat"),
        "sub_int": forge_token({"alg": "HS256", "typ": "JWT"}, {**_claims(), "sub": 2}, TEST_SECRET.encode()),
        "sub_zero": _signed(_claims("0")),
        "sub_negative": _signed(_claims("-1")),
        "sub_unknown": _signed(_claims("99")),
        "sub_float": _signed(_claims("2.0")),
        "sub_padded": _signed(_claims(" 2")),
        "sub_arabic_digit": _signed(_claims("\u0662")),
        "sub_name": _signed(_claims("admin")),
        "sub_empty": _signed(_claims("")),
        "jti_int": forge_token({"alg": "HS256"}, _claims(jti=5), TEST_SECRET.encode()),
        "iat_string": forge_token({"alg": "HS256"}, _claims(iat="now"), TEST_SECRET.encode()),
        "exp_string": forge_token({"alg": "HS256"}, _claims(exp="tomorrow"), TEST_SECRET.encode()),
        "tampered_sub": tamper(_signed(_claims("1")), sub="2"),
        "tampered_is_admin": tamper(_signed(_claims("1")), is_admin=True),
        "signature_stripped": admin.rpartition(".")[0] + ".",
        "kid_dev_null": forge_token({"alg": "HS256", "kid": "../../../../dev/null"}, _claims(), b""),
        "jwk_injected": sign_rs256({"jwk": public_jwk(attacker)}, _claims(), attacker),
        "alg_confusion": forge_token({"alg": "HS256"}, _claims(), public_pem(attacker)),
    }
    return tokens


@pytest.fixture(scope="module")
def tokens() -> dict[str, str]:
    return _build_tokens()


def _fill(text: str, tokens: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda match: tokens[match.group(1)], text)


def test_corpus_is_large_and_well_formed(tokens):
    assert len(CASES) >= 150
    assert len({case["id"] for case in CASES}) == len(CASES)
    for case in CASES:
        assert case["status"] < 500, case["id"]
        assert ("body" in case) + ("body_base64" in case) <= 1, case["id"]
        for name in PLACEHOLDER.findall(json.dumps(case)):
            assert name in tokens, f"{case['id']}: unknown token {name}"
    routes = {case["path"].split("?")[0] for case in CASES}
    assert {"/login", "/get-user", "/admin/users"} <= routes


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
async def test_hostile_case_gets_its_documented_answer(client, tokens, case):
    headers = [(name, _fill(value, tokens)) for name, value in case["headers"]]
    if "body_base64" in case:
        body: bytes | None = base64.b64decode(case["body_base64"])
    elif "body" in case:
        body = case["body"].encode("utf-8")
    else:
        body = None
    response = await client.request(
        case["method"],
        _fill(case["path"], tokens),
        headers=headers,
        data=body,
        # No Content-Type of the client's own: only the corpus' headers are sent.
        skip_auto_headers=["Content-Type"],
    )
    assert response.status < 500
    assert response.status == case["status"], await response.text()
    if case.get("challenge") == "bare":  # RFC 6750 §3.1: no credentials the server reads, no error code
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="jwt-tutorial"'
    if case["error"] is None:
        return
    assert response.content_type == "application/json"
    payload = await response.json()
    assert payload["error"] == case["error"]
    assert isinstance(payload["message"], str) and payload["message"]
