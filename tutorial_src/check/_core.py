"""What every exercise checker shares: run cases against a learner's answer, never raise, say what failed.

A checker takes the learner's function (or value), runs real cases against it, and returns a ``CheckResult``.
In a notebook the result shows as one line: a success line starting with ``PASSED_PREFIX``, or the first
failing case with a hint, starting with ``NOT_YET_PREFIX``. Whatever the answer does - raise
``NotImplementedError``, return the wrong type, crash - the checker reports it and does not raise.
"""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

PASSED_PREFIX = "✅ Well done:"
NOT_YET_PREFIX = "❌ Not yet:"
#: What an ``async def`` answer is told: the checkers call the learner's function and never await it.
ASYNC_ANSWER = "write a plain `def`, not `async def`: the checker calls your function and does not await it"


@dataclass(frozen=True)
class CheckResult:
    """The verdict of a checker: ``bool(result)`` is whether every case passed; ``repr`` is the message line."""

    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Case:
    """One case: a description, the arguments, and a test of the outcome.

    ``expect`` gets ``(returned_value, raised_exception)`` (exactly one of them is not ``None``, unless the
    answer returned ``None``) and returns ``None`` when the outcome is right, else a hint saying what to fix.
    """

    description: str
    args: tuple[Any, ...]
    expect: Callable[[Any, BaseException | None], str | None]


def passed(summary: str) -> CheckResult:
    """A success: ``✅ Well done: <summary>``."""
    return CheckResult(True, f"{PASSED_PREFIX} {summary}")


def not_yet(problem: str) -> CheckResult:
    """A failure: ``❌ Not yet: <problem>``."""
    return CheckResult(False, f"{NOT_YET_PREFIX} {problem}")


def not_started(stub: NotImplementedError) -> CheckResult:
    """The verdict on an answer that still raises the student edition's stub, with the hint the stub carries."""
    hint = exception_message(stub)
    return not_yet(
        "the exercise is not done yet - replace `raise NotImplementedError` with your code."
        + (f" Hint: {hint}" if hint else "")
    )


def safe_repr(value: Any, limit: int = 200) -> str:
    """``repr(value)`` cut to ``limit`` characters; a ``__repr__`` that raises is described, never raised."""
    try:
        text = repr(value)
    except Exception as error:  # the learner's own class may have a broken __repr__
        return f"<{type(value).__name__} object whose repr() raised {type(error).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def exception_message(error: BaseException) -> str:
    """``str(error)``; an exception class with a broken ``__str__`` is described, never raised."""
    try:
        return str(error)
    except Exception:
        return "<message unavailable>"


def describe_exception(error: BaseException) -> str:
    """``TypeError: …`` with the line of the learner's code that raised it, when there is one."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f" (line {frames[-1].lineno}: {frames[-1].line!s})" if frames and frames[-1].line else ""
    return f"{type(error).__name__}: {exception_message(error)}{where}"


def closed_coroutine(value: Any) -> bool:
    """Whether ``value`` is a coroutine, i.e. the answer was ``async def``; it is closed first, so Python does
    not print "coroutine … was never awaited" on stderr when it is garbage-collected."""
    if inspect.iscoroutine(value):
        value.close()
        return True
    return False


def call_answer(answer: Callable[..., Any], *args: Any) -> tuple[Any, CheckResult | None]:
    """Call the learner's function once: ``(value, None)``, or ``(None, verdict)`` when it is still the stub,
    raised (even ``SystemExit``: a learner's ``exit()`` is a result to report), or was ``async def``.
    ``KeyboardInterrupt`` passes: the learner stopped the cell."""
    try:
        value = answer(*args)
    except NotImplementedError as stub:
        return None, not_started(stub)
    except KeyboardInterrupt:
        raise
    except BaseException as error:
        return None, not_yet(f"the function raised {describe_exception(error)}")
    if closed_coroutine(value):
        return None, not_yet(ASYNC_ANSWER)
    return value, None


def run_cases(answer: Any, cases: Iterable[Case], summary: str) -> CheckResult:
    """Call ``answer(*case.args)`` for each case and stop at the first wrong outcome.

    ``NotImplementedError`` means the exercise is not started yet and is reported as such; an ``async def``
    answer is reported as one. Only ``KeyboardInterrupt`` (the learner stopping the cell) propagates.
    """
    if not callable(answer):
        return not_yet(f"expected a function, got {type(answer).__name__}")
    for case in cases:
        value: Any = None
        error: BaseException | None = None
        try:
            value = answer(*case.args)
        except NotImplementedError as stub:
            return not_started(stub)
        except KeyboardInterrupt:  # the learner stopped the cell: stop the check too
            raise
        except BaseException as exc:  # a learner's bug (even exit()) is a result to report, not a crash
            error = exc
        if closed_coroutine(value):
            return not_yet(ASYNC_ANSWER)
        try:
            hint = case.expect(value, error)
        except Exception as exc:  # e.g. the answer returned a type the expectation cannot compare
            problem = describe_exception(exc)
            hint = f"the answer returned {safe_repr(value)}, which could not be checked ({problem})"
        if hint is not None:
            return not_yet(f"{case.description}: {hint}")
    return passed(summary)


def returns(expected: Any) -> Callable[[Any, BaseException | None], str | None]:
    """An expectation: the answer returns ``expected`` (compared with ``==``) and raises nothing."""

    def expect(value: Any, error: BaseException | None) -> str | None:
        if error is not None:
            return f"expected {safe_repr(expected)}, but it raised {describe_exception(error)}"
        if type(value) is not type(expected) or value != expected:
            return f"expected {safe_repr(expected)}, got {safe_repr(value)}"
        return None

    return expect


def raises(error_class: type[BaseException]) -> Callable[[Any, BaseException | None], str | None]:
    """An expectation: the answer raises ``error_class`` (or a subclass)."""

    def expect(value: Any, error: BaseException | None) -> str | None:
        if error is None:
            return f"expected {error_class.__name__} to be raised, but it returned {safe_repr(value)}"
        if not isinstance(error, error_class):
            return f"expected {error_class.__name__}, but it raised {describe_exception(error)}"
        return None

    return expect
