"""Checkers for the exercises of notebook 06 (what authentication costs).

- ``token_cache_lab(with_token_cache)``: the learner's cache layer in front of the plain auth middleware, served by
  ``build_app`` on a lab server of its own with a ``TokenCache`` on a clock the lab moves (``_lab.run_lab``).
- ``checks_on_hit(my_checks_on_hit)`` and ``bounded_put(my_bounded_put)``: the side exercises.
"""

from __future__ import annotations

import inspect
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import jwt
import requests
from aiohttp import web

from ..app import build_app
from ..auth import auth_middleware, bearer_token
from ..keys import TOKEN_CACHE
from ..models import UserStore
from ..responses import bearer_error
from ..settings import Settings, fast_test_settings
from ..token_cache import TokenCache, VerifiedToken
from ..tokens import create_access_token
from ._core import (
    ASYNC_ANSWER,
    Case,
    CheckResult,
    call_answer,
    closed_coroutine,
    describe_exception,
    not_started,
    not_yet,
    passed,
    returns,
    run_cases,
    safe_repr,
)
from ._lab import Step, bare_challenge, challenge_with_error, json_body, run_lab
from .nb02 import _watched

__all__ = ["HIT_CHECK_MENU", "bounded_put", "checks_on_hit", "token_cache_lab"]

#: The menu of the exercise "which checks must run on a cache hit?".
HIT_CHECK_MENU = frozenset(
    {
        "signature",
        "algorithm",
        "issuer",
        "audience",
        "required claims",
        "expiry",
        "user exists",
    }
)
_ON_HIT = frozenset({"expiry", "user exists"})
_WHY = {
    "signature": "the signature depends only on the token and the secret, and a hit needs both the same",
    "algorithm": "the header's alg is part of the exact token, and a hit needs the same allowed algorithm",
    "issuer": "iss is inside the signed token, and a hit needs the same expected issuer",
    "audience": "aud is inside the signed token, and a hit needs the same expected audience",
    "required claims": "the claims are inside the exact token, which cannot change",
    "expiry": "time passes: a token valid a minute ago may have expired since",
    "user exists": "the user may have been deleted since the token was first checked",
}


def checks_on_hit(answer: Callable[[], Any]) -> CheckResult:
    """Check ``answer()``: the set of names from ``HIT_CHECK_MENU`` that must run again on every cache hit.

    Expected: ``{"expiry", "user exists"}`` - what can change while the token stays the same. The rest
    depends only on the token's bytes and on the settings, which a hit must share.
    """
    if not callable(answer):
        return not_yet(f"expected a function, got {type(answer).__name__}")
    chosen, verdict = call_answer(answer)
    if verdict is not None:
        return verdict
    if not isinstance(chosen, (set, frozenset)) or not all(isinstance(name, str) for name in chosen):
        return not_yet(f"return a set of names such as {{'expiry'}}, not {safe_repr(chosen)}")
    unknown = sorted(chosen - HIT_CHECK_MENU)
    if unknown:
        return not_yet(f"{unknown[0]!r} is not on the menu; pick from {sorted(HIT_CHECK_MENU)}")
    missing, extra = sorted(_ON_HIT - chosen), sorted(chosen - _ON_HIT)
    if missing:
        return not_yet(f"a hit must still check {missing[0]!r}: {_WHY[missing[0]]}")
    if extra:
        return not_yet(f"{extra[0]!r} need not run again: {_WHY[extra[0]]}")
    return passed("only expiry and the user can change while the token stays the same.")


def _play(answer: Callable[..., Any], steps: list[tuple[str, str]], maxsize: int) -> list[str]:
    """Run ``steps`` (``("put", key)`` or ``("use", key)``) on a fresh OrderedDict; the keys left, oldest first.

    A ``use`` is what a cache hit does: ``move_to_end``, so the key counts as recently used.
    """
    entries: OrderedDict[str, str] = OrderedDict()
    for action, key in steps:
        if action == "use":
            entries.move_to_end(key)
        else:
            result = answer(entries, key, f"value of {key}", maxsize)
            if closed_coroutine(result):
                raise TypeError(ASYNC_ANSWER)
            if result is not None:
                raise TypeError(f"the function should change `entries` in place and return None, not {result!r}")
    return list(entries)


def bounded_put(answer: Callable[..., Any]) -> CheckResult:
    """Check ``answer(entries, key, value, maxsize)``: store ``key`` as the most recently used entry of the
    ``OrderedDict`` ``entries``, then drop the least recently used ones until at most ``maxsize`` remain."""
    if not callable(answer):
        return not_yet(f"expected a function, got {type(answer).__name__}")

    def harness(steps: list[tuple[str, str]], maxsize: int) -> list[str]:
        return _play(answer, steps, maxsize)

    put = [("put", "a"), ("put", "b"), ("put", "c")]
    cases = [
        Case("three puts, maxsize 3", (put, 3), returns(["a", "b", "c"])),
        Case("three puts, maxsize 2: the oldest goes", (put, 2), returns(["b", "c"])),
        Case(
            "put a, put b, use a, put c with maxsize 2: b is the least recently used",
            ([("put", "a"), ("put", "b"), ("use", "a"), ("put", "c")], 2),
            returns(["a", "c"]),
        ),
        Case(
            "put a, put b, put a again with maxsize 2: a becomes the most recent",
            ([("put", "a"), ("put", "b"), ("put", "a")], 2),
            returns(["b", "a"]),
        ),
        Case("maxsize 0 keeps nothing (the cache is off)", (put, 0), returns([])),
    ]
    return run_cases(harness, cases, "a bounded cache that forgets the least recently used entry first.")


class _CacheBench:
    """The token-cache lab: its settings, users, tokens, a clock it can move, the app's cache, and the plain
    middleware behind the learner's layer, which counts its calls (a hit never reaches it).

    alice (id 1) and carol (id 2) are users; carol is deleted during the lab, after her token was cached.
    """

    def __init__(self) -> None:
        self.settings = fast_test_settings(
            jwt_secret=secrets.token_urlsafe(32), realm="cache-lab", issuer="cache-lab", audience="cache-lab-api"
        )
        self.users = UserStore.from_settings(self.settings)
        self.alice = self.users.create("alice@example.com", "alice's password")
        self.carol = self.users.create("carol@example.com", "carol's password")
        self.token = create_access_token(self.alice, self.settings)
        self.carols = create_access_token(self.carol, self.settings)
        self.expired = create_access_token(
            self.alice, self.settings, now=datetime.now(timezone.utc) - timedelta(hours=1)
        )
        header, payload, signature = self.token.split(".")
        self.tampered = f"{header}.{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{signature}"
        fields = {name: getattr(self.settings, name) for name in self.settings.__dataclass_fields__}
        self.other_settings = Settings(**{**fields, "jwt_secret": secrets.token_urlsafe(32)})
        self.other = create_access_token(self.alice, self.other_settings)
        self.offset = 0.0
        self.cache = TokenCache(clock=self.clock)
        self.plain_calls = self.mark = 0

    def clock(self) -> float:
        """The lab's clock: the real one, moved ahead by ``offset`` seconds."""
        return time.time() + self.offset

    def plain(self) -> Any:
        """The plain auth middleware, counting its calls, on the lab's clock (once the lab moved it)."""

        @web.middleware
        async def plain_auth_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
            self.plain_calls += 1
            try:
                token = bearer_token(request)
                exp = None if token is None else jwt.decode(token, options={"verify_signature": False})["exp"]
            except (ValueError, KeyError, jwt.InvalidTokenError):
                exp = None  # the plain middleware says what is wrong
            if self.offset and isinstance(exp, int) and exp <= self.clock() - self.settings.leeway:
                message = "the token has expired (on the lab's clock)"
                raise bearer_error(web.HTTPUnauthorized, "invalid_token", message, self.settings.realm)
            return await auth_middleware(request, handler)

        return plain_auth_middleware

    def start_counting(self) -> None:
        self.mark = self.plain_calls

    def went_through(
        self, plain: bool, hint: str
    ) -> Callable[[requests.Response, Mapping[str, requests.Response]], str | None]:
        """The check that the request reached the plain middleware (``plain``), or was a hit that skipped it."""

        def check(response: requests.Response, earlier: Mapping[str, requests.Response]) -> str | None:
            calls = self.plain_calls - self.mark
            if plain and calls == 0:
                return f"the request never reached the plain middleware, expected it to: {hint}"
            if not plain and calls:
                return f"the request went through the plain middleware, expected a cache hit: {hint}"
            return None

        return check

    def never_cached(
        self, token: str
    ) -> Callable[[requests.Response, Mapping[str, requests.Response]], str | None]:
        def check(response: requests.Response, earlier: Mapping[str, requests.Response]) -> str | None:
            if token in self.cache:
                return "the refused token is in the cache: remember only a token the plain middleware accepted"
            return None

        return check

    def put_other_verdict(self) -> None:
        # A verdict reached under other settings (another secret): its token must not be a hit here.
        now = time.time()
        self.cache.put(self.other, VerifiedToken(self.alice.id, self.other_settings, now - 1, now + 600))
        self.start_counting()

    def delete_carol(self) -> None:
        self.users.delete(self.carol.id)
        self.start_counting()

    def two_hours_later(self) -> None:
        self.offset = 2 * 3600.0
        self.start_counting()


def _signed_in_as(email: str) -> Callable[[requests.Response, Mapping[str, requests.Response]], str | None]:
    def check(response: requests.Response, earlier: Mapping[str, requests.Response]) -> str | None:
        body = json_body(response)
        got = body.get("email") if isinstance(body, dict) else None
        return None if got == email else f"the answer is about {safe_repr(got)}, not {email}"

    return check


def _both(*checks: Any) -> Callable[[requests.Response, Mapping[str, requests.Response]], str | None]:
    def check(response: requests.Response, earlier: Mapping[str, requests.Response]) -> str | None:
        return next((problem for c in checks if (problem := c(response, earlier)) is not None), None)

    return check


REMEMBER_HINT = (
    "once the plain middleware has accepted a token (CURRENT_USER is a User when it calls your inner handler), "
    "remember(cache, token, settings)"
)
GET_HINT = "look the token up with cache.get(token, settings): it re-checks the times and the settings"
USER_HINT = (
    "a hit must find the user again (users.get_by_id(verified.user_id)); when it is gone, let the plain "
    "middleware refuse the token (401 invalid_token)"
)
TOKEN_HINT = "read the token with cached_token(request, cache): 'Bearer' then one or more spaces (RFC 6750 §2.1)"


def token_cache_steps(bench: _CacheBench) -> list[Step]:
    """The requests of the token-cache lab, in order: the bench changes between some of them (``before``)."""
    realm = bench.settings.realm
    invalid = (challenge_with_error(realm, "invalid_token"),)
    alice = {"Authorization": f"Bearer {bench.token}"}
    carol = {"Authorization": f"Bearer {bench.carols}"}
    is_alice, is_carol = _signed_in_as(bench.alice.email), _signed_in_as(bench.carol.email)
    count = bench.start_counting
    return [
        Step("alice's token, the first time", "GET", "/get-user", 200, headers=alice, before=count,
             check=_both(is_alice, bench.went_through(True, "a token never seen goes through it"))),
        Step("alice's token again", "GET", "/get-user", 200, headers=alice, before=count,
             check=_both(is_alice, bench.went_through(False, REMEMBER_HINT))),
        Step("alice's token after two spaces, 'Bearer  <token>'", "GET", "/get-user", 200, before=count,
             headers={"Authorization": f"Bearer  {bench.token}"},
             check=_both(is_alice, bench.went_through(False, TOKEN_HINT))),
        Step("no Authorization header", "GET", "/get-user", 401, "authentication_required",
             expect_headers=(bare_challenge(realm),),
             hint="a request without a token is the plain middleware's to judge"),
        Step("another scheme, 'Token x'", "GET", "/get-user", 401, "authentication_required",
             headers={"Authorization": "Token x"}, expect_headers=(bare_challenge(realm),)),
        Step("an expired token", "GET", "/get-user", 401, "invalid_token", expect_headers=invalid,
             headers={"Authorization": f"Bearer {bench.expired}"}, check=bench.never_cached(bench.expired)),
        Step("a tampered token", "GET", "/get-user", 401, "invalid_token", expect_headers=invalid,
             headers={"Authorization": f"Bearer {bench.tampered}"}, check=bench.never_cached(bench.tampered)),
        Step("a token the cache holds as verified under other settings", "GET", "/get-user", 401, "invalid_token",
             headers={"Authorization": f"Bearer {bench.other}"}, expect_headers=invalid,
             before=bench.put_other_verdict, hint=GET_HINT),
        Step("carol's token, the first time", "GET", "/get-user", 200, headers=carol, check=is_carol),
        Step("carol's token again", "GET", "/get-user", 200, headers=carol, before=count,
             check=_both(is_carol, bench.went_through(False, REMEMBER_HINT))),
        Step("carol's token after carol was deleted", "GET", "/get-user", 401, "invalid_token", headers=carol,
             expect_headers=invalid, before=bench.delete_carol, hint=USER_HINT),
        Step("alice's token two hours later, expired since", "GET", "/get-user", 401, "invalid_token",
             headers=alice, expect_headers=invalid, before=bench.two_hours_later, hint=GET_HINT),
    ]  # fmt: skip


def token_cache_lab(answer: Any) -> CheckResult:
    """Check the learner's ``with_token_cache(auth_middleware)`` over HTTP.

    The app is ``build_app(settings, users, auth_middleware=with_token_cache(plain))`` with a ``TokenCache`` of
    its own on a clock the lab moves; ``plain`` is the package's auth middleware, counting its calls. A second
    request with the same token must be a hit (it skips the plain middleware); a refused token is never cached;
    a verdict reached under other settings is no hit; a deleted user's and an expired token are refused after
    a hit.
    """
    if not callable(answer):
        return not_yet(f"expected the function with_token_cache, got {type(answer).__name__}")
    bench = _CacheBench()
    try:
        layer = answer(bench.plain())
    except NotImplementedError as stub:
        return not_started(stub)
    except KeyboardInterrupt:
        raise
    except BaseException as error:
        return not_yet(f"with_token_cache(auth_middleware) raised {describe_exception(error)}")
    if inspect.iscoroutine(layer):
        layer.close()
        return not_yet("with_token_cache itself is a plain `def` that returns the middleware; only that is async")
    if not inspect.iscoroutinefunction(layer):
        return not_yet(f"with_token_cache must return an `async def` middleware, got {safe_repr(layer, 60)}")
    if getattr(layer, "__middleware_version__", None) != 1:
        return not_yet(
            "put @web.middleware on the line above the `async def` middleware that with_token_cache returns"
        )
    app = build_app(bench.settings, bench.users, auth_middleware=_watched(layer))
    app[TOKEN_CACHE] = bench.cache
    summary = "hits skip the plain middleware; refused tokens, other settings, deleted users and expiry never hit"
    return run_lab(app, token_cache_steps(bench), summary)
