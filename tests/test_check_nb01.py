"""The checkers of notebook 01 pass the reference answers and report, never raise, every kind of wrong one."""

from __future__ import annotations

import base64
import json

import pytest

from tutorial_src import check
from tutorial_src.check import nb01
from tutorial_src.check._core import NOT_YET_PREFIX, PASSED_PREFIX
from tutorial_src.tokens import create_access_token


def reference_decode_payload(token):
    payload = token.split(".")[1]
    padded = payload + "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(padded))


def reference_login_answer(user, settings):
    return {
        "access_token": create_access_token(user, settings),
        "token_type": "Bearer",
        "expires_in": settings.access_token_ttl,
        "user": {"id": user.id, "email": user.email},
    }


def not_implemented(*args):
    raise NotImplementedError("Hint: …")


def assert_not_yet(result, *fragments):
    assert not result
    assert repr(result).startswith(NOT_YET_PREFIX)
    for fragment in fragments:
        assert fragment in repr(result), repr(result)


def test_checkers_are_exported():
    assert set(nb01.__all__) == {"decode_payload", "login_answer"}
    assert check.decode_payload is nb01.decode_payload
    assert check.login_answer is nb01.login_answer


# decode_payload ------------------------------------------------------------------------------------------------


def test_decode_payload_passes_the_reference():
    result = check.decode_payload(reference_decode_payload)
    assert result
    assert repr(result).startswith(PASSED_PREFIX)


def test_decode_payload_cases_cover_every_padding_and_utf8():
    cases = nb01._decode_cases()
    paddings = {nb01._padding(case.args[0]) for case in cases}
    assert paddings == {0, 1, 2}
    segments = [nb01._payload_segment(case.args[0]) for case in cases]
    assert any("-" in s and "_" in s for s in segments)
    raw = [base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)) for s in segments]
    assert any("zoë".encode() in payload for payload in raw), "one payload must carry raw UTF-8"


def test_decode_payload_cases_are_the_same_every_time():
    # The padding of each case must not depend on the clock or on jti, or a case could silently vanish.
    first = [case.args for case in nb01._decode_cases()[:-1]]
    assert first == [case.args for case in nb01._decode_cases()[:-1]]


def test_decode_payload_reports_a_stub():
    assert_not_yet(check.decode_payload(not_implemented), "not done yet")


def test_decode_payload_reports_missing_padding():
    def no_padding(token):
        return json.loads(base64.urlsafe_b64decode(token.split(".")[1]))

    assert_not_yet(check.decode_payload(no_padding), "padding", "Error")


def test_decode_payload_reports_plain_base64():
    def plain_base64(token):
        payload = token.split(".")[1]
        return json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))

    assert_not_yet(check.decode_payload(plain_base64), "'-' and '_'")


def test_decode_payload_reports_an_ascii_only_decoder():
    def ascii_only(token):
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "==").decode("ascii"))

    assert_not_yet(check.decode_payload(ascii_only), "non-ASCII", "UnicodeDecodeError")


def test_decode_payload_reports_the_wrong_part():
    def header_instead(token):
        header = token.split(".")[0]
        return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))

    assert_not_yet(check.decode_payload(header_instead), "expected {", "got {'alg': 'HS256'")


def test_decode_payload_reports_the_wrong_type():
    def json_text(token):
        payload = token.split(".")[1]
        return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()

    assert_not_yet(check.decode_payload(json_text), "got '{")


def test_decode_payload_reports_a_non_function():
    assert_not_yet(check.decode_payload({"sub": "1"}), "expected a function, got dict")


# login_answer --------------------------------------------------------------------------------------------------


def test_login_answer_passes_the_reference():
    result = check.login_answer(reference_login_answer)
    assert result
    assert repr(result).startswith(PASSED_PREFIX)


def test_login_answer_reports_a_stub():
    assert_not_yet(check.login_answer(not_implemented), "not done yet")


def test_login_answer_reports_an_exception():
    def crashes(user, settings):
        return {**reference_login_answer(user, settings), "user": user["id"]}

    assert_not_yet(check.login_answer(crashes), "it raised TypeError")


def test_login_answer_reports_the_wrong_type():
    def json_text(user, settings):
        return json.dumps(reference_login_answer(user, settings))

    assert_not_yet(check.login_answer(json_text), "return the JSON body as a dict, got str")


def test_login_answer_reports_a_non_function():
    assert_not_yet(check.login_answer(None), "expected a function")


def changed(**fields):
    """A wrong answer: the reference with some fields replaced (a value of ``...`` removes the field)."""

    def answer(user, settings):
        body = reference_login_answer(user, settings)
        for name, value in fields.items():
            if value is ...:
                del body[name]
            else:
                body[name] = value(user, settings) if callable(value) else value
        return body

    return answer


@pytest.mark.parametrize("token_type", ["bearer", "BEARER", "bEaReR"])
def test_login_answer_accepts_token_type_in_any_case(token_type):
    # RFC 6749 §5.1: "The value is case insensitive"; §7.1 defines the type, RFC 6750 §4 names it "Bearer".
    result = check.login_answer(changed(token_type=token_type))
    assert result and repr(result).startswith(PASSED_PREFIX)


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (changed(user=...), "lacks 'user'"),
        (changed(access_token=..., expires_in=...), "lacks 'access_token', 'expires_in'"),
        (changed(user=lambda u, s: {"id": u.id, "email": u.email, "since": object()}), "could not send it"),
        (changed(user=lambda u, s: {"id": u.id, "email": u.email, "password_hash": u.password_hash}), "hash"),
        (changed(access_token=lambda u, s: create_access_token(u, s).encode()), "'access_token' must be the str"),
        (
            changed(
                access_token=lambda u, s: create_access_token(u, nb01.fast_test_settings(jwt_secret="s" * 32))
            ),
            "verify",
        ),
        (changed(access_token=lambda u, s: create_access_token(type(u)(1, "x@example.com", ""), s)), "sub is '1'"),
        (changed(token_type="Bearer!"), "'token_type' must be 'Bearer'"),
        (changed(token_type=None), "'token_type' must be 'Bearer'"),
        (changed(token="x"), "fields the client did not ask for: ['token']"),
        (changed(expires_in=900), "access_token_ttl (60 seconds here)"),
        (changed(expires_in=lambda u, s: str(s.access_token_ttl)), "got '900'"),
        (changed(user=lambda u, s: u.to_public_dict()), "'user' must be"),
        (changed(user=lambda u, s: {"id": str(u.id), "email": u.email}), "'user' must be"),
        (changed(user=lambda u, s: {"id": True, "email": u.email}), "'user' must be"),
        (changed(user=lambda u, s: str(u)), "'user' must be"),
        (changed(refresh_token="x"), "fields the client did not ask for: ['refresh_token']"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_login_answer_reports_each_wrong_answer(answer, hint):
    assert_not_yet(check.login_answer(answer), hint)
