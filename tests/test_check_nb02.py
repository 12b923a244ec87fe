"""The checkers of notebook 02: the reference answers pass; wrong, unfinished and crashing answers are
reported as ``❌ Not yet`` and never raise."""

from __future__ import annotations

import pytest

from tutorial_src import check
from tutorial_src.auth import parse_bearer
from tutorial_src.check import NOT_YET_PREFIX, PASSED_PREFIX
from tutorial_src.errors import InvalidToken


def reference_load_user(claims, users):
    subject = claims["sub"]
    if not subject.isascii() or not subject.isdigit():
        raise InvalidToken("the token's subject is not a user id")
    user = users.get_by_id(int(subject))
    if user is None:
        raise InvalidToken("the token's user no longer exists")
    return user


def unfinished(*args):
    raise NotImplementedError("Hint: ...")


def rfc_exact_parser(header):
    # Written differently from the reference: RFC 6750 §2.1 "Bearer" 1*SP b64token, several spaces allowed.
    scheme, _, rest = header.partition(" ")
    token = rest.lstrip(" ")
    body = token.rstrip("=")
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/")
    if scheme.lower() != "bearer" or not body or not set(body) <= alphabet:
        raise ValueError("not a Bearer credential")
    return token


def one_space_only(header):
    # The old, stricter form: exactly one space. RFC 6750 §2.1 allows more.
    scheme, _, token = header.partition(" ")
    body = token.rstrip("=")
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/")
    if scheme.lower() != "bearer" or not body or not set(body) <= alphabet:
        raise ValueError("not a Bearer credential")
    return token


@pytest.mark.parametrize("answer", [parse_bearer, rfc_exact_parser], ids=["shipped", "rfc-exact-several-spaces"])
def test_parse_bearer_accepts_right_parsers(answer):
    result = check.parse_bearer(answer)
    assert result and repr(result).startswith(PASSED_PREFIX)


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (one_space_only, "two spaces after Bearer"),
        (lambda header: header.split(" ")[1], "two spaces after Bearer"),
        (lambda header: header.split()[1], "another scheme"),
        (lambda header: header[7:], "two spaces after Bearer"),
        (lambda header: header.split()[-1] if header.startswith("Bearer ") else 1 / 0, "lower-case scheme"),
        (unfinished, "not done yet"),
        ("not a function", "expected a function"),
        (lambda: "no arguments", "TypeError"),
    ],
)
def test_parse_bearer_reports_wrong_answers(answer, hint):
    result = check.parse_bearer(answer)
    assert not result
    assert repr(result).startswith(NOT_YET_PREFIX)
    assert hint in repr(result)


def test_load_user_accepts_the_reference():
    assert check.load_user(reference_load_user)


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (lambda claims, users: users.get_by_id(int(claims["sub"])), "deleted"),
        (lambda claims, users: users.get_by_id(1), "admin"),
        (unfinished, "not done yet"),
    ],
)
def test_load_user_reports_wrong_answers(answer, hint):
    result = check.load_user(answer)
    assert not result
    assert hint in repr(result)


def test_load_user_catches_int_pitfalls():
    # isdigit() alone lets the Arabic-Indic digit through; int() accepts '+1', ' 1' and '1_0'.
    def isdigit_only(claims, users):
        if not claims["sub"].isdigit():
            raise InvalidToken("no")
        user = users.get_by_id(int(claims["sub"]))
        if user is None:
            raise InvalidToken("no")
        return user

    def int_only(claims, users):
        try:
            user = users.get_by_id(int(claims["sub"]))
        except ValueError:
            raise InvalidToken("no") from None
        if user is None:
            raise InvalidToken("no")
        return user

    assert "Arabic-Indic" in repr(check.load_user(isdigit_only))
    assert "'+1'" in repr(check.load_user(int_only))
