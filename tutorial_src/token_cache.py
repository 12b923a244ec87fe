"""The token-cache layer of notebook 06: a token the app verified before skips ``jwt.decode``.

``TokenCache`` remembers verdicts (and parsed headers); ``with_token_cache`` puts it in front of the auth
middleware; the app builder gives each app its own (``add_token_cache``). Why it is built this way:
docs/design.md, "The token cache".
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from aiohttp import hdrs, web
from aiohttp.typedefs import Middleware

from .auth import parse_bearer, user_id
from .errors import InvalidToken
from .keys import CURRENT_USER, SETTINGS, TOKEN_CACHE, USERS
from .middleware import Handler
from .settings import Settings
from .tokens import decode_access_token

#: How many verified tokens the app's cache holds: about one per client active within a token's lifetime.
DEFAULT_MAXSIZE = 1024
#: How many well-formed ``Authorization`` headers the app remembers: about one per client active at a time.
PARSED_HEADERS = 1024


#: Whole seconds up to 2**53 (285 million years) are exact as floats.
FLOAT_EXACT_SECONDS = 2**53


def seconds(numeric_date: Any) -> float:
    """A time claim as PyJWT reads it (``int(numeric_date)``), as a float clamped to ±``FLOAT_EXACT_SECONDS``."""
    # A float like the clock's (float-float comparisons are the fast ones); clamped because float(10**400)
    # overflows, and beyond ±2**53 s a time compares with today's clock exactly as the clamped one does.
    return float(max(-FLOAT_EXACT_SECONDS, min(int(numeric_date), FLOAT_EXACT_SECONDS)))


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """What the server keeps of a token that passed every check: the user id, the settings and two times.

    Attributes:
        user_id: the ``sub`` claim as an integer user id.
        settings: the ``Settings`` the token passed under: a hit needs the same ones (secret, algorithm,
            issuer, audience, leeway and the rest), so a verdict reached under other settings is never reused.
        not_before: the later of ``iat`` and ``nbf``, in seconds since the epoch (UTC): both may lie at most
            ``leeway`` seconds in the future, so the later one decides.
        expires_at: ``exp``, in seconds since the epoch (UTC).

    """

    user_id: int
    settings: Settings
    not_before: float
    expires_at: float

    @classmethod
    def from_claims(cls, user_id: int, claims: dict[str, Any], settings: Settings) -> VerifiedToken:
        """From the claims ``jwt.decode`` returned under ``settings``."""
        # PyJWT checked that int() reads each time, not that it is an int: seconds() compares what PyJWT compared.
        not_before = seconds(claims["iat"])
        if claims.get("nbf") is not None:
            not_before = max(not_before, seconds(claims["nbf"]))
        return cls(user_id, settings, not_before, seconds(claims["exp"]))

    def times_hold(self, now: float) -> bool:
        """Whether ``iat``, ``nbf`` and ``exp`` still pass at ``now`` (seconds since the epoch), with the leeway
        of ``settings``.

        The same comparisons as PyJWT (``jwt/api_jwt.py``): ``iat`` and ``nbf`` may lie at most ``leeway``
        seconds in the future; the token is expired once ``exp <= now - leeway`` (RFC 7519 §4.1.4-4.1.6).
        """
        leeway = self.settings.leeway
        return self.not_before <= now + leeway and self.expires_at > now - leeway


class TokenCache:
    """A thread-safe, bounded map from the exact token to its ``VerifiedToken``, least recently used out first.

    Args:
        maxsize: the most entries kept; ``0`` disables the cache (``put`` stores nothing).
        clock: seconds since the epoch (UTC), ``time.time`` by default; tests pass a fake clock.

    ``parse_bearer`` is ``auth.parse_bearer`` remembering the last ``PARSED_HEADERS`` well-formed headers.

    Raises:
        ValueError: ``maxsize`` is negative.
    """

    def __init__(self, maxsize: int = DEFAULT_MAXSIZE, clock: Callable[[], float] = time.time) -> None:
        if maxsize < 0:
            raise ValueError("maxsize must be zero (disabled) or a positive number of entries")
        self.maxsize = maxsize
        self.clock = clock
        self._entries: OrderedDict[str, VerifiedToken] = OrderedDict()
        self._lock = threading.Lock()
        # A client repeats its header; remembering it returns the same token object, whose hash is cached.
        self.parse_bearer = functools.lru_cache(maxsize=PARSED_HEADERS)(parse_bearer)

    def get(self, token: str, settings: Settings) -> VerifiedToken | None:
        """The entry for ``token`` if it passed under ``settings`` and its times still hold now; else ``None``.

        An entry whose times fail is removed, so the caller's full verification decides (and refuses). An entry
        verified under other settings stays: it is no hit, and the caller's ``put`` replaces it if the token
        passes under these.
        """
        # No lock on this, the hot path: each dict operation is atomic in CPython, and an entry another thread
        # evicts meanwhile was still a valid verdict when read. Writes (put, eviction) take the lock.
        entry = self._entries.get(token)
        # `is` first: the app passes the same Settings object on every request; `==` compares every field.
        if entry is None or (entry.settings is not settings and entry.settings != settings):
            return None
        if not entry.times_hold(self.clock()):
            self.discard(token)
            return None
        try:  # noqa: SIM105 - every cache hit runs this; a try is cheaper than contextlib.suppress
            self._entries.move_to_end(token)
        except KeyError:  # evicted by another thread since the get above
            pass
        return entry

    def put(self, token: str, entry: VerifiedToken) -> None:
        """Remember a token that passed every check, evicting the least recently used beyond ``maxsize``."""
        with self._lock:
            self._entries[token] = entry
            self._entries.move_to_end(token)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)

    def discard(self, token: str) -> None:
        """Forget ``token`` if it is there (its user was deleted, say)."""
        with self._lock:
            self._entries.pop(token, None)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, token: str) -> bool:
        return token in self._entries


def cached_token(request: web.Request, cache: TokenCache) -> str | None:
    """The token of the request's one well-formed Bearer header; ``None`` for what the plain middleware judges."""
    headers = request.headers.getall(hdrs.AUTHORIZATION, [])
    if len(headers) != 1 or "access_token" in request.query:
        return None
    try:
        return cache.parse_bearer(headers[0])
    except ValueError:  # InvalidRequest, UnsupportedScheme: the plain middleware refuses and says why
        return None


def remember(cache: TokenCache, token: str, settings: Settings) -> None:
    """Verify ``token`` in full and remember the verdict; a token refused meanwhile is not remembered."""
    try:
        claims = decode_access_token(token, settings)
        cache.put(token, VerifiedToken.from_claims(user_id(claims), claims, settings))
    except (jwt.InvalidTokenError, InvalidToken):
        pass


def with_token_cache(auth_middleware: Middleware) -> Middleware:
    """``auth_middleware`` behind the app's ``TOKEN_CACHE``: a hit skips it, anything else goes through it."""

    @web.middleware
    async def cached_auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        cache, settings = request.app[TOKEN_CACHE], request.app[SETTINGS]
        token = cached_token(request, cache)
        verified = None if token is None else cache.get(token, settings)
        user = None if verified is None else request.app[USERS].get_by_id(verified.user_id)
        if user is not None:  # a hit: every check passed before, the times and the user still hold
            request[CURRENT_USER] = user
            return await handler(request)
        if token is not None and verified is not None:  # its user is gone; the plain middleware refuses it
            cache.discard(token)

        async def remember_then_handle(request: web.Request) -> web.StreamResponse:
            # Here the plain middleware has accepted the request; a token it accepted is worth remembering.
            if token is not None and request.get(CURRENT_USER) is not None:
                remember(cache, token, settings)
            return await handler(request)

        return await auth_middleware(request, remember_then_handle)

    return cached_auth_middleware


def add_token_cache(app: web.Application, auth_middleware: Middleware) -> Middleware:
    """Give ``app`` a token cache of its own (``app[TOKEN_CACHE]``); ``auth_middleware`` behind it, to install."""
    app[TOKEN_CACHE] = TokenCache()
    return with_token_cache(auth_middleware)
