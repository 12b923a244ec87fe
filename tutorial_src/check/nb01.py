"""Checkers for the exercises of notebook 01 (``01-login.ipynb``).

- ``decode_payload(fn)``: ``fn(token) -> dict`` reads a JWT's claims by hand (base64url + JSON, RFC 7515 §2,
  RFC 7519 §3); compared with ``jwt.decode(token, options={"verify_signature": False})``.
- ``login_answer(fn)``: ``fn(user, settings) -> dict`` builds the 200 body of ``POST /login`` with an extra
  ``"user": {"id": int, "email": str}`` field; the token must verify with ``decode_access_token``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import jwt

from ..models import User, UserStore
from ..settings import Settings, fast_test_settings
from ..tokens import create_access_token, decode_access_token
from ._core import Case, CheckResult, describe_exception, returns, run_cases

__all__ = ["decode_payload", "login_answer"]

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


def _login_answer_expectation(user: User, settings: Settings) -> Callable[[Any, BaseException | None], str | None]:
    def expect(value: Any, error: BaseException | None) -> str | None:
        if error is not None:
            return f"it raised {describe_exception(error)}"
        if not isinstance(value, dict):
            return f"return the JSON body as a dict, got {type(value).__name__}"
        missing = [key for key in ("access_token", "token_type", "expires_in", "user") if key not in value]
        if missing:
            return f"the answer lacks {', '.join(repr(key) for key in missing)}"
        token = value["access_token"]
        if not isinstance(token, str):
            return f"'access_token' must be the str from create_access_token, got {type(token).__name__}"
        try:
            text = json.dumps(value)
        except (TypeError, ValueError) as exc:
            return f"web.json_response could not send it ({type(exc).__name__}: {exc})"
        if user.password_hash in text or "password_hash" in text:
            return "the answer holds the password hash; never send it to a client"
        try:
            claims = decode_access_token(token, settings)
        except jwt.InvalidTokenError as exc:
            return f"the token does not verify with these settings ({type(exc).__name__}: {exc})"
        if claims["sub"] != str(user.id):
            return f"the token's sub is {claims['sub']!r}, expected {str(user.id)!r} (this user's id as a string)"
        # RFC 6749 §5.1 and §7.1: the token type value is case-insensitive; "Bearer" is RFC 6750's spelling.
        token_type = value["token_type"]
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            return f"'token_type' must be 'Bearer' (RFC 6750 §4, any case), got {token_type!r}"
        expires_in = value["expires_in"]
        if type(expires_in) is not int or expires_in != settings.access_token_ttl:
            return (
                f"'expires_in' must be settings.access_token_ttl ({settings.access_token_ttl} seconds here), "
                f"got {expires_in!r}"
            )
        expected_user = {"id": user.id, "email": user.email}
        if value["user"] != expected_user or type(value["user"].get("id")) is not int:
            return f"'user' must be {expected_user!r}, got {value['user']!r}"
        extra = sorted(set(value) - {"access_token", "token_type", "expires_in", "user"})
        if extra:
            return f"the answer has fields the client did not ask for: {extra}"
        return None

    return expect


def _login_answer_cases() -> list[Case]:
    short = fast_test_settings(jwt_secret=_SECRET, access_token_ttl=60, issuer="checker", audience="checker-api")
    default = fast_test_settings(jwt_secret=_SECRET)
    users = UserStore.from_settings(default)
    alice = users.create("alice@example.com", "alice password")
    zoe = users.create("zoë@example.com", "zoë's password", is_admin=True)
    return [
        Case(
            f"{user.email} with access_token_ttl={settings.access_token_ttl}",
            (user, settings),
            _login_answer_expectation(user, settings),
        )
        for user, settings in ((alice, default), (zoe, default), (alice, short), (zoe, short))
    ]


def login_answer(answer: Callable[[User, Settings], dict[str, Any]]) -> CheckResult:
    """Check ``answer(user, settings) -> dict``: the 200 body of ``POST /login`` plus the user.

    Expected: ``{"access_token": str, "token_type": "Bearer", "expires_in": settings.access_token_ttl,
    "user": {"id": user.id, "email": user.email}}``, JSON-serialisable, without the password hash, and a
    token that ``decode_access_token(token, settings)`` accepts with ``sub == str(user.id)``. Two users and
    two ``Settings`` (different lifetimes, issuers and audiences) catch hard-coded values.
    """
    summary = "a valid Bearer token for the right user, its lifetime and the user's id and email."
    return run_cases(answer, _login_answer_cases(), summary)
