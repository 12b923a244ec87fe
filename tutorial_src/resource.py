"""A resource service of its own: it checks the issuer's tokens with the issuer's published keys, and holds none.

It fetches the issuer's JWK Set with aiohttp (never PyJWT's ``PyJWKClient``, whose ``urllib`` call would
stall the event loop for the whole fetch, jpadilla/pyjwt#1120), parses it with ``jwt.PyJWKSet`` and keeps it
for the ``max-age`` the issuer announces. A token naming an unknown ``kid`` makes it fetch again, at most once
per ``refetch_cooldown``, so a stream of made-up kids cannot turn it against the issuer. When the issuer is
down, the cached keys keep working; with no keys at all it answers 503.

Errors are the app's: 400 ``invalid_request`` / 401 ``invalid_token`` with their RFC 6750 §3 challenge, built
by ``responses.bearer_error`` from a malformed header (``auth.bearer_token``) or a refused token.

``python -m tutorial_src.resource --issuer http://127.0.0.1:8080 [--port 8081]`` serves it standalone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt
from aiohttp import hdrs, web

from .auth import bearer_token, describe_token_error
from .errors import InvalidRequest, InvalidToken, KeysUnavailable, UnsupportedScheme
from .keyset import ASYMMETRIC_ALGORITHMS, key_for_header
from .middleware import Handler, error_middleware
from .responses import bearer_error, json_error
from .token_cache import TokenCache, VerifiedToken, cached_token
from .tokens import REQUIRED_CLAIMS, check_access_token_type
from .wellknown import JWKS_PATH

logger = logging.getLogger(__name__)

#: The largest JWK Set read, in bytes: a few keys take about 1 KiB; RSA keys about 0.5 KiB each.
MAX_JWKS_BYTES = 64 * 1024
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d{1,9})\s*(?:,|$)", re.IGNORECASE)


@dataclass(frozen=True)
class ResourceSettings:
    """What the resource service needs: where the keys are, whom to trust, and how long to keep the keys.

    Attributes:
        jwks_uri: the issuer's JWK Set URL (``jwks_uri`` of its discovery document).
        issuer: the ``iss`` every token must carry (RFC 7519 §4.1.1).
        audience: the ``aud`` every token must name (§4.1.3).
        leeway: clock skew tolerated on ``exp``, ``nbf`` and ``iat``, in seconds.
        realm: the realm of the ``WWW-Authenticate`` challenges (RFC 6750 §3).
        max_token_length: longest bearer token looked at, in characters; longer ones get 401.
        jwks_max_age: how long a fetched set is fresh when the answer says no ``Cache-Control: max-age``.
        refetch_cooldown: the least time between two fetches, in seconds, whatever tokens come.
        fetch_timeout: the longest a fetch may take, in seconds; then the cached keys (if any) serve on.
        algorithms: the only algorithms a published key may have; a key with another one is ignored.
    """

    jwks_uri: str
    issuer: str
    audience: str = "jwt-tutorial-api"
    leeway: int = 10
    realm: str = "jwt-tutorial"
    max_token_length: int = 4096
    jwks_max_age: float = 300.0
    refetch_cooldown: float = 10.0
    fetch_timeout: float = 5.0
    algorithms: tuple[str, ...] = ASYMMETRIC_ALGORITHMS


def should_refetch(kid_known: bool, stale: bool, now: float, last_fetch: float | None, cooldown: float) -> bool:
    """Whether to fetch the key set now: the kid is unknown or the set is stale, and the cooldown has passed.

    ``now`` and ``last_fetch`` (the start of the last attempt, ``None`` before the first) are monotonic seconds.
    A known kid in a fresh set never fetches; within ``cooldown`` of the last attempt nothing fetches, so
    tokens with made-up kids cost the issuer one request per cooldown at most.
    """
    if kid_known and not stale:
        return False
    return last_fetch is None or now - last_fetch >= cooldown


def usable_keys(document: Any, algorithms: tuple[str, ...]) -> dict[str, jwt.PyJWK]:
    """The signing keys of a JWK Set document by ``kid``: those with a ``kid``, for signatures, with an allowed
    algorithm. ``jwt.PyJWKSet`` parses; keys it cannot use are skipped, as RFC 7517 §5 asks.

    Raises:
        jwt.PyJWKSetError: the document is not a JWK Set with at least one usable key.
    """
    if not isinstance(document, dict):
        raise jwt.PyJWKSetError("the JWK Set is not a JSON object")
    keys = {}
    for key in jwt.PyJWKSet.from_dict(document).keys:
        if (
            isinstance(key.key_id, str)
            and key.public_key_use in (None, "sig")
            and key.algorithm_name in algorithms
        ):
            keys[key.key_id] = key
    if not keys:
        raise jwt.PyJWKSetError(f"the JWK Set has no signing key with a kid for {', '.join(algorithms)}")
    return keys


def max_age(cache_control: str | None, default: float) -> float:
    """The ``max-age`` of a ``Cache-Control`` value (RFC 9111 §5.2.2.1), else ``default``."""
    match = _MAX_AGE.search(cache_control or "")
    return float(match.group(1)) if match else default


class JWKSCache:
    """The issuer's published keys as this service last fetched them, refreshed without blocking the loop.

    Args:
        settings: the URL, lifetimes and allowed algorithms.
        on_keys_removed: called when a fetch no longer lists a key the cache had (the service forgets the
            tokens it verified, so an unpublished key stops working at once).
        clock: monotonic seconds; tests pass a fake one.

    Attributes:
        fetches: how many fetches were attempted; ``failures``: how many of them failed.
    """

    def __init__(
        self,
        settings: ResourceSettings,
        *,
        on_keys_removed: Callable[[], object] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.on_keys_removed = on_keys_removed
        self.clock = clock
        self.keys: dict[str, jwt.PyJWK] = {}
        self.fresh_until = float("-inf")
        self.last_fetch: float | None = None
        self.fetches = 0
        self.failures = 0
        self.session: aiohttp.ClientSession | None = None
        self._lock = asyncio.Lock()

    async def key_for(self, header: Mapping[str, Any]) -> jwt.PyJWK:
        """The published key a token's header names, with its algorithm pinned (``keyset.key_for_header``).

        Raises:
            InvalidToken: no kid, the wrong algorithm, or a kid the issuer does not publish even after a fetch.
            KeysUnavailable: no key was ever fetched and the issuer does not answer.
        """
        key = key_for_header(header, self.keys)
        stale = self.clock() >= self.fresh_until
        if should_refetch(key is not None, stale, self.clock(), self.last_fetch, self.settings.refetch_cooldown):
            await self.refresh()
            key = key_for_header(header, self.keys)
        elif key is None and self._lock.locked():
            # Another request's fetch is under way (the first requests after a start, or a new key): its
            # result may hold this kid, so wait for it rather than refuse.
            async with self._lock:
                pass
            key = key_for_header(header, self.keys)
        if key is not None:
            return key
        if not self.keys:
            raise KeysUnavailable("the issuer's keys could not be fetched; try again shortly")
        raise InvalidToken("the token's key (kid) is not one the issuer publishes")

    async def refresh(self) -> None:
        """Fetch the key set, unless another request has just done it; on failure keep the old keys."""
        async with self._lock:
            # A request that waited for another's fetch uses its result instead of fetching again.
            if self.last_fetch is not None and self.clock() - self.last_fetch < self.settings.refetch_cooldown:
                return
            self.last_fetch = self.clock()
            self.fetches += 1
            try:
                keys, lifetime = await self._fetch()
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, jwt.PyJWKSetError) as error:
                self.failures += 1
                uri, why, kept = self.settings.jwks_uri, type(error).__name__, len(self.keys)
                logger.warning("JWKS fetch from %s failed (%s); keeping %d cached key(s)", uri, why, kept)
                return
            if self.keys.keys() - keys.keys():
                self.on_keys_removed()
            self.keys = keys
            self.fresh_until = self.last_fetch + lifetime

    async def _fetch(self) -> tuple[dict[str, jwt.PyJWK], float]:
        if self.session is None:
            raise aiohttp.ClientConnectionError("the service is not running (no client session)")
        timeout = aiohttp.ClientTimeout(total=self.settings.fetch_timeout)
        # RFC 8725 §3.10: the one URL this service was configured with, no redirects to elsewhere.
        async with self.session.get(self.settings.jwks_uri, timeout=timeout, allow_redirects=False) as response:
            if response.status != 200:
                raise aiohttp.ClientResponseError(response.request_info, (), status=response.status)
            body = bytearray()
            async for chunk in response.content.iter_chunked(8192):
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    raise ValueError(f"the JWK Set is larger than {MAX_JWKS_BYTES} bytes")
            document = json.loads(body)
            keys = usable_keys(document, self.settings.algorithms)
            return keys, max_age(response.headers.get(hdrs.CACHE_CONTROL), self.settings.jwks_max_age)

    async def start(self) -> None:
        """Open the HTTP client session (inside the running event loop)."""
        self.session = aiohttp.ClientSession()

    async def close(self) -> None:
        """Close the HTTP client session."""
        if self.session is not None:
            await self.session.close()
            self.session = None


RESOURCE_SETTINGS = web.AppKey("resource_settings", ResourceSettings)
JWKS = web.AppKey("jwks", JWKSCache)
VERIFIED = web.AppKey("verified_tokens", TokenCache)
#: The subject (user id) of the request's verified token, or ``None`` without one.
SUBJECT = web.RequestKey[int | None]("subject")


def verified_subject(token: str, app: web.Application) -> int | None:
    """The user id of a token this service verified before and whose times still hold, else ``None``."""
    settings = app[RESOURCE_SETTINGS]
    if len(token) > settings.max_token_length:
        raise InvalidToken(f"the token is longer than {settings.max_token_length} characters")
    # TokenCache only compares the settings an entry was verified under (is, ==): ResourceSettings serve as well.
    verified = app[VERIFIED].get(token, settings)  # type: ignore[arg-type]
    return None if verified is None else verified.user_id


async def verify_token(token: str, app: web.Application) -> int:
    """The user id of a token the issuer signed for this service, after every check.

    Checks: ``typ`` (RFC 9068 §4), the key by ``kid`` with its algorithm (``JWKSCache.key_for``), then in PyJWT
    the signature, ``iss``, ``aud``, ``exp``/``nbf``/``iat`` and the required claims. A verified token is
    remembered (``token_cache``) so that ``verified_subject`` finds it next time without a signature check.

    Raises:
        InvalidToken: any check fails.
        KeysUnavailable: no keys and no issuer.
    """
    settings = app[RESOURCE_SETTINGS]
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as error:
        raise InvalidToken(describe_token_error(error)) from None
    check_access_token_type(header)
    key = await app[JWKS].key_for(header)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[key.algorithm_name],
            audience=settings.audience,
            issuer=settings.issuer,
            leeway=settings.leeway,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.InvalidTokenError as error:
        raise InvalidToken(describe_token_error(error)) from None
    subject = claims["sub"]
    if not subject.isascii() or not subject.isdigit() or len(subject) > 19:
        raise InvalidToken("the token's subject is not a user id")
    # As above: the entry keeps the ResourceSettings it was verified under, to compare them on a hit.
    verified = VerifiedToken.from_claims(int(subject), claims, settings)  # type: ignore[arg-type]
    app[VERIFIED].put(token, verified)
    return verified.user_id


@web.middleware
async def resource_auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Put the token's subject (or ``None`` without a token) on the request under ``SUBJECT``.

    400 ``invalid_request`` and 401 ``invalid_token`` as in the app (RFC 6750 §3.1); 503
    ``temporarily_unavailable`` with ``Retry-After`` when no key could ever be fetched.
    """
    settings = request.app[RESOURCE_SETTINGS]
    try:
        # A client repeats its header: the cache's remembered parser hands back the same token object, whose
        # hash is cached (notebook 06); anything it does not take goes to the plain rules of bearer_token.
        token = cached_token(request, request.app[VERIFIED]) or bearer_token(request)
        subject = None if token is None else verified_subject(token, request.app)
        # Only a token not verified before costs a coroutine (and maybe a fetch): most requests are hits.
        if subject is None and token is not None:
            subject = await verify_token(token, request.app)
        request[SUBJECT] = subject
    except UnsupportedScheme as problem:  # RFC 6750 §3.1: no credentials, so a bare challenge
        raise bearer_error(web.HTTPUnauthorized, "authentication_required", str(problem), settings.realm) from None
    except InvalidRequest as problem:
        raise bearer_error(web.HTTPBadRequest, "invalid_request", str(problem), settings.realm) from None
    except InvalidToken as problem:
        raise bearer_error(web.HTTPUnauthorized, "invalid_token", str(problem), settings.realm) from None
    except KeysUnavailable as problem:
        retry = {"Retry-After": str(max(1, round(settings.refetch_cooldown)))}
        raise json_error(
            web.HTTPServiceUnavailable, "temporarily_unavailable", str(problem), headers=retry
        ) from None
    return await handler(request)


async def public(request: web.Request) -> web.Response:
    """``GET /``, public: ``{"service": "resource", "subject": int | None}``."""
    return web.json_response({"service": "resource", "subject": request[SUBJECT]})


async def protected(request: web.Request) -> web.Response:
    """``GET /resource``: ``{"subject": int, "message": str}``, with a valid token only."""
    subject = request[SUBJECT]
    if subject is None:
        message = "this route needs an access token from the issuer: 'Authorization: Bearer <token>'"
        raise bearer_error(
            web.HTTPUnauthorized, "authentication_required", message, request.app[RESOURCE_SETTINGS].realm
        )
    return web.json_response({"subject": subject, "message": f"resource for user {subject}"})


def create_resource_app(settings: ResourceSettings) -> web.Application:
    """The resource service: ``GET /`` (public) and ``GET /resource`` (token required); no signing key."""
    app = web.Application(
        middlewares=[error_middleware, resource_auth_middleware],
        handler_args={"max_field_size": 2 * settings.max_token_length + 1024},
    )
    app[RESOURCE_SETTINGS] = settings
    app[VERIFIED] = TokenCache()
    app[JWKS] = JWKSCache(settings, on_keys_removed=app[VERIFIED].clear)
    app.cleanup_ctx.append(_jwks_session)
    app.router.add_get("/", public)
    app.router.add_get("/resource", protected)
    return app


async def _jwks_session(app: web.Application) -> AsyncIterator[None]:
    await app[JWKS].start()
    yield
    await app[JWKS].close()


def main(argv: list[str] | None = None) -> None:
    """``python -m tutorial_src.resource --issuer URL [--host 127.0.0.1] [--port 8081]``."""
    parser = argparse.ArgumentParser(prog="python -m tutorial_src.resource", description=__doc__.splitlines()[0])
    parser.add_argument("--issuer", required=True, help="the issuer's URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--jwks-uri", help=f"default: the issuer's URL + {JWKS_PATH}")
    parser.add_argument("--audience", default=ResourceSettings.audience)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    jwks_uri = args.jwks_uri or args.issuer.rstrip("/") + JWKS_PATH
    settings = ResourceSettings(jwks_uri=jwks_uri, issuer=args.issuer, audience=args.audience)
    print(
        f"Resource service on http://{args.host}:{args.port}, keys from {jwks_uri}  (Ctrl+C to stop)", flush=True
    )
    web.run_app(create_resource_app(settings), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main(sys.argv[1:])
