"""Revocation that is cheap and shared: the in-process denylist every request checks, and the poll that fills it.

A JWT access token stays valid until its ``exp`` unless the server remembers that it was revoked. What it
remembers, here in memory: revoked (``iss``, ``jti``) pairs until their ``exp`` (OWASP JWT Cheat Sheet, "Token
explicit revocation by the user"), and revoked sessions (the ``sid`` claim) until the last access token of theirs
has expired. Checking a set costs nanoseconds; a database or Redis round trip per request costs more than the
whole JWT check. The process that revokes updates its ``Revocations`` at once; every other process sharing the
database reads the revocations within ``Settings.revocation_poll`` seconds (``poll``). If it cannot
read them for ``Settings.revocation_max_delay`` seconds, it stops accepting access tokens (503) rather than
accept a revoked one. The design, and the maximum revocation delay: docs/design.md, "Sessions that end".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any

from .errors import InvalidToken, StoreUnavailable

if TYPE_CHECKING:  # both import this module
    from aiohttp import web

    from .settings import Settings
    from .store import Store

logger = logging.getLogger(__name__)

#: How long a revoked session stays on the denylist unless the app says otherwise: its access tokens, issued
#: before the revocation, are expired by then (``store_lifetime`` sets ``access_token_ttl`` + ``leeway``).
DEFAULT_KEEP_SESSIONS_FOR = 3600.0


class Revocations:
    """The in-process denylist: revoked access tokens by (``iss``, ``jti``) and revoked sessions by ``sid``.

    Args:
        max_delay: how long after the start of the last read of the database that worked (``confirmed``)
            ``check`` goes on accepting tokens once reading fails or hangs, before it refuses every one with
            ``StoreUnavailable``; ``math.inf`` for a store no other process shares (the memory store).
        clock: a monotonic clock for ``max_delay``; tests pass a fake one.
    """

    def __init__(self, max_delay: float = math.inf, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_delay = max_delay
        self.clock = clock
        #: (iss, jti) -> exp, seconds since the epoch (UTC).
        self.tokens: dict[tuple[str, str], float] = {}
        #: sid -> when the entry may go, seconds since the epoch (UTC).
        self.sessions: dict[str, float] = {}
        #: How long a revoked session stays listed, in seconds.
        self.keep_sessions_for = DEFAULT_KEEP_SESSIONS_FOR
        #: When (``clock``) the last complete read of the database started.
        self.read_at = clock()
        #: Whether the last read failed, or none worked for ``max_delay`` seconds.
        self.failing = False
        self._listeners: list[Callable[[], None]] = []
        self._stale_timer: asyncio.TimerHandle | None = None

    def check(self, claims: Mapping[str, Any]) -> None:
        """Refuse verified claims whose token or session was revoked.

        Raises:
            StoreUnavailable: the database has not answered for ``max_delay`` seconds (``stale``).
            InvalidToken: the (``iss``, ``jti``) pair or the ``sid`` is revoked.
        """
        if self.failing and self.stale():
            raise StoreUnavailable("the revocation list could not be read lately; try again in a moment")
        # Empty sets first: the common case costs two truth tests.
        if self.tokens and (claims["iss"], claims["jti"]) in self.tokens:
            raise InvalidToken("the token has been revoked")
        if self.sessions and claims.get("sid") in self.sessions:
            raise InvalidToken("the token's session has ended (logout, or a refresh token replayed)")

    def revoke_token(self, issuer: str, jti: str, expires_at: float) -> None:
        """Deny (``issuer``, ``jti``) until ``expires_at``."""
        self.tokens[issuer, jti] = expires_at
        self._changed()

    def revoke_session(self, session_id: str, revoked_at: float) -> None:
        """Deny every access token whose ``sid`` is ``session_id``, for ``keep_sessions_for`` seconds."""
        self.sessions[session_id] = revoked_at + self.keep_sessions_for
        self._changed()

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` whenever an entry is added or the denylist goes stale (a token cache clears)."""
        self._listeners.append(listener)

    def stale(self) -> bool:
        """Whether the last read that worked started more than ``max_delay`` seconds ago."""
        return self.clock() - self.read_at > self.max_delay

    def confirmed(self, at: float) -> None:
        """The database was read completely, by a query started at ``at`` (``clock``).

        A timer of the running loop fires ``max_delay`` seconds later unless another read is confirmed first: it
        covers a read that hangs, where no error ever comes. A plain timer, not ``asyncio.wait_for`` around the
        read: on Python 3.10-3.11 ``wait_for`` may swallow a cancellation, and the app's poll would never stop.
        """
        self.read_at = at
        self.failing = False
        self.stop()
        delay = max(0.0, at + self.max_delay - self.clock())
        self._stale_timer = asyncio.get_running_loop().call_later(delay, self._went_stale)

    def failed(self) -> None:
        """Reading the database failed: ``check`` refuses tokens once the last read that worked is ``stale``."""
        self.failing = True

    def stop(self) -> None:
        """Cancel the staleness timer (the app is stopping)."""
        if self._stale_timer is not None:
            self._stale_timer.cancel()
            self._stale_timer = None

    def prune(self, now: float) -> None:
        """Forget entries past their time (``now``: seconds since the epoch)."""
        self.tokens = {key: until for key, until in self.tokens.items() if until > now}
        self.sessions = {key: until for key, until in self.sessions.items() if until > now}

    def _went_stale(self) -> None:
        # Tell the listeners, so that a token cache stops answering for the check.
        self._stale_timer = None
        self.failing = True
        logger.warning(
            "revocations not read for %.1f s: access tokens get 503 until the database answers", self.max_delay
        )
        self._changed()

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()


def store_lifetime(store: Store, settings: Settings) -> Callable[[web.Application], AsyncIterator[None]]:
    """The app's ``cleanup_ctx`` for ``store``: open it, poll it every ``revocation_poll`` seconds, close it.

    The poll task belongs to the app: it starts with the app and is cancelled and awaited at its cleanup. A store
    no other process shares (``max_delay`` infinite) needs no poll.
    """

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        revocations = store.revocations
        # A revoked session's access tokens were all issued before the revocation: gone after one lifetime.
        revocations.keep_sessions_for = settings.access_token_ttl + settings.leeway
        await store.open()
        task = None
        if math.isfinite(revocations.max_delay):
            task = asyncio.create_task(poll(store, settings.revocation_poll))
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            revocations.stop()
            await store.close()

    return lifetime


async def poll(store: Store, interval: float) -> None:
    """Read what other processes revoked, every ``interval`` seconds, until cancelled.

    A read that fails is logged once per outage; ``max_delay`` seconds after the last read that worked (or
    while one hangs) the app answers 503 to every token until a read works again.
    """
    revocations = store.revocations
    while True:
        started = revocations.clock()
        try:
            await store.sync()
        except StoreUnavailable as error:
            if not revocations.failing:
                logger.warning("cannot read the revocations: %s", error)
            revocations.failed()
        else:
            if revocations.failing:
                logger.info("revocations read again")
            revocations.confirmed(started)
            revocations.prune(time.time())
        await asyncio.sleep(interval)
