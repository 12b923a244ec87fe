"""Checkers for the exercises of notebook 03 (decorators that guard handlers), all of them labs (``_lab``).

- ``login_required_lab(login_required)`` and ``admin_required_lab(admin_required)``: the demo app built with the
  learner's decorator (``build_app(login_required=…)`` / ``build_app(admin_required=…)``) plus a ``web.View``
  guarded by it, served on a lab server of its own, and a battery of real requests: no header, another scheme,
  expired, tampered, other-audience and deleted-user tokens, a user and an admin. Then: the decorator keeps the
  handler's name and docstring, and refuses a plain ``def`` handler at decoration time.
- ``owner_or_admin_decorator(my_owner_or_admin_required)``: ``/users/{user_id}`` guarded by it.

The checkers are not named ``login_required`` and so on: ``tests/test_drift.py`` would take them for the
decorators of ``decorators.py``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import requests
from aiohttp import web

from ..app import build_app
from ..keys import CURRENT_USER
from ..models import User, UserStore
from ..settings import Settings, fast_test_settings
from ..tokens import create_access_token
from ._core import CheckResult, describe_exception, not_yet, safe_repr
from ._lab import (
    Step,
    bare_challenge,
    challenge_with_error,
    decorate,
    header_absent,
    json_body,
    refuses_sync_handlers,
    run_lab,
)

__all__ = ["admin_required_lab", "login_required_lab", "owner_or_admin_decorator"]

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


class _Bench:
    """The lab's settings, users and their tokens.

    alice (id 1) is a user; boss (id 2) an admin; ``admin@example.com`` (id 3) is *not* an admin, whatever
    the email says; bob (id 4) was deleted after his token was issued.
    """

    def __init__(self) -> None:
        self.settings = fast_test_settings(
            jwt_secret=secrets.token_urlsafe(32), realm="guard-lab", issuer="guard-lab", audience="guard-lab-api"
        )
        self.users = UserStore.from_settings(self.settings)
        self.alice = self.users.create("alice@example.com", "alice's password")
        self.boss = self.users.create("boss@example.com", "boss's password", is_admin=True)
        self.fake_admin = self.users.create("admin@example.com", "not an admin's password")
        bob = self.users.create("bob@example.com", "bob's password")
        self.tokens = {user.email: create_access_token(user, self.settings) for user in self.users.all()}
        self.users.delete(bob.id)
        hour_ago = datetime.now(timezone.utc) - timedelta(hours=1)
        self.expired = create_access_token(self.boss, self.settings, now=hour_ago)
        other_api = Settings(**{**_fields(self.settings), "audience": "another-api"})
        self.other_audience = create_access_token(self.boss, other_api)
        header, payload, signature = self.tokens[self.alice.email].split(".")
        self.tampered = f"{header}.{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{signature}"

    def bearer(self, who: User | str) -> dict[str, str]:
        token = who if isinstance(who, str) else self.tokens[who.email]
        return {"Authorization": f"Bearer {token}"}


def _fields(settings: Settings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in settings.__dataclass_fields__}


def _is(user: User) -> Callable[[requests.Response, Mapping[str, requests.Response]], str | None]:
    def check(response: requests.Response, earlier: Mapping[str, requests.Response]) -> str | None:
        body = json_body(response)
        email = body.get("email") if isinstance(body, dict) else None
        return None if email == user.email else f"the answer is about {safe_repr(email)}, not {user.email}"

    return check


def _guarded_view(handler_name: str, wrapped: Any) -> type[web.View]:
    return type(handler_name, (web.View,), {"get": wrapped})


async def _whoami(self: web.View) -> web.Response:
    """A guarded view method: who is calling."""
    user = self.request[CURRENT_USER]
    return web.json_response({"email": user.email if user else None})


def _anonymous(bench: _Bench, path: str, hint: str) -> Step:
    return Step(
        "no Authorization header", "GET", path, 401, "authentication_required",
        expect_headers=(bare_challenge(bench.settings.realm),), hint=hint,
    )  # fmt: skip


def _middleware_refusals(bench: _Bench, path: str) -> list[Step]:
    """Requests the auth middleware refuses before any guard runs: the guard must not turn them into 200s."""
    realm = bench.settings.realm
    invalid = (challenge_with_error(realm, "invalid_token"),)
    return [
        Step(
            "another scheme, 'Token …'", "GET", path, 401, "authentication_required",
            headers={"Authorization": "Token abc.def.ghi"}, expect_headers=(bare_challenge(realm),),
        ),
        Step("an expired token", "GET", path, 401, "invalid_token", headers=bench.bearer(bench.expired),
             expect_headers=invalid),
        Step("a tampered token", "GET", path, 401, "invalid_token", headers=bench.bearer(bench.tampered),
             expect_headers=invalid),
        Step("a token for another audience", "GET", path, 401, "invalid_token",
             headers=bench.bearer(bench.other_audience), expect_headers=invalid),
        Step("the token of a deleted user", "GET", path, 401, "invalid_token",
             headers=bench.bearer(bench.tokens["bob@example.com"]), expect_headers=invalid),
    ]  # fmt: skip


LOGIN_HINT = (
    "when request[CURRENT_USER] is None, raise bearer_error(web.HTTPUnauthorized, 'authentication_required', "
    "…, request.app[SETTINGS].realm): no credentials get the bare challenge (RFC 6750 §3.1)"
)
VIEW_HINT = "a web.View method is called with the view, not the request: the request is args[0].request"


def _lab(
    answer: Any,
    name: str,
    build: Callable[[_Bench, Any], web.Application],
    steps: Callable[[_Bench], list[Step]],
    summary: str,
) -> CheckResult:
    view_get, verdict = decorate(answer, _whoami, name)
    if verdict is not None:
        return verdict
    bench = _Bench()
    try:
        app = build(bench, answer)
    except Exception as error:  # decorate() passed; a decorator that fails on another handler is still reported
        return not_yet(f"building the app with {name} raised {describe_exception(error)}")
    app.router.add_view("/view", _guarded_view("WhoAmI", view_get))
    verdict = run_lab(app, steps(bench), summary)
    if not verdict:
        return verdict
    refused = refuses_sync_handlers(answer, name)
    return refused if refused is not None else verdict


def login_required_steps(bench: _Bench) -> list[Step]:
    """The requests of the ``login_required`` lab, on ``/get-user`` (guarded by it) and ``/view``."""
    return [
        _anonymous(bench, "/get-user", LOGIN_HINT),
        Step("alice's token", "GET", "/get-user", 200, headers=bench.bearer(bench.alice), check=_is(bench.alice),
             expect_headers=(header_absent("WWW-Authenticate"),)),
        Step("boss's token", "GET", "/get-user", 200, headers=bench.bearer(bench.boss), check=_is(bench.boss)),
        *_middleware_refusals(bench, "/get-user"),
        _anonymous(bench, "/view", VIEW_HINT),
        Step("alice's token", "GET", "/view", 200, headers=bench.bearer(bench.alice), check=_is(bench.alice),
             hint=VIEW_HINT),
    ]  # fmt: skip


def login_required_lab(answer: Any) -> CheckResult:
    """Check the learner's ``login_required`` on the demo app's ``/get-user`` and on a ``web.View``: anonymous
    callers get 401 ``authentication_required`` with a bare challenge (RFC 6750 §3.1), signed-in users pass, the
    middleware's refusals stay refusals; then ``functools.wraps`` and a ``TypeError`` for a ``def`` handler."""
    return _lab(
        answer,
        "login_required",
        lambda bench, guard: build_app(bench.settings, bench.users, login_required=guard),
        login_required_steps,
        "strangers get 401 with a bare challenge, users pass, on handlers and views",
    )


def admin_required_steps(bench: _Bench) -> list[Step]:
    """The requests of the ``admin_required`` lab, on ``/admin/users`` and ``/view``."""
    realm = bench.settings.realm
    forbidden = (challenge_with_error(realm, "insufficient_scope"),)
    admin_hint = "test user.is_admin, the user's role; not the email or anything else the caller can choose"
    forbid_hint = (
        "a signed-in user who is not an admin gets 403 insufficient_scope: bearer_error(web.HTTPForbidden, "
        "'insufficient_scope', message, realm) names it in WWW-Authenticate (RFC 6750 §3.1)"
    )
    return [
        _anonymous(bench, "/admin/users", "stack the wrapper on login_required: strangers get its 401"),
        Step("alice, not an admin", "GET", "/admin/users", 403, "insufficient_scope",
             headers=bench.bearer(bench.alice), expect_headers=forbidden, hint=forbid_hint),
        Step("admin@example.com, who is not an admin", "GET", "/admin/users", 403, "insufficient_scope",
             headers=bench.bearer(bench.fake_admin), expect_headers=forbidden, hint=admin_hint),
        Step("boss, an admin", "GET", "/admin/users", 200, headers=bench.bearer(bench.boss), hint=admin_hint),
        *_middleware_refusals(bench, "/admin/users"),
        _anonymous(bench, "/view", VIEW_HINT),
        Step("alice, not an admin", "GET", "/view", 403, "insufficient_scope", headers=bench.bearer(bench.alice),
             expect_headers=forbidden, hint=VIEW_HINT),
        Step("boss, an admin", "GET", "/view", 200, headers=bench.bearer(bench.boss), check=_is(bench.boss),
             hint=VIEW_HINT),
    ]  # fmt: skip


def admin_required_lab(answer: Any) -> CheckResult:
    """Check the learner's ``admin_required`` on the demo app's ``/admin/users`` and on a ``web.View``: 401 for
    strangers, 403 ``insufficient_scope`` (with that error in the challenge) for users, 200 for admins; then
    ``functools.wraps`` and a ``TypeError`` for a ``def`` handler."""
    return _lab(
        answer,
        "admin_required",
        lambda bench, guard: build_app(bench.settings, bench.users, admin_required=guard),
        admin_required_steps,
        "401 for strangers, 403 insufficient_scope for users, 200 for admins, on handlers and views",
    )


async def _user_record(self: web.View) -> web.Response:
    """A guarded view method: a user's record."""
    return web.json_response({"user_id": self.request.match_info["user_id"]})


def owner_or_admin_decorator(answer: Decorator) -> CheckResult:
    """Check ``my_owner_or_admin_required`` on ``/users/{user_id}`` (a ``web.View``): anonymous → 401, the user
    whose id is in the path or an admin → 200, anyone else → 403 ``insufficient_scope``.

    Alice has id 1, boss (an admin) id 2.
    """
    view_get, verdict = decorate(answer, _user_record, "my_owner_or_admin_required")
    if verdict is not None:
        return verdict
    bench = _Bench()
    app = build_app(bench.settings, bench.users)
    app.router.add_view("/users/{user_id}", _guarded_view("UserRecord", view_get))
    forbidden = (challenge_with_error(bench.settings.realm, "insufficient_scope"),)
    alice, boss = bench.bearer(bench.alice), bench.bearer(bench.boss)
    compare = "compare strings: str(user.id) == request.match_info['user_id']"
    steps = [
        _anonymous(bench, "/users/1", "stack the wrapper on login_required"),
        Step("alice on her own record", "GET", "/users/1", 200, headers=alice, hint=compare),
        Step("alice on boss's record", "GET", "/users/2", 403, "insufficient_scope", headers=alice,
             expect_headers=forbidden),
        Step("alice on /users/01, not her id as written", "GET", "/users/01", 403, "insufficient_scope",
             headers=alice, expect_headers=forbidden, hint=compare + "; int('01') == 1 lets other spellings in"),
        Step("alice on /users/10, an id that starts with hers", "GET", "/users/10", 403, "insufficient_scope",
             headers=alice, expect_headers=forbidden, hint=compare + ", the whole id"),
        Step("boss, an admin, on alice's record", "GET", "/users/1", 200, headers=boss),
        Step("boss on a record that does not exist", "GET", "/users/999", 200, headers=boss),
    ]  # fmt: skip
    return run_lab(app, steps, "owners and admins pass, others get 403")
