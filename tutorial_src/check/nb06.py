"""Checkers for the exercises of notebook 06 (what authentication costs)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from ._core import (
    ASYNC_ANSWER,
    Case,
    CheckResult,
    call_answer,
    closed_coroutine,
    not_yet,
    passed,
    returns,
    run_cases,
    safe_repr,
)

__all__ = ["HIT_CHECK_MENU", "bounded_put", "checks_on_hit"]

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
