"""The checkers of notebook 02: the reference answers pass; wrong, unfinished and crashing answers are
reported as ``❌ Not yet`` and never raise."""

from __future__ import annotations

import jwt
import pytest
from aiohttp import hdrs, web

from tutorial_src import check
from tutorial_src.auth import auth_middleware, authenticate_token, bearer_token, parse_bearer
from tutorial_src.check import NOT_YET_PREFIX, PASSED_PREFIX
from tutorial_src.errors import InvalidRequest, InvalidToken, UnsupportedScheme
from tutorial_src.keys import CURRENT_USER, SETTINGS, USERS
from tutorial_src.responses import bearer_challenge, bearer_error, json_error
from tutorial_src.settings import Settings
from tutorial_src.tokens import decode_access_token


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


# --- the central exercise: auth_middleware, checked as a lab ---------------------------------------------------


def assert_not_yet(result, *fragments):
    assert not result
    assert repr(result).startswith(NOT_YET_PREFIX), repr(result)
    for fragment in fragments:
        assert fragment in repr(result), repr(result)


def refusal(exc_class, code, message, realm):
    return bearer_error(exc_class, code, message, realm)


def middleware(
    *,
    token_of=bearer_token,
    check_token=authenticate_token,
    anonymous_first=False,
    schemes=(web.HTTPUnauthorized, "authentication_required"),
    malformed=(web.HTTPBadRequest, "invalid_request"),
    invalid=(web.HTTPUnauthorized, "invalid_token"),
    build=refusal,
    catch_all=False,
):
    """The reference shape; each option is a mistake of the corpus (or a harmless variation)."""

    @web.middleware
    async def answer(request, handler):
        settings = request.app[SETTINGS]
        if anonymous_first:
            request[CURRENT_USER] = None
        try:
            token = token_of(request)
            user = None if token is None else check_token(token, settings, request.app[USERS])
        except UnsupportedScheme as problem:
            if catch_all:
                raise build(*malformed, str(problem), settings.realm) from None
            raise build(*schemes, str(problem), settings.realm) from None
        except InvalidRequest as problem:
            raise build(*malformed, str(problem), settings.realm) from None
        except InvalidToken as problem:
            raise build(*invalid, str(problem), settings.realm) from None
        request[CURRENT_USER] = user
        return await handler(request)

    return answer


def first_header_only(request):
    # request.headers.get reads the first of two Authorization headers; the query is never looked at.
    header = request.headers.get(hdrs.AUTHORIZATION)
    return None if header is None else parse_bearer(header)


def truthy_header(request):
    # `if not header` takes an empty header for an absent one.
    if "access_token" in request.query:
        raise InvalidRequest("no token in the URL")
    headers = request.headers.getall(hdrs.AUTHORIZATION, [])
    if len(headers) > 1:
        raise InvalidRequest("two headers")
    return parse_bearer(headers[0]) if headers and headers[0] else None


def one_space(request):
    header = request.headers.get(hdrs.AUTHORIZATION)
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        raise UnsupportedScheme("not Bearer")
    if not token or " " in token:
        raise InvalidRequest("malformed")
    return token


def case_sensitive(request):
    header = request.headers.get(hdrs.AUTHORIZATION)
    if header is None:
        return None
    if not header.startswith("Bearer"):
        raise UnsupportedScheme("not Bearer")
    return parse_bearer(header)


def notebook_settings(token, settings, users):
    # The notebook's settings written in, not the app's: the lab has a secret of its own.
    return authenticate_token(token, Settings(jwt_secret="notebook-02-demo-secret-not-for-production"), users)


def no_user_check(token, settings, users):
    # The user may have been deleted: get_by_id gives None, and the request goes on as anonymous.
    try:
        claims = decode_access_token(token, settings)
    except jwt.InvalidTokenError as error:
        raise InvalidToken(str(error)) from None
    return users.get_by_id(int(claims["sub"]))


def unverified(token, settings, users):
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError as error:
        raise InvalidToken(str(error)) from None
    user = users.get_by_id(int(claims["sub"]))
    if user is None:
        raise InvalidToken("no such user")
    return user


def no_challenge(exc_class, code, message, realm):
    return json_error(exc_class, code, message)


def error_in_every_challenge(exc_class, code, message, realm):
    challenge = bearer_challenge(realm, "invalid_token" if code == "authentication_required" else code, message)
    return json_error(exc_class, code, message, headers={hdrs.WWW_AUTHENTICATE: challenge})


def hard_coded_realm(exc_class, code, message, realm):
    return bearer_error(exc_class, code, message, "jwt-tutorial")


@web.middleware
async def unfinished_middleware(request, handler):
    raise NotImplementedError("the table says what to answer")


@web.middleware
def sync_middleware(request, handler):
    request[CURRENT_USER] = None
    return handler(request)


async def undecorated(request, handler):
    request[CURRENT_USER] = None
    return await handler(request)


@web.middleware
async def returns_the_error(request, handler):
    settings = request.app[SETTINGS]
    try:
        token = bearer_token(request)
        user = None if token is None else authenticate_token(token, settings, request.app[USERS])
    except (UnsupportedScheme, InvalidRequest, InvalidToken) as problem:
        return bearer_error(web.HTTPUnauthorized, "invalid_token", str(problem), settings.realm)
    request[CURRENT_USER] = user
    return await handler(request)


@web.middleware
async def no_return(request, handler):
    request[CURRENT_USER] = None
    await handler(request)


@web.middleware
async def no_await(request, handler):
    request[CURRENT_USER] = None
    return handler(request)


@web.middleware
async def only_with_a_token(request, handler):
    # Sets the user only when a header is there: anonymous requests reach the handlers without the key.
    settings = request.app[SETTINGS]
    if hdrs.AUTHORIZATION in request.headers:
        token = bearer_token(request)
        request[CURRENT_USER] = authenticate_token(token, settings, request.app[USERS])
    return await handler(request)


@web.middleware
async def anonymous_refused(request, handler):
    settings = request.app[SETTINGS]
    if not request.headers.get(hdrs.AUTHORIZATION):
        raise bearer_error(web.HTTPUnauthorized, "authentication_required", "log in", settings.realm)
    return await middleware()(request, handler)


def test_auth_middleware_lab_passes_the_reference(capfd):
    result = check.auth_middleware_lab(auth_middleware)
    assert result and repr(result).startswith(PASSED_PREFIX), repr(result)
    assert "(20 requests)" in repr(result)
    assert capfd.readouterr().err == ""


@web.middleware
async def written_differently(request, handler):
    # A table of answers instead of three except clauses; json_error with the challenge built by hand.
    answers = {
        UnsupportedScheme: (web.HTTPUnauthorized, "authentication_required"),
        InvalidRequest: (web.HTTPBadRequest, "invalid_request"),
        InvalidToken: (web.HTTPUnauthorized, "invalid_token"),
    }
    settings, users = request.app[SETTINGS], request.app[USERS]
    try:
        token = bearer_token(request)
        if token is not None:
            request[CURRENT_USER] = authenticate_token(token, settings, users)
        else:
            request[CURRENT_USER] = None
    except tuple(answers) as problem:
        exc_class, code = answers[type(problem)]
        params = f'realm="{settings.realm}"'
        if code != "authentication_required":
            params += f', error="{code}"'
        raise json_error(exc_class, code, str(problem), headers={"WWW-Authenticate": f"Bearer {params}"}) from None
    return await handler(request)


@web.middleware
async def other_schemes_as_anonymous(request, handler):
    # Another scheme or a bare token carries no Bearer credentials: treated as no header at all. Guarded routes
    # then answer login_required's 401 with the bare challenge, which is what RFC 6750 §3.1 asks for.
    settings = request.app[SETTINGS]
    try:
        token = bearer_token(request)
    except UnsupportedScheme:
        token = None
    except InvalidRequest as problem:
        raise bearer_error(web.HTTPBadRequest, "invalid_request", str(problem), settings.realm) from None
    try:
        user = None if token is None else authenticate_token(token, settings, request.app[USERS])
    except InvalidToken as problem:
        raise bearer_error(web.HTTPUnauthorized, "invalid_token", str(problem), settings.realm) from None
    request[CURRENT_USER] = user
    return await handler(request)


@pytest.mark.parametrize(
    "answer",
    [middleware(), written_differently, other_schemes_as_anonymous],
    ids=["reference-shape", "table-of-answers", "other-schemes-as-anonymous"],
)
def test_auth_middleware_lab_accepts_right_answers_written_differently(answer, capfd):
    result = check.auth_middleware_lab(answer)
    assert result, repr(result)
    assert capfd.readouterr().err == ""


AUTH_MIDDLEWARE_WRONG = {
    "stub": (unfinished_middleware, ["not done yet", "the table says what to answer"]),
    "not a function": (None, ["expected the middleware auth_middleware, got NoneType"]),
    "def, not async def": (sync_middleware, ["write `async def auth_middleware(request, handler)`"]),
    "no @web.middleware": (undecorated, ["put @web.middleware on the line above"]),
    "return instead of raise": (returns_the_error, ["returned an HTTP error instead of raising it"]),
    "no return": (no_return, ["request 1 of 20", "returned None instead of a response"]),
    "handler not awaited": (no_await, ["request 1 of 20", "return await handler(request)"]),
    "CURRENT_USER only with a token": (
        only_with_a_token,
        ["request 1 of 20 (no Authorization header: GET /)", "got 500", "request[CURRENT_USER] = None"],
    ),
    "anonymous refused": (
        anonymous_refused,
        ["request 1 of 20 (no Authorization header: GET /)", "got 401", "expected 200", "anonymous caller"],
    ),
    "one space only": (
        middleware(token_of=one_space),
        ["request 7 of 20 (alice's token after two spaces", "1*SP"],
    ),
    "case-sensitive scheme": (
        middleware(token_of=case_sensitive),
        ["request 8 of 20 (a lower-case scheme", "case-insensitive scheme"],
    ),
    "every ValueError is 400": (
        middleware(catch_all=True),
        ["request 9 of 20 (another scheme, 'Token x'", "got 400", "expected 401", "UnsupportedScheme"],
    ),
    "other schemes 400 (the old app)": (
        middleware(schemes=(web.HTTPBadRequest, "invalid_request")),
        ["request 9 of 20", "got 400", "RFC 6750 §3.1"],
    ),
    "malformed is 401": (
        middleware(malformed=(web.HTTPUnauthorized, "invalid_token")),
        ["request 11 of 20 ('Bearer' alone", "got 401", "expected 400"],
    ),
    "empty header taken for no header": (
        middleware(token_of=truthy_header),
        ["request 12 of 20 (an empty Authorization header", "`is None`, not truthiness"],
    ),
    "first header only, no URL check": (
        middleware(token_of=first_header_only),
        ["request 14 of 20 (two Authorization headers", "got 200", "expected 400"],
    ),
    "bad tokens are 403": (
        middleware(invalid=(web.HTTPForbidden, "invalid_token")),
        ["request 16 of 20 (an expired token", "got 403", "expected 401"],
    ),
    "the notebook's settings": (
        middleware(check_token=notebook_settings),
        ["request 3 of 20 (alice's token: GET /get-user)", "got 401", "authenticate_token(token, settings"],
    ),
    "signature not verified": (
        middleware(check_token=unverified),
        ["request 16 of 20 (an expired token", "got 200"],
    ),
    "deleted user not refused": (
        middleware(check_token=no_user_check),
        ["request 19 of 20 (the token of a deleted user", "'authentication_required'", "invalid_token"],
    ),
    "no challenge": (middleware(build=no_challenge), ["request 9 of 20", "WWW-Authenticate: no such header"]),
    "error= in the bare challenge": (
        middleware(build=error_in_every_challenge),
        ["request 9 of 20", "(bare: no error=)"],
    ),
    "hard-coded realm": (middleware(build=hard_coded_realm), ['realm="jwt-tutorial"', 'realm="middleware-lab"']),
    "CURRENT_USER set before the refusal": (
        middleware(anonymous_first=True),
        ["request 20 of 20 (an expired token on the public GET /", "got 401", "must leave it unset"],
    ),
}


@pytest.mark.parametrize(("answer", "fragments"), AUTH_MIDDLEWARE_WRONG.values(), ids=AUTH_MIDDLEWARE_WRONG.keys())
def test_auth_middleware_lab_refuses_each_wrong_answer(answer, fragments, capfd):
    assert_not_yet(check.auth_middleware_lab(answer), *fragments)
    assert capfd.readouterr().err == "", "the lab must record the server's logs, not print them"
