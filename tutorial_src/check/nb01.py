"""Checkers for the exercises of notebook 01 (``01-login.ipynb``).

- ``decode_payload(fn)``: ``fn(token) -> dict`` reads a JWT's claims by hand (base64url + JSON, RFC 7515 §2,
  RFC 7519 §3); compared with ``jwt.decode(token, options={"verify_signature": False})``.
- ``login_lab(login)``: the learner's ``async def login(request)`` served by ``build_app(login_handler=login)``
  on a lab server of its own, and a battery of real requests (``_lab.run_lab``).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from typing import Any

import jwt
import requests

from ..app import build_app
from ..models import User, UserStore
from ..settings import Settings, fast_test_settings
from ..tokens import create_access_token, decode_access_token
from ._core import Case, CheckResult, returns, run_cases, safe_repr
from ._lab import Step, bare_challenge, json_body, no_store, require_async_handler, run_lab

__all__ = ["decode_payload", "login_lab"]

_SECRET = "checker-secret-of-notebook-01-at-least-32-bytes"


def _payload_segment(token: str) -> str:
    return token.split(".")[1]


def _signed(payload: bytes, secret: str = _SECRET) -> str:
    # PyJWS signs the payload bytes as given, so a claim can stay raw UTF-8 (PyJWT's jwt.encode would escape
    # it as \u00eb); other JWT libraries send raw UTF-8, and a decoder must read both.
    return jwt.PyJWS().encode(payload, secret, algorithm="HS256")


def _token_where(claims: dict[str, Any], wanted: Callable[[str], bool], *, raw_utf8: bool = False) -> str:
    """A signed token for ``claims`` plus a ``name`` claim grown one character at a time until the payload
    segment satisfies ``wanted`` (deterministic: the same tokens every time)."""
    for length in range(64):
        body = {**claims, "name": "x" * length}
        payload = json.dumps(body, ensure_ascii=not raw_utf8, separators=(",", ":")).encode("utf-8")
        token = _signed(payload)
        if wanted(_payload_segment(token)):
            return token
    raise AssertionError("no payload of the wanted shape")  # pragma: no cover - 4 lengths cycle all remainders


def _padding(token: str) -> int:
    """How many ``=`` the payload segment needs before base64 decoding: 0, 1 or 2."""
    return -len(_payload_segment(token)) % 4


def _decode_cases() -> list[Case]:
    settings = fast_test_settings(jwt_secret=_SECRET)
    alice = User(id=1, email="alice@example.com", password_hash="not checked here")
    claims = {"sub": "3", "iss": settings.issuer, "aud": settings.audience}
    tokens = [
        ("a payload that needs no padding", _token_where(claims, lambda seg: len(seg) % 4 == 0)),
        ("a payload that needs one '=' of padding", _token_where(claims, lambda seg: len(seg) % 4 == 3)),
        ("a payload that needs two '=' of padding", _token_where(claims, lambda seg: len(seg) % 4 == 2)),
        (
            "a payload whose base64url text holds '-' and '_'",
            _token_where({**claims, "note": ">>>???" * 4}, lambda seg: "-" in seg and "_" in seg),
        ),
        (
            "a payload with a non-ASCII email claim sent as raw UTF-8",
            _token_where({**claims, "email": "zoë@exämple.com"}, lambda seg: True, raw_utf8=True),
        ),
        # Last: its jti is random, so its length and alphabet vary; the cases above are the same every run.
        ("a real access token from create_access_token", create_access_token(alice, settings)),
    ]
    return [
        Case(
            f"{description} (payload of {len(_payload_segment(token))} characters, needs {_padding(token)} '=')",
            (token,),
            returns(jwt.decode(token, options={"verify_signature": False})),
        )
        for description, token in tokens
    ]


def decode_payload(answer: Callable[[str], dict[str, Any]]) -> CheckResult:
    """Check ``answer(token) -> dict``: the claims of a compact JWT, decoded by hand without verifying.

    The cases are real signed tokens: payloads needing 0, 1 and 2 padding characters, a payload whose
    base64url text holds ``-`` and ``_``, a raw UTF-8 non-ASCII email claim and an access token. Each result
    must equal ``jwt.decode(token, options={"verify_signature": False})`` and be a ``dict``.
    """
    return run_cases(
        answer, _decode_cases(), "your decoder reads every payload: padding, base64url and UTF-8 included."
    )


def _lab_settings() -> Settings:
    # Not the notebook's values: a login that hard-codes 900 seconds, the realm or the demo secret shows here.
    return fast_test_settings(
        jwt_secret=secrets.token_urlsafe(32),
        access_token_ttl=120,
        issuer="login-lab",
        audience="login-lab-api",
        realm="login-lab",
    )


def _granted(
    settings: Settings, user: User
) -> Callable[[requests.Response, Mapping[str, requests.Response]], str | None]:
    """The check of a 200 login answer: RFC 6749 §5.1 fields, a token that verifies and names ``user``."""

    def check(response: requests.Response, earlier: Mapping[str, requests.Response]) -> str | None:
        body = json_body(response)
        if not isinstance(body, dict):
            return f"got 200 with the body {safe_repr(response.text, 80)}, expected a JSON object"
        if "access_token" not in body:
            named = sorted(body)
            return (
                f"the answer has the fields {named}; RFC 6749 §5.1 names the token 'access_token' "
                "(with 'token_type' and 'expires_in')"
            )
        token = body["access_token"]
        if not isinstance(token, str):
            return f"'access_token' must be the str create_access_token returns, got {type(token).__name__}"
        try:
            claims = decode_access_token(token, settings)
        except jwt.InvalidTokenError as error:
            return (
                f"the access token does not verify with the app's settings ({type(error).__name__}: {error}); "
                "sign it with create_access_token(user, request.app[SETTINGS])"
            )
        if claims["sub"] != str(user.id):
            return f"the token's sub is {claims['sub']!r}, expected {str(user.id)!r} (the id of who logged in)"
        token_type = body.get("token_type")
        # RFC 6749 §5.1: "The value is case insensitive"; RFC 6750 §4 spells it "Bearer".
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            return f"'token_type' must be 'Bearer' (RFC 6750), got {safe_repr(token_type)}"
        expires_in = body.get("expires_in")
        if type(expires_in) is not int or expires_in != settings.access_token_ttl:
            return (
                f"'expires_in' must be the token's lifetime in seconds, settings.access_token_ttl "
                f"({settings.access_token_ttl} in this lab), got {safe_repr(expires_in)}"
            )
        if user.password_hash in response.text or "password" in body:
            return "the answer holds the password or its hash; never send either to a client"
        return None

    return check


def _same_as(name: str) -> Callable[[requests.Response, Mapping[str, requests.Response]], str | None]:
    def check(response: requests.Response, earlier: Mapping[str, requests.Response]) -> str | None:
        before = earlier[name]
        if json_body(response) != json_body(before):
            return (
                f"the body {safe_repr(json_body(response), 100)} differs from the wrong password's "
                f"{safe_repr(json_body(before), 100)}: an attacker would learn which emails have accounts"
            )
        return None

    return check


def login_steps(settings: Settings, alice: User, admin: User) -> list[Step]:
    """The requests of the login lab: alice (``ALICE_PASSWORD``) and an admin (``ADMIN_PASSWORD``) exist."""
    refused = (bare_challenge(settings.realm),)
    alice_json = {"email": alice.email, "password": ALICE_PASSWORD}
    bad = "invalid_request"
    return [
        Step(
            "alice's right password as JSON",
            "POST",
            "/login",
            200,
            json=alice_json,
            expect_headers=(no_store(),),
            check=_granted(settings, alice),
            hint="a token is a credential: RFC 6749 §5.1 wants Cache-Control: no-store on the answer",
        ),
        Step(
            "the admin's right password as a form",
            "POST",
            "/login",
            200,
            data={"email": admin.email, "password": ADMIN_PASSWORD},
            expect_headers=(no_store(),),
            check=_granted(settings, admin),
            hint="read the credentials with read_credentials(request): it reads JSON and forms",
        ),
        Step(
            "alice with a wrong password",
            "POST",
            "/login",
            401,
            "invalid_credentials",
            json={**alice_json, "password": "not her password"},
            expect_headers=refused,
            name="wrong password",
            hint="catch InvalidCredentials and raise bearer_error(web.HTTPUnauthorized, 'invalid_credentials', …, "
            "settings.realm): a 401 carries a WWW-Authenticate: Bearer realm=… challenge (RFC 9110 §15.5.2)",
        ),
        Step(
            "an unknown email",
            "POST",
            "/login",
            401,
            "invalid_credentials",
            json={"email": "nobody@example.com", "password": ALICE_PASSWORD},
            expect_headers=refused,
            check=_same_as("wrong password"),
            hint="an unknown email and a wrong password must get the very same answer",
        ),
        Step(
            "alice's password in upper case",
            "POST",
            "/login",
            401,
            "invalid_credentials",
            json={**alice_json, "password": ALICE_PASSWORD.upper()},
            expect_headers=refused,
            hint="passwords are compared exactly, by the user store",
        ),
        Step(
            "a body that is not valid JSON",
            "POST",
            "/login",
            400,
            bad,
            data='{"email": ',
            headers={"Content-Type": "application/json"},
            hint="read the credentials with read_credentials(request), which refuses it with 400",
        ),
        Step(
            "a JSON array instead of an object",
            "POST",
            "/login",
            400,
            bad,
            json=[alice.email, ALICE_PASSWORD],
            hint="read the credentials with read_credentials(request)",
        ),
        Step(
            "no password field",
            "POST",
            "/login",
            400,
            bad,
            json={"email": alice.email},
            hint="read the credentials with read_credentials(request)",
        ),
        Step(
            "a password that is a number",
            "POST",
            "/login",
            400,
            bad,
            json={"email": alice.email, "password": 1234},
            hint="read the credentials with read_credentials(request)",
        ),
        Step(
            "a null email",
            "POST",
            "/login",
            400,
            bad,
            json={"email": None, "password": ALICE_PASSWORD},
            hint="read the credentials with read_credentials(request)",
        ),
        Step(
            "a text/plain body",
            "POST",
            "/login",
            415,
            "unsupported_media_type",
            data=f"{alice.email} {ALICE_PASSWORD}",
            headers={"Content-Type": "text/plain"},
            hint="read the credentials with read_credentials(request), which answers 415",
        ),
    ]


ALICE_PASSWORD = "alice's lab password"
ADMIN_PASSWORD = "the admin's lab password"


def login_lab(answer: Any) -> CheckResult:
    """Check the learner's ``async def login(request)`` over HTTP.

    It is served by ``build_app(settings, users, login_handler=answer)`` on a lab server of its own (lab
    settings: another secret, lifetime, issuer, audience and realm than the notebook's) and must answer each
    request of ``login_steps``: JSON and form logins, wrong password, unknown email (the same answer), bad
    bodies (400, 415), ``Cache-Control: no-store``, ``token_type``, ``expires_in``, and a token that verifies
    with the app's settings and names the user who logged in.
    """
    refused = require_async_handler(answer, "login")
    if refused is not None:
        return refused
    settings = _lab_settings()
    users = UserStore.from_settings(settings)
    alice = users.create("alice@example.com", ALICE_PASSWORD)
    admin = users.create("boss@example.com", ADMIN_PASSWORD, is_admin=True)
    app = build_app(settings, users, login_handler=answer)
    summary = "your /login hands out verifiable tokens, refuses wrong credentials alike and bad bodies with 4xx"
    return run_lab(app, login_steps(settings, alice, admin), summary)
