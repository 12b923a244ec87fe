"""Limits on login work: failed attempts per key in a sliding window, and how many logins hash at once.

``AttemptLimiter`` is the interface the login route uses; ``MemoryAttemptLimiter`` keeps the attempts in this
process (each gunicorn worker has its own). A store shared by several processes (Redis sorted sets, say)
implements the same two coroutines. ``LoginGate`` bounds the argon2 work: a few logins hash at a time, a few
more wait, and one more is turned away. Why these shapes: docs/design.md, "The server under abuse".
"""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Mapping
from typing import Protocol, cast

from .errors import TutorialError


class TooManyAttempts(TutorialError):
    """A key is at its limit of attempts in the window; ``retry_after`` says in how many seconds one frees."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many attempts; retry in {retry_after:.0f} s")
        self.retry_after = retry_after

    @property
    def retry_after_header(self) -> str:
        """The ``Retry-After`` value: whole seconds, rounded up, at least 1 (RFC 9110 §10.2.3)."""
        return str(max(1, math.ceil(self.retry_after)))


class LoginQueueFull(TutorialError):
    """Every hashing slot is busy and the queue of waiting logins is full."""


class AttemptLimiter(Protocol):
    """Counts attempts per key in a sliding window; a store shared by several processes can implement it."""

    async def begin(self, limits: Mapping[str, int]) -> Hashable:
        """Count one attempt under every key of ``limits`` (key -> attempts allowed per window); a ticket.

        Raises:
            TooManyAttempts: a key already holds its limit; then nothing is counted.
        """
        ...

    async def forgive(self, ticket: Hashable) -> None:
        """Uncount the attempt of ``ticket`` (it succeeded, or never ran)."""
        ...


# The keys an attempt was counted under, and the attempt: (time, number).
_Ticket = tuple[tuple[str, ...], tuple[float, int]]


class MemoryAttemptLimiter:
    """``AttemptLimiter`` in this process's memory: per key, the times of the attempts of the last window.

    Args:
        window: the window, in seconds.
        clock: seconds, ``time.monotonic`` by default; tests pass a fake clock.

    Memory is bounded by the attempts of one window: keys are kept in the order of their last attempt, and
    those whose last attempt left the window are dropped whenever an attempt is counted.
    """

    def __init__(self, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self.clock = clock
        # Per key, (time, attempt number) oldest first; the number tells apart two attempts of the same instant.
        self._attempts: OrderedDict[str, deque[tuple[float, int]]] = OrderedDict()
        self._numbers = itertools.count()

    async def begin(self, limits: Mapping[str, int]) -> _Ticket:
        now = self.clock()
        self._drop_keys_before(now - self.window)
        waits = []
        for key, allowed in limits.items():
            times = self._attempts.get(key)
            if times is None:
                continue
            while times and times[0][0] <= now - self.window:
                times.popleft()
            if len(times) >= allowed:
                # The attempt that frees a place is the one `allowed` places before the newest.
                waits.append(times[len(times) - allowed][0] + self.window - now)
        if waits:
            raise TooManyAttempts(max(waits))
        attempt = (now, next(self._numbers))
        for key in limits:
            self._attempts.setdefault(key, deque()).append(attempt)
            self._attempts.move_to_end(key)
        return tuple(limits), attempt

    async def forgive(self, ticket: Hashable) -> None:
        keys, attempt = cast(_Ticket, ticket)
        for key in keys:
            times = self._attempts.get(key)
            if times is not None and attempt in times:
                times.remove(attempt)

    def _drop_keys_before(self, oldest: float) -> None:
        while self._attempts:
            key, times = next(iter(self._attempts.items()))
            if times and times[-1][0] > oldest:
                return
            del self._attempts[key]

    def __len__(self) -> int:
        """How many keys hold attempts."""
        return len(self._attempts)


def cpus_available() -> int:
    """The CPUs this process may run on (its affinity, where the OS says), at least 1."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - macOS and Windows have no sched_getaffinity
        return os.cpu_count() or 1


class LoginGate:
    """At most ``workers`` logins inside at once and ``queue`` more waiting, first come first served.

    When the queue is full, the login that has waited longest is turned away (``LoginQueueFull``), not the
    newcomer: under a flood of abandoned logins the oldest waiters are the likeliest to be gone, and a real
    client arriving after the flood still gets its turn. A waiter that is cancelled (its client hung up)
    leaves the queue without ever running. ``enter`` and ``leave`` are separate so a caller can keep its
    place until work it started in a thread is over.
    """

    def __init__(self, workers: int, queue: int) -> None:
        self.workers = workers
        self.queue = queue
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inside = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def inside(self) -> int:
        """How many logins hold a place now."""
        return self._inside

    @property
    def waiting(self) -> int:
        """How many logins wait for a place now."""
        return len(self._waiters)

    async def enter(self) -> None:
        """Take a place, waiting in the queue if need be.

        Raises:
            LoginQueueFull: the queue was full (``queue`` is 0), or it filled up while this login waited at
                its head.
        """
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (the app served again): nothing of the old one counts
            self._loop, self._inside, self._waiters = loop, 0, deque()
        if self._inside < self.workers and not self._waiters:
            self._inside += 1
            return
        if self.queue == 0:
            raise LoginQueueFull("every login slot is busy")
        if len(self._waiters) >= self.queue:
            self._waiters.popleft().set_exception(LoginQueueFull("every login slot is busy and the queue is full"))
        waiter = loop.create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.leave()  # the place was handed over just as the client left: pass it on
            elif waiter in self._waiters:
                self._waiters.remove(waiter)
            raise

    def leave(self) -> None:
        """Give the place back: to the first waiter, else to the pool."""
        while self._waiters:
            waiter = self._waiters.pop()
            if not waiter.done():
                waiter.set_result(None)  # the place passes on; _inside stays the same
                return
        self._inside -= 1
