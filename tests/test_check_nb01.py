"""The checkers of notebook 01 pass the reference answers and right ones written differently, and report, never
raise, every kind of wrong one with feedback that names the mistake (the wrong-answer corpus of each exercise)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import sys

import jwt
import pytest
from aiohttp import hdrs, web

from tutorial_src import check
from tutorial_src.check import nb01
from tutorial_src.check._core import NOT_YET_PREFIX, PASSED_PREFIX
from tutorial_src.errors import InvalidCredentials
from tutorial_src.keys import SETTINGS, USERS
from tutorial_src.login import login as reference_login
from tutorial_src.login import read_credentials
from tutorial_src.responses import bearer_challenge, json_error
from tutorial_src.tokens import create_access_token


def reference_decode_payload(token):
    payload = token.split(".")[1]
    padded = payload + "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(padded))


def not_implemented(*args):
    raise NotImplementedError("Hint: …")


def assert_not_yet(result, *fragments):
    assert not result
    assert repr(result).startswith(NOT_YET_PREFIX)
    for fragment in fragments:
        assert fragment in repr(result), repr(result)


def test_checkers_are_exported():
    assert set(nb01.__all__) == {"decode_payload", "login_lab"}
    assert check.decode_payload is nb01.decode_payload
    assert check.login_lab is nb01.login_lab


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


@pytest.mark.parametrize(
    "answer",
    [
        # The classic: pad with "==" always; urlsafe_b64decode ignores surplus padding.
        lambda token: json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "==")),
        # Translate the alphabet by hand, pad in a loop, decode the text first.
        lambda token: json.loads(_padded_by_hand(token.split(".")[1]).decode("utf-8")),
    ],
    ids=["always-two-equals", "alphabet-by-hand"],
)
def test_decode_payload_accepts_right_answers_written_differently(answer):
    assert check.decode_payload(answer)


def _padded_by_hand(segment):
    while len(segment) % 4:
        segment += "="
    return base64.b64decode(segment.translate(str.maketrans("-_", "+/")))


def test_decode_payload_reports_an_off_by_one_padding():
    def four_minus(token):
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (4 - len(payload) % 4 - 1)))

    assert_not_yet(check.decode_payload(four_minus), "padding", "Error")


def test_decode_payload_reports_strict_validation_of_the_alphabet():
    def validating(token):
        payload = token.split(".")[1]
        return json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4), validate=True))

    assert_not_yet(check.decode_payload(validating), "'-' and '_'", binascii.Error.__name__)


def test_decode_payload_reports_the_signature_part():
    assert_not_yet(
        check.decode_payload(lambda token: reference_decode_payload(token.replace(".", ".x.", 0)[::-1]))
    )


def test_decode_payload_reports_a_verifying_decoder_with_the_wrong_key():
    def verifying(token):
        return jwt.decode(token, "a guess of the secret, 32 bytes long", algorithms=["HS256"])

    assert_not_yet(check.decode_payload(verifying), "InvalidSignatureError")


# login_lab: the central exercise -----------------------------------------------------------------------------


def test_login_lab_passes_the_reference():
    result = check.login_lab(reference_login)
    assert result, repr(result)
    assert repr(result).startswith(PASSED_PREFIX)
    assert "11 requests" in repr(result)


async def login_lowercase_bearer_executor(request):
    # Written differently: run_in_executor, the exception built by hand, "bearer" (RFC 6749 §5.1).
    email, password = await read_credentials(request)
    app = request.app
    loop = asyncio.get_running_loop()
    try:
        user = await loop.run_in_executor(None, app[USERS].authenticate, email, password)
    except InvalidCredentials:
        raise web.HTTPUnauthorized(
            text=json.dumps({"error": "invalid_credentials", "message": "no"}),
            content_type="application/json",
            headers={"WWW-Authenticate": f'Bearer realm="{app[SETTINGS].realm}"'},
        ) from None
    settings = app[SETTINGS]
    response = web.json_response(
        {
            "token_type": "bearer",
            "expires_in": settings.access_token_ttl,
            "access_token": create_access_token(user, settings),
        }
    )
    response.headers["Cache-Control"] = "no-store, private"
    return response


async def login_with_else_branch(request):
    email, password = await read_credentials(request)
    settings = request.app[SETTINGS]
    try:
        user = await asyncio.to_thread(lambda: request.app[USERS].authenticate(email, password))
    except InvalidCredentials as error:
        challenge = {hdrs.WWW_AUTHENTICATE: bearer_challenge(settings.realm)}
        raise json_error(web.HTTPUnauthorized, "invalid_credentials", str(error), headers=challenge) from error
    else:
        body = {"access_token": create_access_token(user, settings), "token_type": "Bearer"}
        body["expires_in"] = settings.access_token_ttl
        return web.json_response(body, headers={"Cache-Control": "no-store"})


@pytest.mark.parametrize("answer", [login_lowercase_bearer_executor, login_with_else_branch])
def test_login_lab_accepts_right_answers_written_differently(answer):
    result = check.login_lab(answer)
    assert result, repr(result)


def variant(*, fields=None, headers=None, refuse=None, authenticate=None):
    """A wrong login: the reference with the 200 body's ``fields`` changed (``...`` removes one), the 200's
    ``headers`` replaced, the refusal built by ``refuse(settings)`` (an exception to raise, or a response to
    return), or the user found by ``authenticate(users, email, password)``."""

    async def login(request):
        email, password = await read_credentials(request)
        settings, users = request.app[SETTINGS], request.app[USERS]
        try:
            user = await asyncio.to_thread((authenticate or type(users).authenticate), users, email, password)
        except InvalidCredentials:
            if refuse is None:
                raise json_error(
                    web.HTTPUnauthorized,
                    "invalid_credentials",
                    "invalid email or password",
                    headers={hdrs.WWW_AUTHENTICATE: bearer_challenge(settings.realm)},
                ) from None
            raise refuse(settings, email) from None
        body = {
            "access_token": create_access_token(user, settings),
            "token_type": "Bearer",
            "expires_in": settings.access_token_ttl,
        }
        for name, value in (fields or {}).items():
            if value is ...:
                del body[name]
            else:
                body[name] = value(user, settings) if callable(value) else value
        return web.json_response(body, headers={hdrs.CACHE_CONTROL: "no-store"} if headers is None else headers)

    return login


def error(status_class, code, *, challenge=True, realm=None):
    def refuse(settings, email):
        headers = {hdrs.WWW_AUTHENTICATE: bearer_challenge(realm or settings.realm)} if challenge else None
        return json_error(status_class, code, "invalid email or password", headers=headers)

    return refuse


async def login_reading_json_only(request):
    body = await request.json()
    settings = request.app[SETTINGS]
    user = await asyncio.to_thread(request.app[USERS].authenticate, body["email"], body["password"])
    return web.json_response(
        {"access_token": create_access_token(user, settings), "token_type": "Bearer", "expires_in": 120},
        headers={"Cache-Control": "no-store"},
    )


async def login_returning_the_error(request):
    email, password = await read_credentials(request)
    settings = request.app[SETTINGS]
    try:
        user = await asyncio.to_thread(request.app[USERS].authenticate, email, password)
    except InvalidCredentials:
        return json_error(
            web.HTTPUnauthorized,
            "invalid_credentials",
            "invalid email or password",
            headers={hdrs.WWW_AUTHENTICATE: bearer_challenge(settings.realm)},
        )
    return (
        await reference_login(request)
        if user is None
        else web.json_response(
            {
                "access_token": create_access_token(user, settings),
                "token_type": "Bearer",
                "expires_in": settings.access_token_ttl,
            },
            headers={"Cache-Control": "no-store"},
        )
    )


async def login_catching_the_wrong_exception(request):
    email, password = await read_credentials(request)
    settings = request.app[SETTINGS]
    try:
        user = await asyncio.to_thread(request.app[USERS].authenticate, email, password)
    except ValueError:
        raise json_error(web.HTTPUnauthorized, "invalid_credentials", "no") from None
    return web.json_response(
        {
            "access_token": create_access_token(user, settings),
            "token_type": "Bearer",
            "expires_in": settings.access_token_ttl,
        },
        headers={"Cache-Control": "no-store"},
    )


def sync_login(request):
    return web.json_response({})


async def unfinished_login(request):
    raise NotImplementedError("follow the table")


async def exits(request):
    sys.exit(1)


async def no_return(request):
    await read_credentials(request)


def _unknown_email_404(settings, email):
    if email == "nobody@example.com":
        return json_error(web.HTTPNotFound, "user_not_found", "no such user")
    return error(web.HTTPUnauthorized, "invalid_credentials")(settings, email)


def _unknown_email_says_so(settings, email):
    message = "no such user" if email == "nobody@example.com" else "wrong password"
    challenge = {hdrs.WWW_AUTHENTICATE: bearer_challenge(settings.realm)}
    return json_error(web.HTTPUnauthorized, "invalid_credentials", message, headers=challenge)


def _case_insensitive_password(users, email, password):
    # Lower-cases the attempt "to be nice": the stored password is lower case, so its upper-case twin gets in.
    return users.authenticate(email, password.lower())


def _first_user(users, email, password):
    users.authenticate(email, password)
    return users.get_by_id(1)


LOGIN_WRONG_ANSWERS = {
    "stub": (unfinished_login, ["not done yet", "follow the table"]),
    "sync def": (sync_login, ["write `async def login(request)`"]),
    "not a function": (None, ["expected the function login, got NoneType"]),
    "exit()": (exits, ["request 1 of 11", "SystemExit"]),
    "no return": (no_return, ["returned None instead of a response"]),
    "JSON only, no read_credentials": (
        login_reading_json_only,
        ["request 2 of 11 (the admin's right password as a form", "read_credentials"],
    ),
    "field named token": (variant(fields={"access_token": ..., "token": create_access_token}), ["'access_token'"]),
    "no token_type": (variant(fields={"token_type": ...}), ["'token_type' must be 'Bearer'", "got None"]),
    "token_type JWT": (variant(fields={"token_type": "JWT"}), ["'token_type' must be 'Bearer'", "'JWT'"]),
    "expires_in 900": (variant(fields={"expires_in": 900}), ["access_token_ttl (120 in this lab)", "got 900"]),
    "expires_in a string": (variant(fields={"expires_in": lambda u, s: str(s.access_token_ttl)}), ["got '120'"]),
    "expires_in as exp": (
        variant(
            fields={
                "expires_in": lambda u, s: jwt.decode(
                    create_access_token(u, s), options={"verify_signature": False}
                )["exp"]
            }
        ),
        ["'expires_in' must be the token's lifetime"],
    ),
    "hard-coded secret": (
        variant(
            fields={
                "access_token": lambda u, s: jwt.encode(
                    {"sub": str(u.id)}, "my own secret of 32 bytes or more!", algorithm="HS256"
                )
            }
        ),
        ["does not verify with the app's settings", "create_access_token(user, request.app[SETTINGS])"],
    ),
    "always user 1": (variant(authenticate=_first_user), ["request 2 of 11", "sub is '1', expected '2'"]),
    "password hash sent": (
        variant(fields={"user": lambda u, s: {"id": u.id, "hash": u.password_hash}}),
        ["the password or its hash"],
    ),
    "no Cache-Control": (variant(headers={}), ["Cache-Control: no such header, expected Cache-Control: no-store"]),
    "Cache-Control no-cache": (variant(headers={"Cache-Control": "no-cache"}), ["'no-cache'", "no-store"]),
    "403 for a wrong password": (
        variant(refuse=error(web.HTTPForbidden, "invalid_credentials")),
        ["request 3 of 11 (alice with a wrong password", "got 403", "expected 401"],
    ),
    "400 for a wrong password": (variant(refuse=error(web.HTTPBadRequest, "invalid_request")), ["got 400"]),
    "no challenge": (
        variant(refuse=error(web.HTTPUnauthorized, "invalid_credentials", challenge=False)),
        ["WWW-Authenticate: no such header", 'WWW-Authenticate: Bearer realm="login-lab"'],
    ),
    "hard-coded realm": (
        variant(refuse=error(web.HTTPUnauthorized, "invalid_credentials", realm="jwt-tutorial")),
        ["'Bearer realm=\"jwt-tutorial\"'", "settings.realm"],
    ),
    "other error code": (
        variant(refuse=error(web.HTTPUnauthorized, "wrong_password")),
        ["{'error': 'wrong_password', …}", "expected the JSON error {'error': 'invalid_credentials'"],
    ),
    "unknown email 404": (variant(refuse=_unknown_email_404), ["request 4 of 11 (an unknown email", "got 404"]),
    "unknown email said": (
        variant(refuse=_unknown_email_says_so),
        ["request 4 of 11", "differs from the wrong password's", "which emails have accounts"],
    ),
    "case-insensitive password": (
        variant(authenticate=_case_insensitive_password),
        ["request 5 of 11 (alice's password in upper case", "got 200", "compared exactly"],
    ),
    "returned, not raised": (login_returning_the_error, ["returned an HTTP error instead of raising it"]),
    "wrong exception caught": (
        login_catching_the_wrong_exception,
        ["request 3 of 11", "got 500", "The server logged: InvalidCredentials: invalid email or password"],
    ),
}


@pytest.mark.parametrize(("answer", "fragments"), LOGIN_WRONG_ANSWERS.values(), ids=LOGIN_WRONG_ANSWERS.keys())
def test_login_lab_refuses_each_wrong_answer_and_names_the_mistake(answer, fragments, capfd):
    assert_not_yet(check.login_lab(answer), *fragments)
    assert capfd.readouterr().err == "", "the lab must record the server's logs, not print them"


def test_login_lab_messages_never_show_a_port():
    result = repr(check.login_lab(variant(refuse=error(web.HTTPForbidden, "x"))))
    assert "127.0.0.1" not in result and "http://" not in result


def test_login_lab_reports_a_login_that_never_answers_and_stays_quiet(capfd):
    async def waits_forever(request):
        await asyncio.Event().wait()  # e.g. awaiting something that never comes

    assert_not_yet(check.login_lab(waits_forever), "request 1 of 11", "no answer within 10 s")
    assert capfd.readouterr().err == "", "the destroyed handler task must be logged into the recorder"
