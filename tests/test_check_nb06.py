"""The checkers of notebook 06 accept the reference answers and report - never raise on - wrong ones."""

from __future__ import annotations

from collections import OrderedDict

import jwt
import pytest
from aiohttp import web

from tutorial_src import check
from tutorial_src.check import NOT_YET_PREFIX, PASSED_PREFIX
from tutorial_src.keys import CURRENT_USER, SETTINGS, TOKEN_CACHE, USERS
from tutorial_src.settings import fast_test_settings
from tutorial_src.token_cache import TokenCache, VerifiedToken, cached_token, remember, with_token_cache


def reference_put(entries: OrderedDict, key, value, maxsize: int) -> None:
    entries[key] = value
    entries.move_to_end(key)
    while len(entries) > maxsize:
        entries.popitem(last=False)


def passes(result) -> bool:
    assert repr(result).startswith(PASSED_PREFIX if result else NOT_YET_PREFIX)
    return bool(result)


# --- checks_on_hit --------------------------------------------------------------------------------------------


def test_checks_on_hit_accepts_expiry_and_user():
    assert passes(check.checks_on_hit(lambda: {"expiry", "user exists"}))
    assert passes(check.checks_on_hit(lambda: frozenset({"expiry", "user exists"})))


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (lambda: {"expiry"}, "must still check 'user exists'"),
        (lambda: {"user exists"}, "must still check 'expiry'"),
        (lambda: {"expiry", "user exists", "signature"}, "'signature' need not run again"),
        (lambda: {"expiry", "colour"}, "'colour' is not on the menu"),
        (lambda: ["expiry", "user exists"], "return a set"),
        (lambda: {1, 2}, "return a set"),
        (lambda: 1 / 0, "ZeroDivisionError"),
        ("expiry", "expected a function"),
    ],
)
def test_checks_on_hit_reports_wrong_answers(answer, says):
    result = check.checks_on_hit(answer)
    assert not passes(result) and says in repr(result)


def test_checks_on_hit_reports_a_stub():
    def stub():
        raise NotImplementedError("Hint")

    assert "not done yet" in repr(check.checks_on_hit(stub))


def test_the_menu_names_every_check_of_authentication():
    assert {
        "signature",
        "algorithm",
        "issuer",
        "audience",
        "required claims",
        "expiry",
        "user exists",
    } == check.HIT_CHECK_MENU


# --- bounded_put ----------------------------------------------------------------------------------------------


def test_bounded_put_accepts_the_reference_answer():
    assert passes(check.bounded_put(reference_put))


def test_bounded_put_accepts_what_the_token_cache_does():
    # The notebook's answer and TokenCache.put behave alike: same keys kept, in the same order.
    def via_token_cache(entries, key, value, maxsize):
        cache = TokenCache(maxsize=maxsize)
        cache._entries = entries
        cache.put(key, value)

    assert passes(check.bounded_put(via_token_cache))


def _no_eviction(entries, key, value, maxsize):
    entries[key] = value


def _fifo(entries, key, value, maxsize):
    if key not in entries:
        entries[key] = value
    while len(entries) > maxsize:
        entries.popitem(last=False)


def _evicts_newest(entries, key, value, maxsize):
    entries[key] = value
    while len(entries) > maxsize:
        entries.popitem()


def _returns_dict(entries, key, value, maxsize):
    reference_put(entries, key, value, maxsize)
    return entries


def _stub(entries, key, value, maxsize):
    raise NotImplementedError("Hint")


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (_no_eviction, "maxsize 2: the oldest goes"),
        (_fifo, "put a again"),
        (_evicts_newest, "maxsize 2"),
        (_returns_dict, "return None"),
        (_stub, "not done yet"),
        (None, "expected a function"),
        (lambda: None, "TypeError"),
    ],
)
def test_bounded_put_reports_wrong_answers(answer, says):
    result = check.bounded_put(answer)
    assert not passes(result) and says in repr(result)


def test_entries_are_verified_tokens_in_the_real_cache():
    settings = fast_test_settings(leeway=0)
    entry = VerifiedToken(1, settings, 0.0, 10.0)
    cache = TokenCache(maxsize=1, clock=lambda: 5)
    cache.put("a", entry)
    assert cache.get("a", settings) is entry


# --- the central exercise: with_token_cache, checked as a lab ----------------------------------------------------


def layer(
    *, lookup="get", user_check=True, remember_when="accepted", token_of=cached_token, wrap=True, sync=False,
    awaits=True,
):  # fmt: skip
    """A cache layer of the reference's shape; each option is a mistake of the corpus (or a variation)."""

    def with_cache(plain):
        seen = {}  # user_check=False: the User objects of earlier hits, kept (a deleted user stays signed in)

        async def cached(request, handler):
            cache, settings = request.app[TOKEN_CACHE], request.app[SETTINGS]
            token = token_of(request, cache)
            if lookup == "get":
                verified = None if token is None else cache.get(token, settings)
            else:  # "contains": the entry as stored, its times and settings never re-checked
                verified = cache._entries.get(token) if token is not None else None
            if verified is not None:
                if user_check:
                    user = request.app[USERS].get_by_id(verified.user_id)
                else:
                    user = seen.setdefault(verified.user_id, request.app[USERS].get_by_id(verified.user_id))
                if user is not None:
                    request[CURRENT_USER] = user
                    return await handler(request) if awaits else handler(request)
            if remember_when == "always" and token is not None:
                try:
                    claims = jwt.decode(token, options={"verify_signature": False})
                    cache.put(token, VerifiedToken.from_claims(int(claims["sub"]), claims, settings))
                except (jwt.InvalidTokenError, ValueError, KeyError):
                    pass

            async def remember_then_handle(request):
                if remember_when == "accepted" and token is not None and request.get(CURRENT_USER) is not None:
                    remember(cache, token, settings)
                return await handler(request)

            return await plain(request, remember_then_handle)

        if sync:

            def cached_sync(request, handler):
                return plain(request, handler)

            return web.middleware(cached_sync)
        return web.middleware(cached) if wrap else cached

    return with_cache


def naive_token(request, cache):
    # Exactly one space after Bearer: 'Bearer  <token>' (RFC 6750 §2.1 allows 1*SP) gives the token ' <token>'.
    header = request.headers.get("Authorization", "")
    return header[7:] if header.startswith("Bearer ") else None


def test_token_cache_lab_passes_the_reference(capfd):
    result = check.token_cache_lab(with_token_cache)
    assert result and "(12 requests)" in repr(result), repr(result)
    assert capfd.readouterr().err == ""


def remember_after_the_handler(plain):
    # Written differently: the plain middleware runs the handler itself; the verdict is remembered afterwards.
    @web.middleware
    async def cached(request, handler):
        cache, settings, users = request.app[TOKEN_CACHE], request.app[SETTINGS], request.app[USERS]
        token = cached_token(request, cache)
        if token is not None and (verified := cache.get(token, settings)) is not None:
            if (user := users.get_by_id(verified.user_id)) is not None:
                request[CURRENT_USER] = user
                return await handler(request)
            cache.discard(token)
        response = await plain(request, handler)
        if token is not None and request.get(CURRENT_USER) is not None:
            remember(cache, token, settings)
        return response

    return cached


@pytest.mark.parametrize(
    "answer", [layer(), remember_after_the_handler], ids=["reference-shape", "remember-after-the-handler"]
)
def test_token_cache_lab_accepts_right_answers_written_differently(answer, capfd):
    result = check.token_cache_lab(answer)
    assert result, repr(result)
    assert capfd.readouterr().err == ""


def unfinished_layer(plain):
    raise NotImplementedError("the table says what a hit skips")


async def async_with_cache(plain):
    return plain


def no_cache(plain):
    return plain


TOKEN_CACHE_WRONG = {
    "stub": (unfinished_layer, ["not done yet", "the table says what a hit skips"]),
    "not a function": ("with_token_cache", ["expected the function with_token_cache, got str"]),
    "async def with_token_cache": (async_with_cache, ["itself is a plain `def`"]),
    "def middleware": (layer(sync=True), ["must return an `async def` middleware"]),
    "no @web.middleware": (layer(wrap=False), ["put @web.middleware"]),
    "no cache at all": (no_cache, ["request 2 of 12 (alice's token again", "expected a cache hit", "remember("]),
    "never remembers": (layer(remember_when="never"), ["request 2 of 12", "expected a cache hit"]),
    "handler not awaited on a hit": (layer(awaits=False), ["request 2 of 12", "return await handler(request)"]),
    "one space only": (
        layer(token_of=naive_token),
        ["request 3 of 12 (alice's token after two spaces", "one or more spaces"],
    ),
    "remembers refused tokens": (
        layer(remember_when="always"),
        ["request 6 of 12 (an expired token", "the refused token is in the cache"],
    ),
    "times and settings not re-checked": (
        layer(lookup="contains"),
        ["request 8 of 12 (a token the cache holds as verified under other settings", "got 200", "cache.get("],
    ),
    "user not looked up again": (
        layer(user_check=False),
        ["request 11 of 12 (carol's token after carol was deleted", "got 200", "users.get_by_id"],
    ),
}


@pytest.mark.parametrize(("answer", "fragments"), TOKEN_CACHE_WRONG.values(), ids=TOKEN_CACHE_WRONG.keys())
def test_token_cache_lab_refuses_each_wrong_answer(answer, fragments, capfd):
    result = check.token_cache_lab(answer)
    assert not result and repr(result).startswith(NOT_YET_PREFIX), repr(result)
    for fragment in fragments:
        assert fragment in repr(result), repr(result)
    assert capfd.readouterr().err == ""
