"""The labs of notebook 03: the reference decorators and right ones written differently pass; each wrong answer
of the corpus is refused with feedback that names the mistake, and nothing reaches stderr."""

from __future__ import annotations

import asyncio
import functools
import inspect
import sys

import pytest
from aiohttp import hdrs, web

from tutorial_src import check
from tutorial_src.check import NOT_YET_PREFIX, PASSED_PREFIX
from tutorial_src.decorators import _request_of, _require_coroutine, admin_required, login_required
from tutorial_src.keys import CURRENT_USER, SETTINGS
from tutorial_src.responses import bearer_challenge, json_error


def assert_not_yet(result, *fragments):
    assert not result
    assert repr(result).startswith(NOT_YET_PREFIX), repr(result)
    for fragment in fragments:
        assert fragment in repr(result), repr(result)


def test_checkers_are_exported():
    from tutorial_src.check import nb03

    assert set(nb03.__all__) == {"login_required_lab", "admin_required_lab", "owner_or_admin_decorator"}


# --- building blocks of the wrong answers ------------------------------------------------------------------------


def unauthorized(request, *, challenge="bare", status=web.HTTPUnauthorized, code="authentication_required"):
    realm = request.app[SETTINGS].realm
    headers = {}
    if challenge == "bare":
        headers = {hdrs.WWW_AUTHENTICATE: bearer_challenge(realm)}
    elif challenge is not None:
        headers = {hdrs.WWW_AUTHENTICATE: challenge}
    return json_error(status, code, "log in first", headers=headers)


def forbidden(request):
    message = "admins only"
    challenge = bearer_challenge(request.app[SETTINGS].realm, "insufficient_scope", message)
    return json_error(web.HTTPForbidden, "insufficient_scope", message, headers={hdrs.WWW_AUTHENTICATE: challenge})


def guard(allowed, *, refuse=forbidden, find=_request_of, stacked=True, check_async=True, wraps=True):
    """A decorator: ``allowed(request, user)`` says whether the call goes through, ``refuse(request)`` builds the
    refusal; the variations are the mistakes of the corpus."""

    def decorator(handler):
        if check_async:
            _require_coroutine(handler, "guard")

        async def wrapper(*args):
            request = find(args)
            if not allowed(request, request[CURRENT_USER]):
                raise refuse(request)
            return await handler(*args)

        if wraps:
            wrapper = functools.wraps(handler)(wrapper)
        return login_required(wrapper) if stacked else wrapper

    return decorator


def anonymous_refused(**options):
    """A login_required built by ``guard`` (not stacked on the reference)."""
    return guard(
        lambda request, user: user is not None, refuse=lambda r: unauthorized(r, **options), stacked=False
    )


def unfinished(handler):
    raise NotImplementedError("the table says what to answer")


def identity(handler):
    return handler


def sync_wrapper(handler):
    @functools.wraps(handler)
    def wrapper(*args):
        return handler(*args)

    return wrapper


async def async_decorator(handler):
    return handler


def returns_the_error(handler):
    @functools.wraps(handler)
    async def wrapper(*args):
        request = _request_of(args)
        if request[CURRENT_USER] is None:
            return unauthorized(request)
        return await handler(*args)

    return wrapper


def no_return(handler):
    @functools.wraps(handler)
    async def wrapper(*args):
        request = _request_of(args)
        if request[CURRENT_USER] is None:
            raise unauthorized(request)
        await handler(*args)

    return wrapper


def presence_not_value(handler):
    # The middleware always sets the key, to None for strangers: `in` is always true.
    @functools.wraps(handler)
    async def wrapper(*args):
        request = _request_of(args)
        if CURRENT_USER not in request:
            raise unauthorized(request)
        return await handler(*args)

    return wrapper


def string_key(handler):
    # request["user"] instead of the typed key CURRENT_USER: always None, so everyone is refused.
    @functools.wraps(handler)
    async def wrapper(*args):
        request = _request_of(args)
        if request.get("user") is None:
            raise unauthorized(request)
        return await handler(*args)

    return wrapper


def exits(handler):
    @functools.wraps(handler)
    async def wrapper(*args):
        sys.exit(1)

    return wrapper


# --- login_required --------------------------------------------------------------------------------------------


def test_login_required_lab_passes_the_reference():
    result = check.login_required_lab(login_required)
    assert result and repr(result).startswith(PASSED_PREFIX), repr(result)


def login_required_by_truthiness(handler):
    # Written differently: inspect.iscoroutinefunction by hand, `not user` (a User is always truthy), getattr.
    if not inspect.iscoroutinefunction(handler):
        raise TypeError("async handlers only")

    @functools.wraps(handler)
    async def wrapper(*args):
        request = getattr(args[0], "request", args[0])
        if not request[CURRENT_USER]:
            raise json_error(
                web.HTTPUnauthorized,
                "authentication_required",
                "send a bearer token",
                headers={"WWW-Authenticate": f'Bearer realm="{request.app[SETTINGS].realm}"'},
            )
        return await handler(*args)

    return wrapper


def login_required_by_asyncio(handler):
    # Written differently: asyncio.iscoroutinefunction, the request as the last argument, an explicit else.
    if not asyncio.iscoroutinefunction(handler):
        raise TypeError(f"{handler.__name__} is not async")

    @functools.wraps(handler)
    async def wrapper(*args):
        request = args[-1] if isinstance(args[-1], web.Request) else args[-1].request
        if request[CURRENT_USER] is not None:
            return await handler(*args)
        else:
            raise unauthorized(request)

    return wrapper


@pytest.mark.parametrize("answer", [login_required_by_truthiness, login_required_by_asyncio])
def test_login_required_lab_accepts_right_answers_written_differently(answer, capfd):
    if answer is login_required_by_asyncio and sys.version_info >= (3, 14):
        pytest.skip("asyncio.iscoroutinefunction is deprecated from Python 3.14")
    result = check.login_required_lab(answer)
    assert result, repr(result)
    assert capfd.readouterr().err == ""


LOGIN_REQUIRED_WRONG = {
    "stub": (unfinished, ["not done yet", "the table says what to answer"]),
    "not a function": (42, ["expected the decorator login_required, got int"]),
    "lets everyone through": (
        identity,
        [
            "request 1 of 10 (no Authorization header: GET /get-user)",
            "got 500",
            "its guard let an anonymous request in",
            "when request[CURRENT_USER] is None",
        ],
    ),
    "sync wrapper": (sync_wrapper, ["must return an `async def` wrapper"]),
    "async decorator": (async_decorator, ["itself must be a plain `def`"]),
    "no functools.wraps": (
        guard(lambda r, u: u is not None, refuse=unauthorized, stacked=False, wraps=False),
        ["@functools.wraps(handler)"],
    ),
    "return instead of raise": (returns_the_error, ["returned an HTTP error instead of raising it"]),
    "no return": (no_return, ["request 2 of 10", "returned None instead of a response"]),
    "presence, not value": (presence_not_value, ["request 1 of 10", "got 500"]),
    "403 for strangers": (anonymous_refused(status=web.HTTPForbidden), ["got 403", "expected 401"]),
    "no challenge": (anonymous_refused(challenge=None), ["WWW-Authenticate: no such header"]),
    "challenge with an error": (
        guard(
            lambda r, u: u is not None,
            stacked=False,
            refuse=lambda r: unauthorized(r, challenge=bearer_challenge(r.app[SETTINGS].realm, "invalid_token")),
        ),
        ['error="invalid_token"', "(bare: no error=)"],
    ),
    "hard-coded realm": (
        anonymous_refused(challenge='Bearer realm="jwt-tutorial"'),
        ["'Bearer realm=\"jwt-tutorial\"'", 'expected WWW-Authenticate: Bearer realm="guard-lab"'],
    ),
    "lower-case scheme in the challenge": (
        anonymous_refused(challenge='bearer realm="guard-lab"'),
        ["'bearer realm=\"guard-lab\"'"],
    ),
    "other error code": (anonymous_refused(code="unauthorized"), ["{'error': 'unauthorized', …}"]),
    "plain handlers only": (
        guard(lambda r, u: u is not None, refuse=unauthorized, stacked=False, find=lambda a: a[0]),
        ["request 9 of 10 (no Authorization header: GET /view)", "args[0].request"],
    ),
    "string key, not CURRENT_USER": (string_key, ["request 2 of 10 (alice's token", "got 401", "expected 200"]),
    "accepts def handlers": (
        guard(lambda r, u: u is not None, refuse=unauthorized, stacked=False, check_async=False),
        ["accepted a plain `def` handler", "TypeError"],
    ),
    "exit()": (exits, ["request 1 of 10", "SystemExit"]),
}


@pytest.mark.parametrize(("answer", "fragments"), LOGIN_REQUIRED_WRONG.values(), ids=LOGIN_REQUIRED_WRONG.keys())
def test_login_required_lab_refuses_each_wrong_answer(answer, fragments, capfd):
    assert_not_yet(check.login_required_lab(answer), *fragments)
    assert capfd.readouterr().err == "", "the lab must record the server's logs, not print them"


# --- admin_required --------------------------------------------------------------------------------------------


def test_admin_required_lab_passes_the_reference():
    result = check.admin_required_lab(admin_required)
    assert result and repr(result).startswith(PASSED_PREFIX), repr(result)


def admin_required_unstacked(handler):
    # Written differently: not stacked on login_required; both refusals in one wrapper.
    _require_coroutine(handler, "admin_required_unstacked")

    @functools.wraps(handler)
    async def wrapper(*args):
        request = _request_of(args)
        user = request[CURRENT_USER]
        if user is None:
            raise unauthorized(request)
        if user.is_admin is not True:
            raise forbidden(request)
        return await handler(*args)

    return wrapper


@pytest.mark.parametrize(
    "answer",
    [admin_required_unstacked, guard(lambda request, user: user.is_admin)],
    ids=["unstacked", "stacked-on-the-reference"],
)
def test_admin_required_lab_accepts_right_answers_written_differently(answer):
    assert check.admin_required_lab(answer)


def is_admin(request, user):
    return user.is_admin


ADMIN_REQUIRED_WRONG = {
    "stub": (unfinished, ["not done yet"]),
    "login_required only": (
        login_required,
        ["request 2 of 12 (alice, not an admin: GET /admin/users)", "got 200", "expected 403"],
    ),
    "401 for users": (guard(is_admin, refuse=unauthorized), ["request 2 of 12", "got 401", "expected 403"]),
    "403 without the error in the challenge": (
        guard(is_admin, refuse=lambda r: unauthorized(r, status=web.HTTPForbidden, code="insufficient_scope")),
        ['expected WWW-Authenticate: Bearer realm="guard-lab", error="insufficient_scope"'],
    ),
    "403 forbidden code": (
        guard(is_admin, refuse=lambda r: json_error(web.HTTPForbidden, "forbidden", "no")),
        ["{'error': 'forbidden', …}"],
    ),
    "not stacked": (
        guard(is_admin, stacked=False),
        ["request 1 of 12", "got 500", "AttributeError", "stack the wrapper on login_required"],
    ),
    "admin by email": (guard(lambda r, u: u.email.startswith("admin")), ["request 3 of 12", "user.is_admin"]),
    "admin by email, case-insensitive": (
        guard(lambda r, u: u.is_admin or u.email.lower().startswith("admin@")),
        ["request 3 of 12 (admin@example.com, who is not an admin", "user.is_admin"],
    ),
    "admin by a header": (
        guard(lambda r, u: u.is_admin or r.headers.get("X-Admin") is not None or u.id == 3),
        ["request 3 of 12"],
    ),
    "plain handlers only": (guard(is_admin, find=lambda a: a[0]), ["GET /view", "args[0].request"]),
    "no functools.wraps": (guard(is_admin, wraps=False, stacked=False), ["@functools.wraps(handler)"]),
    "accepts def handlers": (guard(is_admin, check_async=False), ["accepted a plain `def` handler"]),
    "sync wrapper": (sync_wrapper, ["must return an `async def` wrapper"]),
}


@pytest.mark.parametrize(("answer", "fragments"), ADMIN_REQUIRED_WRONG.values(), ids=ADMIN_REQUIRED_WRONG.keys())
def test_admin_required_lab_refuses_each_wrong_answer(answer, fragments, capfd):
    assert_not_yet(check.admin_required_lab(answer), *fragments)
    assert capfd.readouterr().err == ""


# --- my_owner_or_admin_required (side exercise) ------------------------------------------------------------------


def owner_or_admin(request, user):
    return user.is_admin or request.match_info.get("user_id") == str(user.id)


def test_owner_or_admin_accepts_the_reference():
    assert check.owner_or_admin_decorator(guard(owner_or_admin))


@pytest.mark.parametrize(
    "allowed",
    [
        lambda r, u: str(u.id) == r.match_info["user_id"] or u.is_admin,
        lambda r, u: u.is_admin or r.match_info.get("user_id") in {str(u.id)},
    ],
    ids=["operands-swapped", "set-membership"],
)
def test_owner_or_admin_accepts_right_answers_written_differently(allowed):
    assert check.owner_or_admin_decorator(guard(allowed))


OWNER_WRONG = {
    "stub": (unfinished, ["not done yet"]),
    "admin_required": (admin_required, ["request 2 of 7 (alice on her own record"]),
    "login_required": (login_required, ["request 3 of 7 (alice on boss's record", "got 200"]),
    "int() of the path": (
        guard(lambda r, u: u.is_admin or int(r.match_info["user_id"]) == u.id),
        ["request 4 of 7 (alice on /users/01", "int('01') == 1"],
    ),
    "int compared with str": (
        guard(lambda r, u: u.is_admin or r.match_info["user_id"] == u.id),
        ["request 2 of 7", "compare strings"],
    ),
    "wrong path key": (
        guard(lambda r, u: u.is_admin or r.match_info["id"] == str(u.id)),
        ["request 2 of 7", "got 500", "KeyError"],
    ),
    "owner only": (guard(lambda r, u: r.match_info["user_id"] == str(u.id)), ["request 6 of 7 (boss, an admin"]),
    "401 for others": (guard(owner_or_admin, refuse=unauthorized), ["request 3 of 7", "got 401"]),
    "not stacked": (guard(owner_or_admin, stacked=False), ["request 1 of 7", "got 500"]),
    "prefix match": (
        guard(lambda r, u: u.is_admin or r.match_info["user_id"].startswith(str(u.id))),
        ["request 5 of 7 (alice on /users/10", "the whole id"],
    ),
    "no functools.wraps": (guard(owner_or_admin, wraps=False, stacked=False), ["functools.wraps"]),
}


@pytest.mark.parametrize(("answer", "fragments"), OWNER_WRONG.values(), ids=OWNER_WRONG.keys())
def test_owner_or_admin_refuses_each_wrong_answer(answer, fragments, capfd):
    assert_not_yet(check.owner_or_admin_decorator(answer), *fragments)
    assert capfd.readouterr().err == ""
