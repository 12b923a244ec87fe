"""The checkers of notebook 06 accept the reference answers and report - never raise on - wrong ones."""

from __future__ import annotations

from collections import OrderedDict

import pytest

from tutorial_src import check
from tutorial_src.check import NOT_YET_PREFIX, PASSED_PREFIX
from tutorial_src.settings import fast_test_settings
from tutorial_src.token_cache import TokenCache, VerifiedToken


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
