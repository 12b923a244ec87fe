"""Sessions that end (notebook 07): sign-up, login with a refresh token, rotation with reuse detection, logout.

Routes (``routes.setup_routes``): ``POST /register``, ``POST /login`` (``login_with_refresh_token``), ``POST
/refresh``, ``POST /logout``, ``POST /logout-all``, ``POST /password``. Every error is JSON ``{error, message}``;
a bad refresh token is always 400 ``invalid_grant`` (RFC 6749 §5.2). Why it is built this way: docs/design.md,
"Sessions that end".
"""

from __future__ import annotations

from typing import Any

from aiohttp import web


def invalid_grant(message: str) -> web.HTTPError:
    """400 ``invalid_grant`` (RFC 6749 §5.2): the refresh token is unknown, expired, spent or revoked."""
    raise NotImplementedError


async def read_refresh_token(request: web.Request) -> str:
    """The ``refresh_token`` of a JSON body ``{"refresh_token": str}``.

    Raises:
        web.HTTPBadRequest: 400 ``invalid_request``, no JSON object or no string ``refresh_token``.
    """
    raise NotImplementedError


def token_response(access_token: str, refresh_token: str, expires_in: int) -> web.Response:
    """200 ``{access_token, token_type: "Bearer", expires_in, refresh_token}`` (RFC 6749 §5.1), ``no-store``."""
    raise NotImplementedError


def access_claims(request: web.Request) -> dict[str, Any]:
    """The verified claims of the request's bearer access token (the auth middleware accepted it already)."""
    raise NotImplementedError


async def register(request: web.Request) -> web.Response:
    """``POST /register`` ``{email, password}`` → 201 ``{id, email}``.

    Raises:
        web.HTTPBadRequest: 400 ``invalid_email``, or ``weak_password`` naming the rule of NIST SP 800-63B-4
            §3.1.1.2 the password breaks (``passwords.password_problem``).
        web.HTTPConflict: 409 ``email_taken``.
    """
    raise NotImplementedError


async def login_with_refresh_token(request: web.Request) -> web.Response:
    """``POST /login`` ``{email, password}`` → 200 ``{access_token, token_type, expires_in, refresh_token}``.

    A new session starts: its absolute end is ``Settings.session_lifetime`` from now; the access token
    (``typ: at+jwt``, RFC 9068) carries its id as ``sid``.
    """
    raise NotImplementedError


async def refresh(request: web.Request) -> web.Response:
    """``POST /refresh`` ``{refresh_token}`` → 200 with a new pair; the old refresh token is spent (rotation).

    Raises:
        web.HTTPBadRequest: 400 ``invalid_grant`` (RFC 6749 §5.2) for a token that is unknown, expired, spent
            or revoked - an access token too (RFC 8725 §3.12: one kind of token never passes as the other). A
            token spent more than ``Settings.refresh_grace`` seconds ago is a replay: its session (the whole
            family) is revoked, with its access tokens (RFC 9700 §4.14.2).
    """
    raise NotImplementedError


async def logout(request: web.Request) -> web.Response:
    """``POST /logout`` with the bearer access token (and optionally ``{refresh_token}``) → 204.

    The access token's session ends: its refresh tokens and its access tokens, this one included, stop working.
    A refresh token in the body ends its session too; an unknown one is ignored (RFC 7009 §2.2).
    """
    raise NotImplementedError


async def logout_all(request: web.Request) -> web.Response:
    """``POST /logout-all`` with the bearer access token → 204: every session of the user ends."""
    raise NotImplementedError


async def change_password(request: web.Request) -> web.Response:
    """``POST /password`` ``{current_password, new_password}`` → 204; every other session of the user ends.

    Raises:
        web.HTTPUnauthorized: 401 ``invalid_credentials``, the current password is wrong.
        web.HTTPBadRequest: 400 ``weak_password``, as ``register``.
    """
    raise NotImplementedError
