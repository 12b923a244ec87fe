"""Checkers for the exercises of notebook 02 (the auth middleware).

- ``auth_middleware_lab(auth_middleware)``: the learner's middleware served by ``build_app(settings, users,
  auth_middleware=…)`` on a lab server of its own, and a battery of real requests (``_lab.run_lab``): no header,
  valid tokens, other schemes, malformed Bearer credentials, broken tokens, on public and guarded routes.
- ``parse_bearer(my_parse_bearer)`` and ``load_user(my_load_user)``: the side exercises, case by case.

``MALFORMED_HEADERS``, ``OTHER_SCHEME_HEADERS`` and ``WELL_FORMED_HEADERS`` are also rows of the
hostile-request table in ``tests/test_auth.py``, so the exercise and the server are held to the same edge cases.
"""

from __future__ import annotations

import inspect
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import requests
from aiohttp import web

from ..app import build_app
from ..errors import InvalidToken
from ..models import User, UserStore
from ..settings import Settings, fast_test_settings
from ..tokens import create_access_token
from ._core import Case, CheckResult, describe_exception, not_yet, raises, returns, run_cases, safe_repr
from ._lab import (
    _NOTES,
    MISSING_RETURN,
    Step,
    bare_challenge,
    challenge_with_error,
    header_absent,
    json_body,
    run_lab,
)

__all__ = [
    "MALFORMED_HEADERS",
    "OTHER_SCHEME_HEADERS",
    "WELL_FORMED_HEADERS",
    "auth_middleware_lab",
    "load_user",
    "parse_bearer",
]

#: ``(what is wrong, Authorization header value)``: malformed Bearer credentials, each refused with 400
#: ``invalid_request`` (RFC 6750 §3.1).
MALFORMED_HEADERS: list[tuple[str, str]] = [
    ("a bare 'Bearer'", "Bearer"),
    ("a tab instead of a space", "Bearer\tabc.def.ghi"),
    ("two tokens", "Bearer abc.def.ghi jkl.mno.pqr"),
    ("two Bearer credentials", "Bearer abc.def.ghi, Bearer jkl.mno.pqr"),
    ("non-ASCII characters in the token", "Bearer tökén.def.ghi"),
    ("'=' inside the token (only allowed at its end)", "Bearer abc=def"),
    ("a comma inside the token", "Bearer abc,def"),
    ("an empty header", ""),
]

#: ``(what it is, Authorization header value)``: no Bearer credentials at all, which RFC 6750 §3.1 treats as a
#: request that "lacks any authentication information": 401 with a bare challenge, no error code in it.
OTHER_SCHEME_HEADERS: list[tuple[str, str]] = [
    ("another scheme", "Token abc.def.ghi"),
    ("Basic credentials", "Basic YWxpY2U6c2VjcmV0"),
    ("the scheme glued to the token", "Bearer_abc.def.ghi"),
    ("the raw token with no scheme, as the 2016 article sent it", "abc.def.ghi"),
]

#: ``(what it shows, header value, the token)``: each must be accepted.
WELL_FORMED_HEADERS: list[tuple[str, str, str]] = [
    ("the usual form", "Bearer abc.def.ghi", "abc.def.ghi"),
    ("a lower-case scheme (schemes are case-insensitive)", "bearer abc.def.ghi", "abc.def.ghi"),
    ("an upper-case scheme", "BEARER abc.def.ghi", "abc.def.ghi"),
    ("two spaces after Bearer (RFC 6750 §2.1: 1*SP)", "Bearer  abc.def.ghi", "abc.def.ghi"),
    ("every b64token character and '=' padding", "Bearer aZ09-._~+/==", "aZ09-._~+/=="),
]


def parse_bearer(answer: Callable[[str], str]) -> CheckResult:
    """Check ``my_parse_bearer(header) -> token``: well-formed headers give the token, the rest ``ValueError``."""
    cases = [
        Case(f"{description} ({header!r})", (header,), returns(token))
        for description, header, token in WELL_FORMED_HEADERS
    ] + [
        Case(f"{description} ({header!r})", (header,), raises(ValueError))
        for description, header in MALFORMED_HEADERS + OTHER_SCHEME_HEADERS
    ]
    return run_cases(answer, cases, f"your parser agrees with RFC 6750 §2.1 on {len(cases)} headers.")


def _store_with_a_deleted_user() -> tuple[UserStore, User, User]:
    users = UserStore.from_settings(fast_test_settings(jwt_secret="checker-secret-" + "x" * 32))
    alice = users.create("alice@example.com", "alice password")
    bob = users.create("bob@example.com", "bob password")
    admin = users.create("admin@example.com", "admin password", is_admin=True)
    users.delete(bob.id)
    return users, alice, admin


def load_user(answer: Callable[[dict[str, Any], UserStore], User]) -> CheckResult:
    """Check ``my_load_user(claims, users) -> User``: the user of ``claims["sub"]``, else ``InvalidToken``.

    The store holds alice (id 1) and admin (id 3); bob (id 2) was deleted after his token was issued.
    """
    users, alice, admin = _store_with_a_deleted_user()
    refused = raises(InvalidToken)
    cases = [
        Case("subject '1' (alice)", ({"sub": "1"}, users), returns(alice)),
        Case("subject '3' (admin)", ({"sub": "3"}, users), returns(admin)),
        Case("subject '2' (bob, deleted after login)", ({"sub": "2"}, users), refused),
        Case("subject '99' (no such user)", ({"sub": "99"}, users), refused),
        Case("subject 'alice' (not a number)", ({"sub": "alice"}, users), refused),
        Case("subject '-1'", ({"sub": "-1"}, users), refused),
        Case("subject '+1' (int() accepts it, an id has no sign)", ({"sub": "+1"}, users), refused),
        Case("subject ' 1' (int() ignores the space)", ({"sub": " 1"}, users), refused),
        Case("subject '1_0' (int() reads it as 10)", ({"sub": "1_0"}, users), refused),
        Case(
            "subject '\u0661' (an Arabic-Indic digit one; int() reads it as 1)",
            ({"sub": "\u0661"}, users),
            refused,
        ),
        Case("an empty subject", ({"sub": ""}, users), refused),
    ]
    return run_cases(answer, cases, "deleted, unknown and odd subjects are refused with InvalidToken.")


class _MiddlewareBench:
    """The lab's settings (not the notebook's: a hard-coded secret, realm or issuer shows), users and tokens.

    alice (id 1) is a user, boss (id 2) an admin; bob (id 3) was deleted after his token was issued.
    """

    def __init__(self) -> None:
        self.settings = fast_test_settings(
            jwt_secret=secrets.token_urlsafe(32), realm="middleware-lab", issuer="middleware-lab",
            audience="middleware-lab-api",
        )  # fmt: skip
        self.users = UserStore.from_settings(self.settings)
        self.alice = self.users.create("alice@example.com", "alice's password")
        self.boss = self.users.create("boss@example.com", "boss's password", is_admin=True)
        bob = self.users.create("bob@example.com", "bob's password")
        self.token = create_access_token(self.alice, self.settings)
        self.boss_token = create_access_token(self.boss, self.settings)
        self.deleted = create_access_token(bob, self.settings)
        self.users.delete(bob.id)
        hour_ago = datetime.now(timezone.utc) - timedelta(hours=1)
        self.expired = create_access_token(self.alice, self.settings, now=hour_ago)
        fields = {name: getattr(self.settings, name) for name in self.settings.__dataclass_fields__}
        self.other_audience = create_access_token(self.alice, Settings(**{**fields, "audience": "another-api"}))
        header, payload, signature = self.token.split(".")
        self.tampered = f"{header}.{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{signature}"


def _hello(email: str | None) -> Callable[[requests.Response, Mapping[str, requests.Response]], str | None]:
    """The check of ``GET /``: its ``user`` names ``email``, or is ``None`` for an anonymous caller."""

    def check(response: requests.Response, earlier: Mapping[str, requests.Response]) -> str | None:
        body = json_body(response)
        user = body.get("user") if isinstance(body, dict) else None
        if email is None:
            return None if user is None else f"GET / saw the user {safe_repr(user)}, expected an anonymous caller"
        if not isinstance(user, str) or f"<{email}," not in user:
            return f"GET / saw the user {safe_repr(user)}, expected {email}: store the User under CURRENT_USER"
        return None

    return check


def _names(user: User) -> Callable[[requests.Response, Mapping[str, requests.Response]], str | None]:
    def check(response: requests.Response, earlier: Mapping[str, requests.Response]) -> str | None:
        body = json_body(response)
        email = body.get("email") if isinstance(body, dict) else None
        return None if email == user.email else f"the answer is about {safe_repr(email)}, not {user.email}"

    return check


ANONYMOUS_HINT = (
    "no Authorization header is an anonymous caller, not an error: set request[CURRENT_USER] = None and call "
    "the handler (login_required answers the 401 on the routes that need a user)"
)
TOKEN_HINT = "authenticate_token(token, settings, users) gives the User; store it under request[CURRENT_USER]"
SPACES_HINT = (
    'RFC 6750 §2.1 is "Bearer" 1*SP b64token: one or more spaces, and a case-insensitive scheme; '
    "bearer_token(request) reads the header for you"
)
SCHEME_HINT = (
    "another scheme or a bare token lacks any authentication information (RFC 6750 §3.1): catch "
    "UnsupportedScheme and raise bearer_error(web.HTTPUnauthorized, 'authentication_required', …, realm), "
    "whose challenge has no error="
)
MALFORMED_HINT = (
    "catch InvalidRequest (bearer_token raises it) and raise bearer_error(web.HTTPBadRequest, "
    "'invalid_request', str(problem), settings.realm)"
)
INVALID_HINT = (
    "catch InvalidToken (authenticate_token raises it) and raise bearer_error(web.HTTPUnauthorized, "
    "'invalid_token', str(problem), settings.realm)"
)
STALE_HINT = (
    "set request[CURRENT_USER] only once the credentials are accepted (or absent): a refusal must leave it "
    "unset, so a public route can serve the caller as anonymous (ignore_stale_credentials, docs/design.md)"
)


def auth_middleware_steps(bench: _MiddlewareBench) -> list[Step]:
    """The requests of the middleware lab: public ``/``, ``/get-user`` (login_required), ``/admin/users``."""
    realm = bench.settings.realm
    bare = (bare_challenge(realm),)
    malformed = (challenge_with_error(realm, "invalid_request"),)
    invalid = (challenge_with_error(realm, "invalid_token"),)

    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def refused(
        description: str, headers: Any, status: int, error: str, rules: Any, hint: str, path: str = "/get-user"
    ) -> Step:
        return Step(description, "GET", path, status, error, headers=headers, expect_headers=rules, hint=hint)

    return [
        Step("no Authorization header", "GET", "/", 200, check=_hello(None), hint=ANONYMOUS_HINT),
        Step("no Authorization header", "GET", "/get-user", 401, "authentication_required", expect_headers=bare,
             hint=ANONYMOUS_HINT),
        Step("alice's token", "GET", "/get-user", 200, headers=bearer(bench.token), check=_names(bench.alice),
             expect_headers=(header_absent("WWW-Authenticate"),), hint=TOKEN_HINT),
        Step("alice's token", "GET", "/", 200, headers=bearer(bench.token), check=_hello(bench.alice.email),
             hint=TOKEN_HINT),
        Step("boss's token, an admin", "GET", "/admin/users", 200, headers=bearer(bench.boss_token),
             hint=TOKEN_HINT),
        Step("alice's token, not an admin", "GET", "/admin/users", 403, "insufficient_scope",
             headers=bearer(bench.token), hint=TOKEN_HINT),
        Step("alice's token after two spaces, 'Bearer  <token>'", "GET", "/get-user", 200,
             headers={"Authorization": f"Bearer  {bench.token}"}, check=_names(bench.alice), hint=SPACES_HINT),
        Step("a lower-case scheme, 'bearer <token>'", "GET", "/get-user", 200,
             headers={"Authorization": f"bearer {bench.token}"}, check=_names(bench.alice), hint=SPACES_HINT),
        refused("another scheme, 'Token x'", {"Authorization": "Token x"}, 401, "authentication_required", bare,
                SCHEME_HINT),
        refused("alice's token with no scheme", {"Authorization": bench.token}, 401, "authentication_required",
                bare, SCHEME_HINT),
        refused("'Bearer' alone", {"Authorization": "Bearer"}, 400, "invalid_request", malformed, MALFORMED_HINT),
        refused("an empty Authorization header", {"Authorization": ""}, 400, "invalid_request", malformed,
                "a header that is there but empty is not an absent one: test `is None`, not truthiness; "
                + MALFORMED_HINT),
        refused("two tokens, 'Bearer <token> <token>'", {"Authorization": f"Bearer {bench.token} {bench.token}"},
                400, "invalid_request", malformed, MALFORMED_HINT),
        refused("two Authorization headers", [("Authorization", f"Bearer {bench.token}")] * 2, 400,
                "invalid_request", malformed, "bearer_token(request) refuses them: " + MALFORMED_HINT),
        Step("alice's token in the URL", "GET", f"/get-user?access_token={bench.token}", 400, "invalid_request",
             expect_headers=malformed, hint="bearer_token(request) refuses it: " + MALFORMED_HINT),
        refused("an expired token", bearer(bench.expired), 401, "invalid_token", invalid, INVALID_HINT),
        refused("a tampered token", bearer(bench.tampered), 401, "invalid_token", invalid, INVALID_HINT),
        refused("a token for another audience", bearer(bench.other_audience), 401, "invalid_token", invalid,
                INVALID_HINT),
        refused("the token of a deleted user", bearer(bench.deleted), 401, "invalid_token", invalid, INVALID_HINT),
        Step("an expired token on the public GET /", "GET", "/", 200, headers=bearer(bench.expired),
             check=_hello(None), hint=STALE_HINT),
    ]  # fmt: skip


def _watched(answer: Any) -> Any:
    """``answer`` with a look at what it returns: what aiohttp would only log without context becomes a note."""

    @web.middleware
    async def watched(request: web.Request, handler: Any) -> web.StreamResponse:
        result = await answer(request, handler)
        notes: list[str] = request.app[_NOTES]
        if inspect.iscoroutine(result):
            result.close()  # no "never awaited" warning
            notes.append("the middleware returned the handler's coroutine: write `return await handler(request)`")
            raise web.HTTPInternalServerError()
        if getattr(result, "__http_exception__", False):
            notes.append(
                "the middleware returned an HTTP error instead of raising it: write `raise bearer_error(…)`, "
                "not `return …`"
            )
            raise result
        if result is None:
            notes.append(MISSING_RETURN + " (`return await handler(request)`)")
            raise web.HTTPInternalServerError()
        return result

    return watched


def auth_middleware_lab(answer: Any) -> CheckResult:
    """Check the learner's ``auth_middleware`` over HTTP.

    It is served by ``build_app(settings, users, auth_middleware=answer)`` on a lab server of its own (lab
    settings: another secret, realm, issuer and audience than the notebook's) and must answer each request of
    ``auth_middleware_steps`` as RFC 6750 §3.1 says: anonymous without a header, the user of a valid token
    (one or more spaces, any case of ``Bearer``), 401 with a bare challenge for another scheme or a bare token,
    400 ``invalid_request`` for malformed credentials, two headers or a token in the URL, 401 ``invalid_token``
    for an expired, tampered, other-audience or deleted user's token; public ``GET /`` serves a refused
    credential as anonymous.
    """
    if not callable(answer):
        return not_yet(f"expected the middleware auth_middleware, got {type(answer).__name__}")
    if not inspect.iscoroutinefunction(answer):
        return not_yet(
            "write `async def auth_middleware(request, handler)`: aiohttp awaits middlewares, and the handler "
            "must be awaited inside it (`return await handler(request)`)"
        )
    if getattr(answer, "__middleware_version__", None) != 1:
        return not_yet(
            "put @web.middleware on the line above `async def auth_middleware`: without it aiohttp takes the "
            "function for an old-style middleware factory, called with (app, handler)"
        )
    bench = _MiddlewareBench()
    try:
        app = build_app(bench.settings, bench.users, auth_middleware=_watched(answer))
    except Exception as error:
        return not_yet(f"building the app with auth_middleware raised {describe_exception(error)}")
    summary = (
        "anonymous, signed-in, other schemes, malformed and broken credentials each get their RFC 6750 answer"
    )
    return run_lab(app, auth_middleware_steps(bench), summary)
