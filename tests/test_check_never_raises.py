"""Every checker of ``tutorial_src.check`` survives the answers learners really write - ``async def`` instead
of ``def``, ``exit()``, values too big or too broken to print - without raising and without a warning."""

from __future__ import annotations

import functools
import gc
import sys
import warnings

import pytest

from tutorial_src import check
from tutorial_src.check import NOT_YET_PREFIX

# The checkers that call the learner's function directly (the nb03 ones take a decorator, tested below).
FUNCTION_CHECKERS = [
    "decode_payload",
    "parse_bearer",
    "load_user",
    "hs256_signature",
    "hs256_verification",
    "missing_claims",
    "name_the_defence",
    "unverified_lab",
    "alg_none_lab",
    "weak_secret_lab",
    "alg_confusion_lab",
    "jwk_header_lab",
    "kid_path_lab",
    "claim_tampering_lab",
    "checks_on_hit",
    "bounded_put",
    "csrf_check_lab",
]


class Unprintable:
    def __repr__(self):
        raise RuntimeError("no repr")

    def __eq__(self, other):
        raise RuntimeError("no ==")

    __hash__ = object.__hash__


def assert_reported(result, *fragments: str) -> None:
    assert not result
    assert repr(result).startswith(NOT_YET_PREFIX), repr(result)
    for fragment in fragments:
        assert fragment in repr(result), repr(result)


def assert_async_reported_quietly(checker, answer):
    # An `async def` answer is reported, and its coroutine closed: no "never awaited" warning on stderr.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = checker(answer)
        gc.collect()
    assert_reported(result, "async def")
    assert not [w for w in caught if "never awaited" in str(w.message)]


@pytest.mark.parametrize("name", FUNCTION_CHECKERS)
def test_async_def_answer_is_reported_without_a_never_awaited_warning(name):
    async def answer(*args):
        return None

    assert_async_reported_quietly(getattr(check, name), answer)


@pytest.mark.parametrize("name", FUNCTION_CHECKERS)
def test_exit_in_the_answer_is_reported_not_raised(name):
    assert_reported(getattr(check, name)(lambda *args: sys.exit(1)), "SystemExit")


@pytest.mark.parametrize("value", [Unprintable(), 10**5000], ids=["unprintable", "int-too-long-to-print"])
def test_checks_on_hit_reports_values_it_cannot_print(value):
    assert_reported(check.checks_on_hit(lambda: value))
    assert_reported(check.checks_on_hit(lambda: {value}))


@pytest.mark.parametrize("value", [Unprintable(), 10**5000], ids=["unprintable", "int-too-long-to-print"])
def test_name_the_defence_reports_values_it_cannot_print(value):
    assert_reported(check.name_the_defence({"unverified_signature": value}), "unverified_signature")


@pytest.mark.parametrize("name", ["login_required_lab", "admin_required_lab", "owner_or_admin_decorator"])
def test_async_def_decorator_is_reported_without_a_never_awaited_warning(name):
    async def decorator(handler):
        return handler

    assert_async_reported_quietly(getattr(check, name), decorator)


@pytest.mark.parametrize("name", ["login_required_lab", "admin_required_lab", "owner_or_admin_decorator"])
def test_decorator_returning_a_partial_is_reported_not_raised(name):
    # inspect.iscoroutinefunction sees through functools.partial, which has no __name__.
    assert_reported(getattr(check, name)(lambda handler: functools.partial(handler)), "functools.wraps")


# login_required_lab: this wrapper lets strangers in, which the lab reports first (tests/test_check_nb03.py).
@pytest.mark.parametrize("name", ["admin_required_lab", "owner_or_admin_decorator"])
def test_wrapper_without_return_is_named_and_nothing_reaches_stderr(name, capfd):
    def decorator(handler):
        @functools.wraps(handler)
        async def wrapper(*args):
            await handler(*args)  # the usual slip: no `return`

        return wrapper

    result = getattr(check, name)(decorator)
    assert_reported(result, "a `return` is missing")
    assert capfd.readouterr().err == ""
