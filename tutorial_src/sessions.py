"""Sessions that end (notebook 07): sign-up, login with a refresh token, rotation with reuse detection, logout.

Routes (``routes.setup_routes``): ``POST /register``, ``POST /login`` (``login_with_refresh_token``), ``POST
/refresh``, ``POST /logout``, ``POST /logout-all``, ``POST /password``. Every error is JSON ``{error, message}``;
a bad refresh token is always 400 ``invalid_grant`` (RFC 6749 §5.2). Why it is built this way: docs/design.md,
"Sessions that end".
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import jwt
from aiohttp import hdrs, web
from aiohttp.http_exceptions import HttpProcessingError

from .auth import bearer_token, describe_token_error
from .errors import InvalidCredentials, InvalidToken, UserExists
from .keys import CURRENT_USER, SETTINGS, USERS
from .login import FORM_TYPES, read_credentials
from .models import User
from .passwords import password_hasher, password_problem
from .responses import bearer_error, json_error
from .tokens import create_access_token, decode_access_token

#: The longest email accepted (RFC 5321 §4.5.3.1.3: a path holds at most 256 octets, so 254 for the address).
MAX_EMAIL_LENGTH = 254


def invalid_grant(message: str) -> web.HTTPError:
    """400 ``invalid_grant`` (RFC 6749 §5.2): the refresh token is unknown, expired, spent or revoked."""
    return json_error(web.HTTPBadRequest, "invalid_grant", message, headers={hdrs.CACHE_CONTROL: "no-store"})


async def read_fields(request: web.Request, *names: str, optional: bool = False) -> dict[str, str]:
    """The string fields ``names`` of a JSON object body (or a form, as RFC 6749 §6 sends a refresh).

    With ``optional``, an empty body gives ``{}`` and a missing field is left out.

    Raises:
        web.HTTPBadRequest: 400 ``invalid_request``: not a JSON object or form, or a field missing (unless
            ``optional``) or not a string; the message names the field.
        web.HTTPUnsupportedMediaType: 415, another content type.
    """
    body: Any
    if optional and not request.body_exists:
        return {}
    if request.content_type == "application/json":
        try:
            body = await request.json()
        # As login.read_credentials: not JSON, not text in its charset, or a body that cannot be decoded.
        except (ValueError, LookupError, RecursionError, web.RequestPayloadError):
            raise json_error(web.HTTPBadRequest, "invalid_request", "the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise json_error(web.HTTPBadRequest, "invalid_request", "the JSON body must be an object")
    elif request.content_type in FORM_TYPES:
        try:
            body = await request.post()
        except (ValueError, LookupError, RuntimeError, HttpProcessingError, web.RequestPayloadError):
            raise json_error(web.HTTPBadRequest, "invalid_request", "the form body is malformed") from None
    else:
        raise json_error(web.HTTPUnsupportedMediaType, "unsupported_media_type", "send the body as JSON")
    fields = {}
    for name in names:
        if name not in body:
            if optional:
                continue
            raise json_error(web.HTTPBadRequest, "invalid_request", f"the field '{name}' is missing")
        if not isinstance(body[name], str):
            raise json_error(web.HTTPBadRequest, "invalid_request", f"the field '{name}' must be a string")
        fields[name] = body[name]
    return fields


async def read_refresh_token(request: web.Request) -> str:
    """The ``refresh_token`` of a JSON body ``{"refresh_token": str}``.

    Raises:
        web.HTTPBadRequest: 400 ``invalid_request``, no JSON object or no string ``refresh_token``.
    """
    return (await read_fields(request, "refresh_token"))["refresh_token"]


def token_response(access_token: str, refresh_token: str, expires_in: int) -> web.Response:
    """200 ``{access_token, token_type: "Bearer", expires_in, refresh_token}`` (RFC 6749 §5.1), ``no-store``."""
    return web.json_response(
        {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": expires_in,
            "refresh_token": refresh_token,
        },
        headers={hdrs.CACHE_CONTROL: "no-store"},
    )


def access_claims(request: web.Request) -> dict[str, Any]:
    """The verified claims of the request's bearer access token (the auth middleware accepted it already).

    Raises:
        web.HTTPUnauthorized: 401 ``invalid_token``, the token stopped passing since (it expired meanwhile).
    """
    settings = request.app[SETTINGS]
    token = bearer_token(request)
    try:
        if token is None:  # login_required let an anonymous request in: never with the package's guard
            raise InvalidToken("this route needs a bearer access token")
        return decode_access_token(token, settings)
    except jwt.InvalidTokenError as error:
        raise bearer_error(
            web.HTTPUnauthorized, "invalid_token", describe_token_error(error), settings.realm
        ) from None
    except InvalidToken as error:
        raise bearer_error(web.HTTPUnauthorized, "invalid_token", str(error), settings.realm) from None


def _signed_in(request: web.Request) -> User:
    user = request[CURRENT_USER]
    if user is None:  # the routes are behind login_required; a guard that let this through is a bug (a 500)
        raise RuntimeError(f"{request.path} ran without a signed-in user")
    return user


def _check_password(password: str, email: str) -> None:
    problem = password_problem(password, email)
    if problem is not None:
        raise json_error(web.HTTPBadRequest, "weak_password", problem)


async def register(request: web.Request) -> web.Response:
    """``POST /register`` ``{email, password}`` → 201 ``{id, email}``.

    Raises:
        web.HTTPBadRequest: 400 ``invalid_email``, or ``weak_password`` naming the rule of NIST SP 800-63B-4
            §3.1.1.2 the password breaks (``passwords.password_problem``).
        web.HTTPConflict: 409 ``email_taken``. It tells anyone that the email has an account here; notebook 07
            says how sites avoid that (answer the same and send a mail).
    """
    email, password = await read_credentials(request)
    email = email.strip().lower()
    local, at, domain = email.partition("@")
    if (
        not at
        or not local
        or "." not in domain
        or len(email) > MAX_EMAIL_LENGTH
        or any(c.isspace() for c in email)
    ):
        raise json_error(web.HTTPBadRequest, "invalid_email", "the email must look like name@example.com")
    _check_password(password, email)
    settings = request.app[SETTINGS]
    # argon2 in a worker thread, as at login: the event loop keeps answering meanwhile.
    password_hash = await asyncio.to_thread(password_hasher(settings).hash, password)
    try:
        user = await request.app[USERS].create_user(email, password_hash)
    except UserExists:
        raise json_error(web.HTTPConflict, "email_taken", "an account with this email exists already") from None
    return web.json_response({"id": user.id, "email": user.email}, status=201)


async def login_with_refresh_token(request: web.Request) -> web.Response:
    """``POST /login`` ``{email, password}`` → 200 ``{access_token, token_type, expires_in, refresh_token}``.

    A new session starts: its absolute end is ``Settings.session_lifetime`` from now; the access token
    (``typ: at+jwt``, RFC 9068) carries its id as ``sid``.

    Raises:
        web.HTTPUnauthorized: 401 ``invalid_credentials``, as ``login.login``.
    """
    email, password = await read_credentials(request)
    settings, store = request.app[SETTINGS], request.app[USERS]
    # From the database: the user may have registered through another process a moment ago.
    await store.find_user(email)
    try:
        user = await asyncio.to_thread(store.authenticate, email, password)
    except InvalidCredentials:
        raise bearer_error(
            web.HTTPUnauthorized, "invalid_credentials", "invalid email or password", settings.realm
        ) from None
    session, refresh_token = await store.start_session(
        user.id, now=time.time(), lifetime=settings.session_lifetime, token_ttl=settings.refresh_token_ttl
    )
    access_token = create_access_token(user, settings, session_id=session.id)
    return token_response(access_token, refresh_token, settings.access_token_ttl)


async def refresh(request: web.Request) -> web.Response:
    """``POST /refresh`` ``{refresh_token}`` → 200 with a new pair; the old refresh token is spent (rotation).

    Raises:
        web.HTTPBadRequest: 400 ``invalid_grant`` (RFC 6749 §5.2) for a token that is unknown, expired, spent
            or revoked - an access token too (RFC 8725 §3.12: one kind of token never passes as the other). A
            token spent more than ``Settings.refresh_grace`` seconds ago is a replay: its session (the whole
            family) is revoked, with its access tokens (RFC 9700 §4.14.2).
    """
    token = await read_refresh_token(request)
    settings, store = request.app[SETTINGS], request.app[USERS]
    used = await store.use_refresh_token(
        token, now=time.time(), grace=settings.refresh_grace, token_ttl=settings.refresh_token_ttl
    )
    if used is None:
        raise invalid_grant("the refresh token is unknown, expired or revoked; log in again")
    if used.reused:  # spent before, outside the grace: someone else holds a copy
        await store.revoke_session(used.session.id)
        raise invalid_grant("the refresh token was used before; its session is revoked, log in again")
    if used.successor is None:  # spent moments ago through another process, which holds the successor
        raise invalid_grant("the refresh token was just used; use the new one, or log in again")
    user = store.get_by_id(used.session.user_id)
    if user is None:
        raise invalid_grant("the refresh token's user no longer exists")
    access_token = create_access_token(user, settings, session_id=used.session.id)
    return token_response(access_token, used.successor, settings.access_token_ttl)


async def logout(request: web.Request) -> web.Response:
    """``POST /logout`` with the bearer access token (and optionally ``{refresh_token}``) → 204.

    The access token's session ends: its refresh tokens and its access tokens, this one included, stop working.
    A refresh token in the body ends its session too when it is the user's; an unknown one is ignored, as RFC
    7009 §2.2 answers 200 for an invalid token: the client's wish, that the token be unusable, holds.
    """
    claims = access_claims(request)
    store = request.app[USERS]
    # The (iss, jti) pair too: an access token without a sid (notebooks 01-06 mint such) ends as well.
    await store.revoke_access_token(claims["iss"], claims["jti"], float(claims["exp"]))
    if "sid" in claims:
        await store.revoke_session(claims["sid"])
    token = (await read_fields(request, "refresh_token", optional=True)).get("refresh_token")
    if token is not None:
        session = await store.session_of(token, now=time.time())
        if session is not None and session.user_id == _signed_in(request).id:
            await store.revoke_session(session.id)
    return web.Response(status=204)


async def logout_all(request: web.Request) -> web.Response:
    """``POST /logout-all`` with the bearer access token → 204: every session of the user ends."""
    claims = access_claims(request)
    store = request.app[USERS]
    await store.revoke_access_token(claims["iss"], claims["jti"], float(claims["exp"]))
    await store.revoke_sessions(_signed_in(request).id)
    return web.Response(status=204)


async def change_password(request: web.Request) -> web.Response:
    """``POST /password`` ``{current_password, new_password}`` → 204; every other session of the user ends.

    The session of the access token sent stays: the user who just changed the password stays logged in there.

    Raises:
        web.HTTPForbidden: 403 ``invalid_credentials``, the current password is wrong (not 401: the access
            token is fine, and a client that refreshes on 401 would loop).
        web.HTTPBadRequest: 400 ``weak_password``, as ``register``.
    """
    claims = access_claims(request)
    fields = await read_fields(request, "current_password", "new_password")
    settings, store, user = request.app[SETTINGS], request.app[USERS], _signed_in(request)
    try:
        await asyncio.to_thread(store.authenticate, user.email, fields["current_password"])
    except InvalidCredentials:
        raise json_error(web.HTTPForbidden, "invalid_credentials", "the current password is wrong") from None
    _check_password(fields["new_password"], user.email)
    password_hash = await asyncio.to_thread(password_hasher(settings).hash, fields["new_password"])
    await store.set_password(user.id, password_hash, keep_session=claims.get("sid"))
    return web.Response(status=204)
