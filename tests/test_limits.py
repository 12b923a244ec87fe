"""tutorial_src.limits: the sliding-window attempt limiter and the login gate, without a server."""

from __future__ import annotations

import asyncio

import pytest

from tutorial_src.limits import (
    AttemptLimiter,
    LoginGate,
    LoginQueueFull,
    MemoryAttemptLimiter,
    TooManyAttempts,
    cpus_available,
)


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def limiter(clock) -> MemoryAttemptLimiter:
    return MemoryAttemptLimiter(window=60.0, clock=clock)


def test_the_memory_limiter_implements_the_interface(limiter):
    def takes(store: AttemptLimiter) -> AttemptLimiter:
        return store

    assert takes(limiter) is limiter
    assert {"begin", "forgive"} <= set(dir(limiter))


async def test_attempts_up_to_the_limit_pass_and_the_next_is_refused(limiter, clock):
    for _ in range(3):
        await limiter.begin({"email:a": 3})
        clock.now += 1
    with pytest.raises(TooManyAttempts) as refused:
        await limiter.begin({"email:a": 3})
    # The oldest attempt (t=1000) leaves the window at 1060; it is 1003 now.
    assert refused.value.retry_after == pytest.approx(57.0)
    assert refused.value.retry_after_header == "57"


async def test_a_refused_attempt_is_not_counted(limiter, clock):
    await limiter.begin({"email:a": 1})
    for _ in range(5):
        with pytest.raises(TooManyAttempts):
            await limiter.begin({"email:a": 1})
    clock.now += 60.0
    await limiter.begin({"email:a": 1})  # the window moved past the one counted attempt


async def test_the_window_slides(limiter, clock):
    await limiter.begin({"k": 2})
    clock.now += 30
    await limiter.begin({"k": 2})
    clock.now += 30  # the first attempt is exactly one window old: out
    await limiter.begin({"k": 2})
    with pytest.raises(TooManyAttempts) as refused:
        await limiter.begin({"k": 2})
    assert refused.value.retry_after == pytest.approx(30.0)  # the attempt of t=1030 leaves at 1090


async def test_any_key_at_its_limit_refuses_and_nothing_is_counted(limiter):
    await limiter.begin({"address:1": 1})
    with pytest.raises(TooManyAttempts):
        await limiter.begin({"email:b": 5, "address:1": 1})
    await limiter.begin({"email:b": 1})  # email:b was not counted by the refused attempt


async def test_the_longest_wait_of_the_keys_is_reported(limiter, clock):
    await limiter.begin({"a": 1})
    clock.now += 20
    await limiter.begin({"b": 1})
    with pytest.raises(TooManyAttempts) as refused:
        await limiter.begin({"a": 1, "b": 1})
    assert refused.value.retry_after == pytest.approx(60.0)  # b's attempt frees at 1080, a's at 1060


async def test_forgive_uncounts_one_attempt(limiter):
    ticket = await limiter.begin({"k": 1, "j": 1})
    await limiter.forgive(ticket)
    await limiter.begin({"k": 1, "j": 1})
    await limiter.forgive(ticket)  # forgiving twice, or an attempt already gone, changes nothing more
    with pytest.raises(TooManyAttempts):
        await limiter.begin({"k": 1})


async def test_keys_whose_attempts_left_the_window_are_dropped(limiter, clock):
    for index in range(100):
        await limiter.begin({f"email:{index}": 5})
    assert len(limiter) == 100
    clock.now += 61
    await limiter.begin({"email:new": 5})
    assert len(limiter) == 1


@pytest.mark.parametrize(("seconds", "header"), [(0.2, "1"), (1.0, "1"), (1.01, "2"), (59.5, "60")])
def test_retry_after_is_whole_seconds_rounded_up(seconds, header):
    assert TooManyAttempts(seconds).retry_after_header == header


def test_cpus_available_is_positive():
    assert cpus_available() >= 1


# --- LoginGate


async def test_the_gate_admits_workers_then_queues_then_turns_the_oldest_away():
    gate = LoginGate(workers=2, queue=2)
    await gate.enter()
    await gate.enter()
    assert (gate.inside, gate.waiting) == (2, 0)
    first = asyncio.ensure_future(gate.enter())
    second = asyncio.ensure_future(gate.enter())
    await asyncio.sleep(0)
    assert gate.waiting == 2
    third = asyncio.ensure_future(gate.enter())  # the queue is full: the oldest waiter goes
    with pytest.raises(LoginQueueFull):
        await first
    assert gate.waiting == 2
    gate.leave()  # a place frees: the newest waiter gets it
    await third
    assert not second.done()
    gate.leave()
    await second
    gate.leave()
    gate.leave()
    assert (gate.inside, gate.waiting) == (0, 0)


async def test_a_queue_of_zero_turns_away_at_once():
    gate = LoginGate(workers=1, queue=0)
    await gate.enter()
    with pytest.raises(LoginQueueFull):
        await gate.enter()


async def test_a_cancelled_waiter_leaves_the_queue_without_entering():
    gate = LoginGate(workers=1, queue=4)
    await gate.enter()
    waiter = asyncio.ensure_future(gate.enter())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert gate.waiting == 0
    gate.leave()
    assert gate.inside == 0


async def test_a_place_handed_to_a_waiter_cancelled_meanwhile_passes_on():
    gate = LoginGate(workers=1, queue=4)
    await gate.enter()
    older = asyncio.ensure_future(gate.enter())
    newer = asyncio.ensure_future(gate.enter())
    await asyncio.sleep(0)
    gate.leave()  # hands the place to `newer`...
    newer.cancel()  # ...whose client leaves before it runs
    with pytest.raises(asyncio.CancelledError):
        await newer
    await older  # the place went on to the other waiter
    assert (gate.inside, gate.waiting) == (1, 0)


def test_the_gate_starts_afresh_on_a_new_event_loop():
    gate = LoginGate(workers=1, queue=1)

    async def enter_and_stay() -> int:
        await gate.enter()
        return gate.inside

    assert asyncio.run(enter_and_stay()) == 1
    assert asyncio.run(enter_and_stay()) == 1  # the place held on the first loop does not count here
