"""The auth middleware: find the user a bearer token stands for, before any handler runs (notebook 02).

It answers "who is this?" and leaves "may they?" to the decorators; what each refusal means is in
``auth_middleware``. This is the plain version; ``token_cache`` adds a cache in front of it (notebook 06).
"""

from __future__ import annotations

import re
from typing import Any

import jwt
from aiohttp import hdrs, web
from jwt import exceptions as jwt_errors

from .errors import InvalidRequest, InvalidToken, UnsupportedScheme
from .keys import CURRENT_USER, SETTINGS, USERS
from .middleware import Handler
from .models import User
from .responses import bearer_error
from .settings import Settings
from .store import Store
from .tokens import decode_access_token

# RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token, b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" /
# "+" / "/" ) *"=". One or more spaces; the scheme is case-insensitive (RFC 9110 §11.1), the token is not.
BEARER_CREDENTIALS = re.compile(r"(?i:Bearer) +([A-Za-z0-9\-._~+/]+=*)", re.ASCII)
RIGHT_FORM = "send 'Authorization: Bearer <token>' with the token from POST /login"


def parse_bearer(header: str) -> str:
    """The token from an ``Authorization`` header value ``Bearer <token>`` (RFC 6750 §2.1).

    Raises:
        UnsupportedScheme: another scheme (``Basic …``, ``Token …``) or a bare token: no Bearer credentials.
        InvalidRequest: an empty header, a bare ``Bearer``, two tokens, a separator other than spaces, or
            characters outside the b64token alphabet.
        The message says which and shows the right form; it never repeats the token.
    """
    match = BEARER_CREDENTIALS.fullmatch(header)
    if match is not None:
        return match.group(1)
    parts = header.split()
    if not parts:
        raise InvalidRequest(f"the Authorization header is empty; {RIGHT_FORM}")
    if parts[0].lower() != "bearer":
        # RFC 6750 §3.1: an unsupported scheme "lacks any authentication information", it is not malformed.
        problem = "a bare token" if len(parts) == 1 else "another scheme"  # never echo what may be a secret
        raise UnsupportedScheme(f"this server reads Bearer credentials, not {problem}; {RIGHT_FORM}")
    if len(parts) == 1:
        problem = "the Bearer scheme came without a token"
    elif len(parts) > 2:
        problem = "the Bearer credential holds more than one token"
    elif header.strip(" ") != header or header[len(parts[0]) :].lstrip(" ") != parts[1]:
        problem = "separate Bearer and the token with spaces, nothing else"
    else:
        problem = "the token has characters outside the RFC 6750 b64token alphabet"
    raise InvalidRequest(f"{problem}; {RIGHT_FORM}")


# What each PyJWT failure means, said without echoing the token. Subclasses come before their bases.
_TOKEN_PROBLEMS: list[tuple[type[jwt.InvalidTokenError], str]] = [
    (jwt.ExpiredSignatureError, "the token has expired"),
    (jwt.ImmatureSignatureError, "the token is not valid yet (nbf or iat lies in the future)"),
    (jwt.InvalidAudienceError, "the token is meant for another audience"),
    (jwt.InvalidIssuerError, "the token was issued by another issuer"),
    (jwt.InvalidAlgorithmError, "the token's signing algorithm is not allowed"),
    (jwt.InvalidSignatureError, "the token's signature does not match"),
    (jwt_errors.InvalidSubjectError, "the token's subject (sub) must be a string"),
    (jwt_errors.InvalidJTIError, "the token's id (jti) must be a string"),
    (jwt_errors.InvalidIssuedAtError, "the token's issue time (iat) is not a number"),
    (jwt.DecodeError, "the token is malformed"),
]


def describe_token_error(error: jwt.InvalidTokenError) -> str:
    """A short, safe description of why PyJWT refused a token (it never contains the token)."""
    if isinstance(error, jwt.MissingRequiredClaimError):
        return f"the token lacks the required '{error.claim}' claim"
    for error_class, text in _TOKEN_PROBLEMS:
        if isinstance(error, error_class):
            return text
    return "the token is invalid"


def authenticate_token(token: str, settings: Settings, users: Store) -> User:
    """The user an access token stands for, after every check.

    Raises:
        InvalidToken: the token is too long, fails ``decode_access_token``, has a subject that is not a user
            id, or names a user who no longer exists.
    """
    if len(token) > settings.max_token_length:
        raise InvalidToken(f"the token is longer than {settings.max_token_length} characters")
    try:
        claims = decode_access_token(token, settings)
    except jwt.InvalidTokenError as error:
        raise InvalidToken(describe_token_error(error)) from None
    user = users.get_by_id(user_id(claims))
    if user is None:
        raise InvalidToken("the token's user no longer exists")
    return user


def user_id(claims: dict[str, Any]) -> int:
    """The user id a verified token's subject (``sub``) names.

    Raises:
        InvalidToken: the subject is not a user id.
    """
    subject = claims["sub"]
    # ASCII digits only ("٣".isdigit() is true), at most 19 like an int64: int() refuses > 4300 (a 500).
    if not subject.isascii() or not subject.isdigit() or len(subject) > 19:
        raise InvalidToken("the token's subject is not a user id")
    return int(subject)


def bearer_token(request: web.Request) -> str | None:
    """The bearer token the request carries, or ``None`` when it has no ``Authorization`` header.

    Raises:
        InvalidRequest: a token in the URL (RFC 6750 §2.3 allows it, §5.3 advises against it: URLs end up in
            logs and browser history), two ``Authorization`` headers, or a malformed one (``parse_bearer``).
        UnsupportedScheme: the header holds another scheme or a bare token (``parse_bearer``).
    """
    if "access_token" in request.query:
        raise InvalidRequest(f"a token in the URL is not accepted; {RIGHT_FORM}")
    headers = request.headers.getall(hdrs.AUTHORIZATION, [])
    if len(headers) > 1:
        raise InvalidRequest(f"the request has {len(headers)} Authorization headers; {RIGHT_FORM}")
    return parse_bearer(headers[0]) if headers else None


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Put the user named by the bearer token, or ``None``, on the request under ``CURRENT_USER``.

    RFC 6750 §3.1: no ``Authorization`` header is anonymous (the handler decides); another scheme or a bare
    token "lacks any authentication information": 401 ``authentication_required`` with a bare challenge; a
    malformed Bearer header, two headers or a token in the URL: 400 ``invalid_request``; a token that fails a
    check: 401 ``invalid_token``. The last two name their error code in the ``WWW-Authenticate`` challenge.
    """
    settings = request.app[SETTINGS]
    try:
        token = bearer_token(request)
        request[CURRENT_USER] = None if token is None else authenticate_token(token, settings, request.app[USERS])
    except UnsupportedScheme as problem:  # RFC 6750 §3.1: no credentials, so a bare challenge
        raise bearer_error(web.HTTPUnauthorized, "authentication_required", str(problem), settings.realm) from None
    except InvalidRequest as problem:
        raise bearer_error(web.HTTPBadRequest, "invalid_request", str(problem), settings.realm) from None
    except InvalidToken as problem:
        raise bearer_error(web.HTTPUnauthorized, "invalid_token", str(problem), settings.realm) from None
    return await handler(request)
