"""A bounded cache of verified access tokens, so a client sending the same token again skips ``jwt.decode``.

One ``jwt.decode`` of an HS256 token costs tens of microseconds, most of it PyJWT's generic machinery around
a 1–2 µs HMAC. A client usually sends the same token for its whole lifetime (15 min by default), so the
server can remember "this exact token passed every check" and, on the next request, redo only the checks
whose answer can change with time or with the user store:

- the signature, algorithm, issuer, audience and required claims depend only on the token and the settings:
  the key is the exact token and the entry holds the settings it passed under, so a hit means they passed
  for exactly this token under these settings;
- ``exp``, ``nbf`` and ``iat`` depend on the clock: ``TokenCache.get`` re-checks them on every hit, with the
  same comparisons and leeway as PyJWT (``jwt/api_jwt.py``, ``_validate_exp`` …), and drops the entry when one
  fails - the caller then runs the full verification, which refuses with PyJWT's own error;
- the user may have been deleted: the caller looks the user up on every hit (``auth.authenticate_token``).

Only a token that passed *every* check is stored (``put`` is called last), so a refused token is never
remembered as good. The cache is bounded (least recently used entries go first) and its writes take a lock,
so threads (a notebook's background server) can share it; each gunicorn worker process has its own.

Why the token alone is the key, and not a tuple of the token and the settings: a string caches its hash, and
``auth.parse_bearer`` hands back the same string object for a header it remembers, so a lookup costs one
identity comparison; a tuple's hash is computed anew on every lookup. The settings are compared on a hit
instead, by identity first (the app passes the same ``Settings`` object every time).

Why not ``functools.lru_cache``: it stores whatever the function returns, and can neither re-check an entry
on a hit nor drop a single entry, and the rule here is "store only after the user check, re-check on a hit".
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .settings import Settings

#: How many verified tokens the app's cache holds: about one per client active within a token's lifetime.
DEFAULT_MAXSIZE = 1024


#: Whole seconds up to 2**53 (285 million years) are exact as floats.
FLOAT_EXACT_SECONDS = 2**53


def seconds(numeric_date: Any) -> float:
    """A time claim as PyJWT reads it (``int(numeric_date)``), as a float clamped to ±``FLOAT_EXACT_SECONDS``.

    A float because the clock (``time.time``) gives one, and CPython compares a float with a float several times
    faster than with an int of this size. Clamped because ``float()`` of a huge int overflows, and PyJWT accepts
    ``"exp": 10**400``: beyond ±2**53 s a time compares with today's clock exactly as the clamped one does.
    """
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

    ``from_claims`` stores the times as floats (``seconds``), like the clock: ``get`` compares them on every hit.
    The entry keeps the ``Settings`` object itself, not a copy of its fields: ``Settings`` is a frozen dataclass,
    and the verdict holds only as long as it stays unchanged.
    """

    user_id: int
    settings: Settings
    not_before: float
    expires_at: float

    @classmethod
    def from_claims(cls, user_id: int, claims: dict[str, Any], settings: Settings) -> VerifiedToken:
        """From the claims ``jwt.decode`` returned under ``settings``. PyJWT checked that ``int()`` reads each
        time, not that it is an integer: a float, a numeric string or a bool pass too, and ``int()`` here gives
        what PyJWT compared."""
        not_before = seconds(claims["iat"])
        if claims.get("nbf") is not None:
            not_before = max(not_before, seconds(claims["nbf"]))
        return cls(user_id, settings, not_before, seconds(claims["exp"]))

    def times_hold(self, now: float) -> bool:
        """Whether ``iat``, ``nbf`` and ``exp`` still pass at ``now`` (seconds since the epoch), with the leeway
        of ``settings``.

        The same comparisons as PyJWT (``jwt/api_jwt.py``): ``iat`` and ``nbf`` may lie at most ``leeway``
        seconds in the future; the token is expired once ``exp <= now - leeway`` (RFC 7519 §4.1.4–4.1.6).
        """
        leeway = self.settings.leeway
        return self.not_before <= now + leeway and self.expires_at > now - leeway


class TokenCache:
    """A thread-safe, bounded map from the exact token to its ``VerifiedToken``, least recently used out first.

    Args:
        maxsize: the most entries kept; ``0`` disables the cache (``put`` stores nothing).
        clock: seconds since the epoch (UTC), ``time.time`` by default; tests pass a fake clock.

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


#: The cache ``auth.authenticate_token`` uses, shared by every app of this process (each entry holds the
#: settings it was verified under). Apps whose settings differ in any field, even the realm, share no verdict:
#: a token used on both is verified in full each time it changes app. ``VERIFIED_TOKENS.maxsize = 0`` turns
#: it off, as ``make bench BENCH_ARGS=--no-cache`` does.
VERIFIED_TOKENS = TokenCache()
