"""The auth middleware: find the user a bearer token stands for, before any handler runs.

It never decides whether a handler needs a user; the decorators in ``decorators.py`` do. It only answers
"who is this?" - ``None`` without credentials, a ``User`` with a valid access token - and refuses broken
credentials outright, as RFC 6750 §3.1 describes:

- a malformed ``Authorization`` header, two of them, or a token in the URL: 400 ``invalid_request``;
- a token that fails any check (signature, algorithm, expiry, issuer, audience, claims, user): 401
  ``invalid_token``.
"""

from __future__ import annotations

import functools
import re

import jwt
from aiohttp import hdrs, web
from jwt import exceptions as jwt_errors

from .errors import InvalidRequest, InvalidToken
from .keys import CURRENT_USER, SETTINGS, USERS
from .middleware import Handler
from .models import User, UserStore
from .responses import bearer_error
from .settings import Settings
from .token_cache import VERIFIED_TOKENS, VerifiedToken
from .tokens import decode_access_token

# RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token, b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" /
# "+" / "/" ) *"=". We accept exactly one space; the scheme is case-insensitive (RFC 9110 §11.1). Only the
# scheme: a case-insensitive match over the whole token is three times slower and this runs on every request.
BEARER_CREDENTIALS = re.compile(r"(?i:Bearer) ([A-Za-z0-9\-._~+/]+=*)", re.ASCII)
RIGHT_FORM = "send 'Authorization: Bearer <token>' with the token from POST /login"
#: How many well-formed headers ``parse_bearer`` remembers: about one per client active at a time.
PARSED_HEADERS = 1024


# A client sends the same header with every request, and the answer depends on the string alone: remember it
# (only returns are cached; a malformed header raises every time). See notebook 06 for what it saves.
@functools.lru_cache(maxsize=PARSED_HEADERS)
def parse_bearer(header: str) -> str:
    """The token from an ``Authorization`` header value of the form ``Bearer <token>`` (RFC 6750 §2.1).

    Raises:
        InvalidRequest: an empty header, another scheme, a bare ``Bearer``, two tokens, a separator other than
            one space, characters outside the b64token alphabet, or a raw token with no scheme. The message
            says which and shows the right form; it never repeats the token.
    """
    match = BEARER_CREDENTIALS.fullmatch(header)
    if match is not None:
        return match.group(1)
    parts = header.split()
    if not parts:
        problem = "the Authorization header is empty"
    elif len(parts) == 1 and parts[0].count(".") == 2:
        problem = "the header holds a bare token without the 'Bearer' scheme"
    elif parts[0].lower() != "bearer":
        problem = "the Authorization scheme must be Bearer"
    elif len(parts) == 1:
        problem = "the Bearer scheme came without a token"
    elif len(parts) > 2:
        problem = "the Bearer credential holds more than one token"
    elif header != f"{parts[0]} {parts[1]}":
        problem = "put exactly one space between Bearer and the token"
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


def authenticate_token(token: str, settings: Settings, users: UserStore) -> User:
    """The user an access token stands for, after every check.

    A token that passed every check before is found in ``token_cache.VERIFIED_TOKENS``: then only what can
    change since - ``exp``/``nbf``/``iat`` against the clock, and whether the user still exists - is checked
    again, and ``jwt.decode`` is skipped. Any other token gets the full verification, and is remembered only
    once it has passed all of it.

    Raises:
        InvalidToken: the token is too long, fails ``decode_access_token``, has a subject that is not a user
            id, or names a user who no longer exists.
    """
    if len(token) > settings.max_token_length:
        raise InvalidToken(f"the token is longer than {settings.max_token_length} characters")
    verified = VERIFIED_TOKENS.get(token, settings)
    hit = verified is not None
    if verified is None:
        try:
            claims = decode_access_token(token, settings)
        except jwt.InvalidTokenError as error:
            raise InvalidToken(describe_token_error(error)) from None
        subject = claims["sub"]
        # ASCII digits only ("٣".isdigit() is true), at most 19 like an int64: int() refuses > 4300 (a 500).
        if not subject.isascii() or not subject.isdigit() or len(subject) > 19:
            raise InvalidToken("the token's subject is not a user id")
        verified = VerifiedToken.from_claims(int(subject), claims, settings)
    user = users.get_by_id(verified.user_id)
    if user is None:
        VERIFIED_TOKENS.discard(token)
        raise InvalidToken("the token's user no longer exists")
    if not hit:
        VERIFIED_TOKENS.put(token, verified)
    return user


def bearer_token(request: web.Request) -> str | None:
    """The bearer token the request carries, or ``None`` when it has no ``Authorization`` header.

    Raises:
        InvalidRequest: a token in the URL (RFC 6750 §2.3 allows it, §5.3 advises against it: URLs end up in
            logs and browser history), two ``Authorization`` headers, or a malformed one (``parse_bearer``).
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

    No ``Authorization`` header: anonymous, the handler decides. A malformed header, two headers, or a token
    in the URL: 400 ``invalid_request``. A token that fails a check: 401 ``invalid_token``. Both carry a
    ``WWW-Authenticate: Bearer`` challenge with the error code (RFC 6750 §3).
    """
    settings = request.app[SETTINGS]
    try:
        token = bearer_token(request)
        request[CURRENT_USER] = None if token is None else authenticate_token(token, settings, request.app[USERS])
    except InvalidRequest as problem:
        raise bearer_error(web.HTTPBadRequest, "invalid_request", str(problem), settings.realm) from None
    except InvalidToken as problem:
        raise bearer_error(web.HTTPUnauthorized, "invalid_token", str(problem), settings.realm) from None
    return await handler(request)
