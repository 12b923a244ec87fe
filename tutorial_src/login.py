"""``POST /login``: trade an email and a password for an access token."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import hdrs, web
from aiohttp.http_exceptions import HttpProcessingError

from .errors import InvalidCredentials
from .keys import SETTINGS, USERS
from .responses import bearer_error, json_error
from .tokens import create_access_token

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def read_credentials(request: web.Request) -> tuple[str, str]:
    """The ``(email, password)`` pair from a JSON object or a form body.

    Raises:
        web.HTTPUnsupportedMediaType: 415, the body is neither ``application/json`` nor a form.
        web.HTTPBadRequest: 400 ``invalid_request``, the JSON is empty, invalid or not an object, the body cannot
            be decoded (bytes that are not text in its charset, an unknown charset, a broken
            ``Content-Encoding``), or a field is missing or not a string (the message names the field).
        web.HTTPRequestEntityTooLarge: 413, raised by aiohttp past ``settings.max_body_size`` bytes.
    """
    body: Any
    if request.content_type == "application/json":
        try:
            body = await request.json()
        # ValueError: not JSON, or bytes that are not text in the charset (UnicodeDecodeError); LookupError: an
        # unknown charset=…; RequestPayloadError: a body its Content-Encoding (e.g. gzip) cannot decode.
        except (ValueError, LookupError, RecursionError, web.RequestPayloadError):
            raise json_error(web.HTTPBadRequest, "invalid_request", "the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise json_error(
                web.HTTPBadRequest,
                "invalid_request",
                'the JSON body must be an object: {"email": "...", "password": "..."}',
            )
    elif request.content_type in FORM_TYPES:
        try:
            body = await request.post()
        # RuntimeError, HttpProcessingError: a part aiohttp cannot parse (unknown transfer encoding, bad headers).
        except (ValueError, LookupError, RuntimeError, HttpProcessingError, web.RequestPayloadError):
            raise json_error(web.HTTPBadRequest, "invalid_request", "the form body is malformed") from None
    else:
        raise json_error(
            web.HTTPUnsupportedMediaType,
            "unsupported_media_type",
            "send the credentials as application/json or as a form (application/x-www-form-urlencoded)",
        )
    values = []
    for field in ("email", "password"):
        if field not in body:
            raise json_error(web.HTTPBadRequest, "invalid_request", f"the field '{field}' is missing")
        value = body[field]
        if not isinstance(value, str):
            raise json_error(web.HTTPBadRequest, "invalid_request", f"the field '{field}' must be a string")
        values.append(value)
    return values[0], values[1]


async def login(request: web.Request) -> web.Response:
    """Check the credentials and answer with a signed access token.

    Request: JSON ``{"email": str, "password": str}`` or the same two form fields.

    Returns:
        200 ``{"access_token": str, "token_type": "Bearer", "expires_in": seconds}``, the names of RFC 6749
        §5.1, with ``Cache-Control: no-store`` (a token is a credential; §5.1 forbids caching it).

    Raises:
        web.HTTPUnauthorized: 401 ``invalid_credentials``, the same body for an unknown email and a wrong
            password. The errors of ``read_credentials`` for a malformed body.
    """
    email, password = await read_credentials(request)
    settings = request.app[SETTINGS]
    try:
        # argon2 is slow on purpose; a worker thread keeps the event loop answering other requests meanwhile.
        user = await asyncio.to_thread(request.app[USERS].authenticate, email, password)
    except InvalidCredentials:
        raise bearer_error(
            web.HTTPUnauthorized, "invalid_credentials", "invalid email or password", settings.realm
        ) from None
    token = create_access_token(user, settings)
    return web.json_response(
        {"access_token": token, "token_type": "Bearer", "expires_in": settings.access_token_ttl},
        headers={hdrs.CACHE_CONTROL: "no-store"},
    )
