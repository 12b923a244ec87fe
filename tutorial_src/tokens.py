"""Access tokens: issue and verify JSON Web Tokens (RFC 7519) with PyJWT.

Every time is a timezone-aware UTC ``datetime``; PyJWT turns it into a NumericDate, whole seconds since
1970-01-01T00:00:00Z (RFC 7519 §2).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import jwt

from .errors import InvalidToken
from .keyset import KeySet, key_for_header
from .models import User
from .settings import Settings

#: The ``typ`` header of an access token (RFC 9068 §2.1): no other kind of JWT can pass for one.
ACCESS_TOKEN_TYPE = "at+jwt"
#: Claims every access token must carry; ``jwt.decode`` raises ``MissingRequiredClaimError`` without one.
REQUIRED_CLAIMS = ["sub", "iat", "exp", "iss", "aud", "jti"]


def create_access_token(
    user: User, settings: Settings, *, now: datetime | None = None, session_id: str | None = None
) -> str:
    """Sign an access token for ``user``, typed ``at+jwt`` in its header (RFC 9068 §2.1, RFC 8725 §3.11).

    Claims (RFC 7519 §4.1): ``sub`` (the user id as a string; PyJWT >= 2.10 rejects integers, §4.1.2),
    ``iat`` (§4.1.6), ``exp`` = ``iat`` + ``settings.access_token_ttl`` seconds (§4.1.4), ``iss`` (§4.1.1),
    ``aud`` (§4.1.3), a random ``jti`` (§4.1.7), and, when ``session_id`` is given, ``sid``: the session id claim
    that OpenID Connect Front-Channel Logout 1.0 registered (§6.1); logging out revokes every token of a session.

    Args:
        user: whom the token is for.
        settings: secret, algorithm, lifetime, issuer and audience.
        now: the issue time, timezone-aware UTC; defaults to the current time. Pass a time in the past to
            mint an already-expired token for a demonstration, without sleeping.
        session_id: the session (refresh-token family) the token belongs to (notebook 07).

    Returns:
        The compact serialisation ``header.payload.signature`` as ``str`` (PyJWT 2 no longer returns bytes).

    Raises:
        ValueError: ``now`` is a naive datetime.
    """
    issued_at = now if now is not None else datetime.now(timezone.utc)
    if issued_at.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC), e.g. datetime.now(timezone.utc)")
    claims: dict[str, Any] = {
        "sub": str(user.id),
        "iat": issued_at,
        "exp": issued_at + timedelta(seconds=settings.access_token_ttl),
        "iss": settings.issuer,
        "aud": settings.audience,
        "jti": uuid.uuid4().hex,
    }
    if session_id is not None:
        claims["sid"] = session_id
    if settings.signing_keys is not None:
        # RFC 9068 §2.1: an access token's type is "at+jwt"; the kid tells verifiers which key (RFC 7515 §4.1.4).
        key = settings.signing_keys.keys.current
        headers = {"kid": key.kid, "typ": ACCESS_TOKEN_TYPE}
        return jwt.encode(claims, key.private_key, algorithm=key.algorithm, headers=headers)
    return jwt.encode(
        claims, settings.jwt_secret, algorithm=settings.jwt_algorithm, headers={"typ": ACCESS_TOKEN_TYPE}
    )


#: RFC 9068 §4: a resource server accepts an access token only if its ``typ`` is ``at+jwt`` (or the media type).
ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})


def check_access_token_type(header: dict[str, Any]) -> None:
    """Refuse a JWT whose header does not say it is an access token (RFC 9068 §4; RFC 8725 §3.11: explicit
    typing, so that no other kind of JWT signed with the same key passes for one). The resource service of
    notebook 09 runs it on every token; why the app itself does not is in docs/design.md, "Explicit typing".

    Raises:
        InvalidToken: ``typ`` is missing, not a string, or another type (compared case-insensitively).
    """
    token_type = header.get("typ")
    if not isinstance(token_type, str) or token_type.lower() not in ACCESS_TOKEN_TYPES:
        raise InvalidToken("the token is not an access token (typ must be at+jwt)")


def decode_access_token(token: str, settings: Settings) -> dict[str, Any]:
    """Verify an access token and return its claims.

    Checks, in PyJWT: the signature with the settings' secret, the algorithm against an allow-list of one
    (RFC 8725 §3.1: never trust the header's ``alg``), the presence of every claim in ``REQUIRED_CLAIMS``,
    ``exp`` and ``nbf``/``iat`` with ``settings.leeway`` seconds of clock skew (RFC 7519 §4.1.4-4.1.6), ``iss``
    (§4.1.1) and ``aud`` (§4.1.3).

    Returns:
        The claims, e.g. ``{"sub": "1", "iat": 1700000000, "exp": 1700000900, "iss": …, "aud": …, "jti": …}``.

    With ``settings.signing_keys`` (notebook 09) ``decode_with_key_set`` verifies instead. With
    ``settings.revocations`` (the app's denylist, notebook 07) a revoked token is refused too.

    Raises:
        jwt.InvalidTokenError: or one of its subclasses (``ExpiredSignatureError``, ``InvalidSignatureError``,
            ``InvalidAudienceError``, ``MissingRequiredClaimError``…), see
            https://pyjwt.readthedocs.io/en/stable/api.html#exceptions.
        InvalidToken: the token or its session was revoked (``Revocations.check``).
        StoreUnavailable: the denylist could not be read lately; the app answers 503.
    """
    if settings.signing_keys is not None:
        claims = decode_with_key_set(token, settings, settings.signing_keys.keys)
    else:
        claims = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=settings.algorithms,
            audience=settings.audience,
            issuer=settings.issuer,
            leeway=settings.leeway,
            options={"require": REQUIRED_CLAIMS},
        )
    if settings.revocations is not None:
        settings.revocations.check(claims)
    return claims


def decode_with_key_set(token: str, settings: Settings, keys: KeySet) -> dict[str, Any]:
    """Verify an access token signed with one of the published ``keys`` and return its claims.

    The key is the one the header's ``kid`` names, with that key's own algorithm (``keyset.key_for_header``,
    RFC 8725 §3.1 and §3.10); the claims are checked as in ``decode_access_token``.

    Raises:
        InvalidToken: the header names no published key, or another algorithm than the key's.
        jwt.InvalidTokenError: as ``decode_access_token``.
    """
    key = key_for_header(jwt.get_unverified_header(token), keys.verification_keys)
    if key is None:
        raise InvalidToken("the token's key (kid) is not one this issuer publishes")
    return jwt.decode(
        token,
        key,
        algorithms=[key.algorithm_name],
        audience=settings.audience,
        issuer=settings.issuer,
        leeway=settings.leeway,
        options={"require": REQUIRED_CLAIMS},
    )
