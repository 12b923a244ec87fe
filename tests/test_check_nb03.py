"""The checkers of notebook 03: the reference decorators pass; wrong ones are reported, never raised."""

from __future__ import annotations

import functools

import pytest
from aiohttp import hdrs, web

from tutorial_src import check
from tutorial_src.check import NOT_YET_PREFIX
from tutorial_src.check.nb03 import outcome
from tutorial_src.decorators import _request_of, admin_required, login_required
from tutorial_src.keys import CURRENT_USER, SETTINGS
from tutorial_src.responses import bearer_challenge, json_error


def reference_owner_or_admin_required(handler):
    @login_required
    @functools.wraps(handler)
    async def wrapper(*args):
        request = _request_of(args)
        user = request[CURRENT_USER]
        if not (user.is_admin or request.match_info.get("user_id") == str(user.id)):
            message = "only this user or an admin may call this route"
            realm = request.app[SETTINGS].realm
            raise json_error(
                web.HTTPForbidden,
                "insufficient_scope",
                message,
                headers={hdrs.WWW_AUTHENTICATE: bearer_challenge(realm, "insufficient_scope", message)},
            )
        return await handler(*args)

    return wrapper


def unfinished(handler):
    raise NotImplementedError("Hint: ...")


def without_wraps(handler):
    async def wrapper(*args):
        return await handler(*args)

    return wrapper


def sync_wrapper(handler):
    @functools.wraps(handler)
    def wrapper(*args):
        return handler(*args)

    return wrapper


def crashing(handler):
    @functools.wraps(handler)
    async def wrapper(*args):
        return {}["missing"]

    return wrapper


def forbids_with_401(handler):
    @login_required
    @functools.wraps(handler)
    async def wrapper(*args):
        if not _request_of(args)[CURRENT_USER].is_admin:
            raise json_error(web.HTTPUnauthorized, "authentication_required", "no")
        return await handler(*args)

    return wrapper


def plain_only(handler):
    # Forgets web.View: reads args[0] as the request.
    @functools.wraps(handler)
    async def wrapper(*args):
        user = args[0][CURRENT_USER]
        if user is None:
            raise json_error(
                web.HTTPUnauthorized,
                "authentication_required",
                "no",
                headers={hdrs.WWW_AUTHENTICATE: 'Bearer realm="jwt-tutorial"'},
            )
        if not user.is_admin:
            raise json_error(
                web.HTTPForbidden,
                "insufficient_scope",
                "no",
                headers={hdrs.WWW_AUTHENTICATE: 'Bearer realm="jwt-tutorial", error="insufficient_scope"'},
            )
        return await handler(*args)

    return wrapper


def realm_less_challenge(handler):
    @functools.wraps(handler)
    async def wrapper(*args):
        raise json_error(
            web.HTTPUnauthorized, "authentication_required", "no", headers={hdrs.WWW_AUTHENTICATE: "Bearer"}
        )

    return wrapper


def text_body(handler):
    @functools.wraps(handler)
    async def wrapper(*args):
        return web.Response(status=401, text="go away")

    return wrapper


def test_admin_required_accepts_the_shipped_decorator():
    assert check.admin_required_decorator(admin_required)


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (login_required, "403 insufficient_scope"),
        (lambda handler: handler, "401 authentication_required"),
        (unfinished, "not done yet"),
        (without_wraps, "functools.wraps"),
        (sync_wrapper, "async def"),
        (crashing, "KeyError"),
        (forbids_with_401, "403"),
        (plain_only, "view handler"),
        (42, "expected a decorator"),
        (realm_less_challenge, "not of the form"),
        (text_body, "not JSON"),
    ],
)
def test_admin_required_reports_wrong_answers(answer, hint):
    result = check.admin_required_decorator(answer)
    assert not result
    assert repr(result).startswith(NOT_YET_PREFIX)
    assert hint in repr(result), repr(result)


def test_owner_or_admin_required_accepts_the_reference():
    assert check.owner_or_admin_decorator(reference_owner_or_admin_required)


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (admin_required, "alice on her own /users/1"),
        (login_required, "alice on the admin's /users/2"),
        (unfinished, "not done yet"),
    ],
)
def test_owner_or_admin_required_reports_wrong_answers(answer, hint):
    result = check.owner_or_admin_decorator(answer)
    assert not result
    assert hint in repr(result)


def test_outcome_lines():
    assert outcome(200, None, None) == "200 OK, no challenge"
    assert outcome(401, "authentication_required", "bare") == (
        "401 authentication_required, bare challenge (no error)"
    )
