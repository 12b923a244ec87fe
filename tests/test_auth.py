"""The auth middleware and its parts, mirrored from ``tutorial_src/auth.py``.

The core is a table of hostile requests to the protected routes: each row says what the client sends and the
status, ``error`` code and ``WWW-Authenticate`` challenge it must get back. No row may answer 5xx.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import jwt
import pytest
from conftest import TEST_SECRET
from jwt.warnings import InsecureKeyLengthWarning
from multidict import CIMultiDict

from tutorial_src.app import create_app
from tutorial_src.auth import (
    BEARER_CREDENTIALS,
    authenticate_token,
    describe_token_error,
    parse_bearer,
)
from tutorial_src.check.nb02 import MALFORMED_HEADERS, OTHER_SCHEME_HEADERS, WELL_FORMED_HEADERS
from tutorial_src.errors import InvalidRequest, InvalidToken, UnsupportedScheme
from tutorial_src.settings import Settings

OTHER_SECRET = "another-secret-that-is-also-32-bytes-or-more"
REALM = 'Bearer realm="jwt-tutorial"'
PROTECTED = ["/get-user", "/admin/users"]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def forge(header: Any, payload: Any, signature: str = "c2lnbmF0dXJl") -> str:
    """A token with whatever header and payload, JSON-encoded, and a made-up signature."""
    return ".".join([b64url(json.dumps(header).encode()), b64url(json.dumps(payload).encode()), signature])


class Minter:
    """Tokens for the table, minted at test time (their times are relative to now)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.now = datetime.now(timezone.utc)

    def claims(self, **changes: Any) -> dict[str, Any]:
        claims: dict[str, Any] = {
            "sub": "1",
            "iat": self.now,
            "exp": self.now + timedelta(seconds=self.settings.access_token_ttl),
            "iss": self.settings.issuer,
            "aud": self.settings.audience,
            "jti": uuid.uuid4().hex,
        }
        for name, value in changes.items():
            if value is DROP:
                del claims[name]
            else:
                claims[name] = value
        return claims

    def token(self, *, key: str = TEST_SECRET, algorithm: str = "HS256", **changes: Any) -> str:
        return jwt.encode(self.claims(**changes), key, algorithm=algorithm)

    def ago(self, seconds: int) -> datetime:
        return self.now - timedelta(seconds=seconds)

    def ahead(self, seconds: int) -> datetime:
        return self.now + timedelta(seconds=seconds)


DROP = object()


def tampered(m: Minter) -> str:
    """Alice's token with the payload swapped for one naming the admin; the signature is alice's."""
    header, _, signature = m.token().split(".")
    payload = b64url(json.dumps(m.claims(sub="2"), default=lambda t: int(t.timestamp())).encode())
    return f"{header}.{payload}.{signature}"


def hs512(m: Minter) -> str:
    """Alice's claims signed with HS512 and the server's own secret: only the algorithm is wrong."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)  # 42 bytes is short for SHA-512; irrelevant
        return m.token(algorithm="HS512")


def signed(m: Minter, header: dict[str, Any], payload_bytes: bytes) -> str:
    """A correctly HS256-signed token whose payload is the raw bytes given (need not be a JSON object)."""
    import hashlib
    import hmac

    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(payload_bytes)}"
    mac = hmac.new(TEST_SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


@dataclass(frozen=True)
class Row:
    """One hostile request and the answer it must get."""

    id: str
    status: int
    error: str | None
    # None: no WWW-Authenticate header; "": the bare challenge; else the error code it must carry.
    challenge: str | None
    token: Callable[[Minter], str] | None = None  # sent as "Authorization: Bearer <token>"
    header: str | None = None  # sent as the Authorization header as is
    headers: list[tuple[str, str]] = field(default_factory=list)  # extra raw headers
    query: dict[str, str] = field(default_factory=dict)
    message: str | None = None  # a part of the message
    routes: tuple[str, ...] = tuple(PROTECTED)


def bad_request(id: str, header: str, message: str = "Bearer <token>") -> Row:
    return Row(id, 400, "invalid_request", "invalid_request", header=header, message=message)


def other_scheme(id: str, header: str, message: str = "Bearer <token>") -> Row:
    # RFC 6750 §3.1: no Bearer credentials "lacks any authentication information": a bare challenge.
    return Row(id, 401, "authentication_required", "", header=header, message=message)


def bad_token(id: str, token: Callable[[Minter], str], message: str) -> Row:
    return Row(id, 401, "invalid_token", "invalid_token", token=token, message=message)


ROWS: list[Row] = [
    # --- no credentials: the decorators answer with the bare challenge (RFC 6750 §3.1)
    Row("no-authorization-header", 401, "authentication_required", "", message="Bearer <token>"),
    Row("token-in-query-string-other-name", 401, "authentication_required", "", query={"token": "abc.def.ghi"}),
    Row(
        "token-in-query-string",
        400,
        "invalid_request",
        "invalid_request",
        query={"access_token": "placeholder"},
        message="URL",
    ),
    # --- another scheme or a bare token: no Bearer credentials at all, 401 with the bare challenge (§3.1)
    *[other_scheme(f"header-{description}", header) for description, header in OTHER_SCHEME_HEADERS],
    other_scheme("header-raw-token-no-scheme", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "bare token"),
    other_scheme("header-bearer-underscore", "Bearer_x", "bare token"),
    other_scheme("header-token-scheme", "Token x", "another scheme"),
    other_scheme("header-basic-scheme", "Basic YWxpY2U6c2VjcmV0", "another scheme"),
    # --- the header is a malformed Bearer credential: 400 invalid_request
    *[bad_request(f"header-{description}", header) for description, header in MALFORMED_HEADERS],
    bad_request("header-bearer-with-trailing-space", "Bearer ", "without a token"),
    bad_request("header-bearer-tab", "Bearer\tabc", "spaces, nothing else"),
    bad_request("header-two-tokens", "Bearer abc def", "more than one token"),
    bad_request("header-non-ascii", "Bearer t\u00f6k\u00e9n", "b64token"),
    bad_request("header-snowman", "Bearer \u2603", "b64token"),
    Row(
        "two-authorization-headers",
        400,
        "invalid_request",
        "invalid_request",
        headers=[("Authorization", "Bearer abc"), ("Authorization", "Bearer def")],
        message="2 Authorization headers",
    ),
    # --- well-formed headers whose token is not valid: 401 invalid_token
    bad_token("lower-case-scheme-bogus-token", lambda m: "not-a-jwt", "malformed"),
    bad_token("token-9000-characters", lambda m: "a" * 9000, "longer than 4096"),
    bad_token("alg-none", lambda m: jwt.encode(m.claims(), "", algorithm="none"), "algorithm"),
    bad_token(
        "alg-None-capitalised", lambda m: forge({"alg": "None", "typ": "JWT"}, {"sub": "1"}, ""), "algorithm"
    ),
    bad_token("alg-hs512-when-only-hs256", hs512, "algorithm"),
    bad_token("alg-rs256-header", lambda m: forge({"alg": "RS256", "typ": "JWT"}, {"sub": "1"}), "algorithm"),
    bad_token("wrong-key", lambda m: m.token(key=OTHER_SECRET), "signature"),
    bad_token("tampered-payload", tampered, "signature"),
    bad_token("signature-stripped", lambda m: m.token().rsplit(".", 1)[0] + ".", "signature"),
    bad_token("expired", lambda m: m.token(iat=m.ago(3600), exp=m.ago(2700)), "expired"),
    bad_token("nbf-in-the-future", lambda m: m.token(nbf=m.ahead(60)), "not valid yet"),
    bad_token("iat-in-the-future", lambda m: m.token(iat=m.ahead(60)), "not valid yet"),
    bad_token("missing-exp", lambda m: m.token(exp=DROP), "'exp'"),
    bad_token("missing-sub", lambda m: m.token(sub=DROP), "'sub'"),
    bad_token("missing-iat", lambda m: m.token(iat=DROP), "'iat'"),
    bad_token("missing-iss", lambda m: m.token(iss=DROP), "'iss'"),
    bad_token("missing-aud", lambda m: m.token(aud=DROP), "'aud'"),
    bad_token("missing-jti", lambda m: m.token(jti=DROP), "'jti'"),
    bad_token("integer-sub", lambda m: m.token(sub=1), "must be a string"),
    bad_token("integer-jti", lambda m: m.token(jti=7), "jti"),
    bad_token("iat-not-a-number", lambda m: m.token(iat="yesterday"), "iat"),
    bad_token("exp-not-a-number", lambda m: m.token(exp="tomorrow"), "malformed"),
    bad_token("wrong-issuer", lambda m: m.token(iss="someone-else"), "issuer"),
    bad_token("wrong-audience", lambda m: m.token(aud="another-api"), "audience"),
    bad_token("audience-list-without-ours", lambda m: m.token(aud=["a", "b"]), "audience"),
    bad_token("unknown-user", lambda m: m.token(sub="99"), "no longer exists"),
    bad_token("deleted-user", lambda m: m.token(sub="3"), "no longer exists"),
    bad_token("non-numeric-sub", lambda m: m.token(sub="alice"), "not a user id"),
    bad_token("negative-sub", lambda m: m.token(sub="-1"), "not a user id"),
    bad_token("non-ascii-digit-sub", lambda m: m.token(sub="\u0661"), "not a user id"),
    bad_token("truncated-mid-base64", lambda m: m.token()[:-10], "malformed"),
    bad_token("truncated-signature", lambda m: m.token()[:-11], "signature"),
    bad_token("two-segments", lambda m: m.token().rsplit(".", 1)[0], "malformed"),
    bad_token("extra-segments", lambda m: m.token() + ".abc.def", "malformed"),
    bad_token("bad-base64", lambda m: "eyJ~~~.e30+/.abc", "malformed"),
    bad_token("header-not-json", lambda m: f"{b64url(b'not json')}.{b64url(b'{}')}.abc", "malformed"),
    bad_token("payload-a-json-list", lambda m: signed(m, {"alg": "HS256", "typ": "JWT"}, b"[1, 2]"), "malformed"),
    bad_token("payload-not-json", lambda m: signed(m, {"alg": "HS256", "typ": "JWT"}, b"sub=1"), "malformed"),
    bad_token("empty-segments", lambda m: "..", "malformed"),
    bad_token("dots-only", lambda m: ".", "malformed"),
]

# Requests that must succeed: they show the table is not refusing everything.
ACCEPTED = [
    ("valid-token", lambda m: f"Bearer {m.token()}"),
    ("lower-case-scheme", lambda m: f"bearer {m.token()}"),
    ("upper-case-scheme", lambda m: f"BEARER {m.token()}"),
    ("two-spaces-after-bearer", lambda m: f"Bearer  {m.token()}"),  # RFC 6750 §2.1: 1*SP
    ("five-spaces-after-bearer", lambda m: f"bearer     {m.token()}"),
    ("expired-within-leeway", lambda m: f"Bearer {m.token(iat=m.ago(905), exp=m.ago(5))}"),
]

CASES = [pytest.param(row, route, id=f"{row.id}@{route}") for row in ROWS for route in row.routes]


def test_the_table_is_large_enough():
    assert len(ROWS) >= 40


@pytest.fixture
def minter(settings) -> Minter:
    return Minter(settings)


@pytest.fixture(params=[True, False], ids=["token-cache", "plain"])
async def layered_client(request, aiohttp_client, settings, users):
    """A client of the app with and without the token-cache layer: both must answer alike."""
    return await aiohttp_client(create_app(settings, users, token_cache=request.param))


@pytest.fixture
async def deleted_user_client(layered_client, users):
    # id 3: a user who logged in, then was deleted; their token must stop working at once.
    carol = users.create("carol@example.com", "carol password")
    assert carol.id == 3
    users.delete(carol.id)
    return layered_client


@pytest.mark.parametrize(("row", "route"), CASES)
async def test_hostile_request(deleted_user_client, minter, row: Row, route: str):
    headers = CIMultiDict(row.headers)
    if row.token is not None:
        headers["Authorization"] = f"Bearer {row.token(minter)}"
    if row.header is not None:
        headers["Authorization"] = row.header
    placeholder = row.query.get("access_token") == "placeholder"
    row_query = {"access_token": minter.token()} if placeholder else row.query

    response = await deleted_user_client.get(route, headers=headers, params=row_query)

    assert response.status < 500
    assert response.status == row.status
    assert response.content_type == "application/json"
    body = await response.json()
    assert set(body) == {"error", "message"}
    assert body["error"] == row.error
    if row.message is not None:
        assert row.message in body["message"]
    token = row.token(minter) if row.token else None
    if token and len(token) > 20:
        assert token not in body["message"]
    challenge = response.headers.get("WWW-Authenticate")
    if row.challenge is None:
        assert challenge is None
    elif row.challenge == "":
        assert challenge == REALM
    else:
        assert challenge.startswith(f'{REALM}, error="{row.challenge}", error_description="')
        assert challenge.isascii()


@pytest.mark.parametrize(("name", "header"), ACCEPTED, ids=[name for name, _ in ACCEPTED])
async def test_accepted_request(layered_client, minter, name, header):
    sent = header(minter)
    for _ in range(2):  # with the token cache, the second request is a hit
        response = await layered_client.get("/get-user", headers={"Authorization": sent})
        assert response.status == 200
        assert "WWW-Authenticate" not in response.headers
        assert (await response.json())["id"] == 1


async def test_anonymous_request_reaches_a_public_handler(client):
    response = await client.get("/")
    assert response.status == 200
    assert (await response.json())["user"] is None


async def test_a_valid_token_names_the_user_on_a_public_handler(client, minter):
    response = await client.get("/", headers={"Authorization": f"Bearer {minter.token(sub='2')}"})
    assert (await response.json())["user"] == "User id=2: <admin@example.com, is_admin=True>"


async def test_a_bad_token_is_ignored_on_a_public_handler(client):
    # A route that serves anonymous callers serves one with a broken or stale credential too (docs/design.md,
    # "Stale credentials"); tests/test_abuse.py checks every kind of refusal and the protected routes.
    response = await client.get("/", headers={"Authorization": "Bearer abc.def.ghi"})
    assert response.status == 200
    assert (await response.json())["user"] is None


async def test_another_scheme_is_refused_on_a_guarded_handler_and_ignored_on_a_public_one(client):
    # A guarded route tells the client the right form: 401 with the bare challenge (RFC 6750 §3.1).
    response = await client.get("/get-user", headers={"Authorization": "Basic YWxpY2U6c2VjcmV0"})
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == REALM
    # A public route serves it as anonymous (abuse.ignore_stale_credentials, docs/design.md "Stale credentials").
    response = await client.get("/", headers={"Authorization": "Basic YWxpY2U6c2VjcmV0"})
    assert response.status == 200


# --- parse_bearer


@pytest.mark.parametrize(("description", "header", "token"), WELL_FORMED_HEADERS)
def test_parse_bearer_returns_the_token(description, header, token):
    assert parse_bearer(header) == token


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("Bearer", "without a token"),
        ("Bearer abc def", "more than one token"),
        ("Bearer\tabc", "spaces, nothing else"),
        ("Bearer \tabc", "spaces, nothing else"),
        (" Bearer abc", "spaces, nothing else"),
        ("Bearer abc ", "spaces, nothing else"),
        ("Bearer abc=def", "b64token"),
        ("Bearer t\u00f6k\u00e9n", "b64token"),
    ],
)
def test_parse_bearer_says_what_is_wrong(header, problem):
    with pytest.raises(InvalidRequest) as caught:
        parse_bearer(header)
    assert problem in str(caught.value)
    assert "Authorization: Bearer <token>" in str(caught.value)


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("aaa.bbb.ccc", "not a bare token"),
        ("Token abc", "not another scheme"),
        ("Basic abc def", "not another scheme"),
        ("Bearer_abc", "not a bare token"),
    ],
)
def test_parse_bearer_tells_another_scheme_apart(header, problem):
    with pytest.raises(UnsupportedScheme) as caught:
        parse_bearer(header)
    assert problem in str(caught.value)
    assert "Authorization: Bearer <token>" in str(caught.value)


@pytest.mark.parametrize(("description", "header"), MALFORMED_HEADERS)
def test_parse_bearer_refuses_malformed_headers(description, header):
    with pytest.raises(InvalidRequest):
        parse_bearer(header)


@pytest.mark.parametrize(("description", "header"), OTHER_SCHEME_HEADERS)
def test_parse_bearer_refuses_other_schemes(description, header):
    with pytest.raises(UnsupportedScheme):
        parse_bearer(header)


def test_parse_bearer_is_the_plain_version():
    # Notebook 02 shows the plain parser; the remembered one belongs to the app's token cache (notebook 06).
    assert not hasattr(parse_bearer, "cache_info")


def test_parse_bearer_allows_several_spaces():
    assert parse_bearer("Bearer   abc.def") == "abc.def"


@pytest.mark.parametrize("header", ["Bearer secret-token-value!", "secret-token-value", "Secret-token-value x"])
def test_parse_bearer_never_echoes_the_token(header):
    with pytest.raises(ValueError) as caught:
        parse_bearer(header)
    assert "ecret-token-value" not in str(caught.value)


def test_invalid_request_is_a_value_error():
    # So an exercise checker that expects ValueError accepts the reference parse_bearer.
    assert issubclass(InvalidRequest, ValueError)
    assert issubclass(UnsupportedScheme, ValueError)
    assert issubclass(InvalidToken, ValueError)


def test_bearer_pattern_is_the_rfc_6750_b64token_alphabet():
    assert BEARER_CREDENTIALS.fullmatch("Bearer " + "A-._~+/9")
    assert BEARER_CREDENTIALS.fullmatch("Bearer    abc==")
    assert not BEARER_CREDENTIALS.fullmatch("Bearer a=b")
    assert not BEARER_CREDENTIALS.fullmatch("Bearerabc")


# --- describe_token_error


def test_describe_token_error_names_the_missing_claim():
    assert describe_token_error(jwt.MissingRequiredClaimError("exp")) == "the token lacks the required 'exp' claim"


def test_describe_token_error_has_a_fallback():
    assert describe_token_error(jwt.InvalidTokenError("something new")) == "the token is invalid"


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (jwt.ExpiredSignatureError(), "expired"),
        (jwt.ImmatureSignatureError(), "not valid yet"),
        (jwt.InvalidAudienceError(), "audience"),
        (jwt.InvalidIssuerError(), "issuer"),
        (jwt.InvalidAlgorithmError(), "algorithm"),
        (jwt.InvalidSignatureError(), "signature"),
        (jwt.DecodeError(), "malformed"),
    ],
)
def test_describe_token_error_subclasses_before_bases(error, text):
    assert text in describe_token_error(error)


# --- authenticate_token


def test_authenticate_token_returns_the_user(settings, users, minter):
    assert authenticate_token(minter.token(), settings, users) == users.get_by_id(1)


def test_authenticate_token_refuses_a_long_token_before_decoding(settings, users):
    with pytest.raises(InvalidToken, match="longer than"):
        authenticate_token("a" * (settings.max_token_length + 1), settings, users)


def test_authenticate_token_refuses_a_subject_too_long_for_int(settings, users, minter):
    # int() refuses more than 4300 digits (ValueError, a 500); a longer max_token_length lets such a sub through.
    roomy = dataclasses.replace(settings, max_token_length=20_000)
    with pytest.raises(InvalidToken, match="subject is not a user id"):
        authenticate_token(minter.token(sub="1" * 5000), roomy, users)


def test_notebook_02_shows_the_shipped_constants():
    # test_drift.py compares functions and classes; the constants parse_bearer uses are compared here.
    import ast
    from pathlib import Path

    from notebook_helpers import NOTEBOOK_DIR, code_cells, python_source, read

    import tutorial_src.auth as auth_module

    def assignments(source: str) -> dict[str, str]:
        return {
            node.targets[0].id: ast.dump(node.value)
            for node in ast.parse(source).body
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
        }

    shipped = assignments(Path(auth_module.__file__).read_text())
    shown: dict[str, str] = {}
    for cell in code_cells(read(NOTEBOOK_DIR / "02-middleware.ipynb")):
        shown.update(assignments(python_source(cell)))
    for name in ("BEARER_CREDENTIALS", "RIGHT_FORM"):
        assert shown[name] == shipped[name], f"02-middleware.ipynb shows a different {name}"
