"""tutorial_src.check._core: a checker reports every kind of wrong answer and never raises."""

from __future__ import annotations

import dataclasses

import pytest

from tutorial_src.check import NOT_YET_PREFIX, PASSED_PREFIX, CheckResult
from tutorial_src.check._core import (
    Case,
    describe_exception,
    not_yet,
    passed,
    raises,
    returns,
    run_cases,
    safe_repr,
)

DOUBLES = [Case("double(2)", (2,), returns(4)), Case("double(-3)", (-3,), returns(-6))]


def check_double(answer) -> CheckResult:
    return run_cases(answer, DOUBLES, "double() doubles")


def assert_not_yet(result: CheckResult, *fragments: str) -> None:
    assert isinstance(result, CheckResult)
    assert not result
    assert result.message.startswith(NOT_YET_PREFIX + " ")
    assert repr(result) == result.message
    for fragment in fragments:
        assert fragment in result.message


def test_prefixes():
    assert PASSED_PREFIX == "✅ Well done:"
    assert NOT_YET_PREFIX == "❌ Not yet:"


def test_a_right_answer_passes():
    result = check_double(lambda x: 2 * x)
    assert result
    assert result.passed
    assert repr(result) == result.message == "✅ Well done: double() doubles"


def test_not_started_exercise():
    def double(x):
        raise NotImplementedError("Hint: multiply by two")

    assert_not_yet(check_double(double), "not done yet", "raise NotImplementedError")


@pytest.mark.parametrize("answer", [42, None, "x * 2", [lambda x: 2 * x]])
def test_not_a_function(answer):
    assert_not_yet(check_double(answer), f"expected a function, got {type(answer).__name__}")


def test_wrong_value():
    assert_not_yet(check_double(lambda x: x + 2), "double(-3): expected -6, got -1")


def test_first_failing_case_is_reported_and_later_cases_do_not_run():
    calls = []

    def double(x):
        calls.append(x)
        return 5

    assert_not_yet(check_double(double), "double(2): expected 4, got 5")
    assert calls == [2]


@pytest.mark.parametrize(
    ("returned", "shown"),
    [("4", "'4'"), (4.0, "4.0"), (True, "True"), (None, "None")],
    ids=["str", "float", "bool", "none"],
)
def test_wrong_type_is_wrong_even_when_equal(returned, shown):
    result = run_cases(lambda: returned, [Case("answer()", (), returns(4))], "ok")
    assert_not_yet(result, f"answer(): expected 4, got {shown}")


def test_exception_inside_the_answer_is_reported_with_its_line():
    def double(x):
        return x / 0

    assert_not_yet(check_double(double), "double(2): expected 4, but it raised ZeroDivisionError", "return x / 0")


def test_wrong_number_of_arguments_is_reported():
    assert_not_yet(check_double(lambda: 4), "TypeError")


def test_expectation_that_cannot_compare_is_reported():
    class Weird:
        def __eq__(self, other):
            raise RuntimeError("cannot compare")

        def __repr__(self):
            return "Weird()"

    result = run_cases(lambda: Weird(), [Case("answer()", (), returns(Weird()))], "ok")
    assert_not_yet(result, "the answer returned Weird(), which could not be checked", "RuntimeError")


def test_value_whose_repr_raises():
    class BrokenRepr:
        def __repr__(self):
            raise ValueError("no repr")

    result = run_cases(lambda: BrokenRepr(), [Case("answer()", (), returns(1))], "ok")
    assert_not_yet(result, "<BrokenRepr object whose repr() raised ValueError>")


def test_exception_whose_str_raises():
    class BrokenError(Exception):
        def __str__(self):
            raise ValueError("no str")

    def answer():
        raise BrokenError

    result = run_cases(answer, [Case("answer()", (), returns(1))], "ok")
    assert_not_yet(result, "BrokenError: <message unavailable>")


def test_huge_values_are_shortened():
    result = run_cases(lambda: "x" * 10_000, [Case("answer()", (), returns("y"))], "ok")
    assert_not_yet(result, "…")
    assert len(result.message) < 400


# --- raises -------------------------------------------------------------------------------------------------


def parse_positive(text):
    value = int(text)
    if value <= 0:
        raise ValueError("not positive")
    return value


def test_raises_passes_on_the_exception_and_its_subclasses():
    cases = [Case("'-1'", ("-1",), raises(ValueError)), Case("'x'", ("x",), raises(Exception))]
    assert run_cases(parse_positive, cases, "refuses bad input")


def test_raises_reports_a_return_instead():
    result = run_cases(parse_positive, [Case("'5'", ("5",), raises(ValueError))], "ok")
    assert_not_yet(result, "'5': expected ValueError to be raised, but it returned 5")


def test_raises_reports_another_exception():
    result = run_cases(parse_positive, [Case("None", (None,), raises(ValueError))], "ok")
    assert_not_yet(result, "None: expected ValueError, but it raised TypeError")


# --- the pieces ---------------------------------------------------------------------------------------------


def test_passed_and_not_yet():
    assert passed("x") == CheckResult(True, "✅ Well done: x")
    assert not_yet("y") == CheckResult(False, "❌ Not yet: y")


def test_check_result_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        passed("x").passed = False


def test_describe_exception_without_a_traceback():
    assert describe_exception(KeyError("email")) == "KeyError: 'email'"


def test_safe_repr():
    assert safe_repr([1, 2]) == "[1, 2]"
    assert safe_repr("a" * 300, limit=10) == "'aaaaaaaa…"


# --- answers a checker must survive without a traceback or a warning on stderr ------------------------------


def test_async_def_answer_is_reported_without_a_never_awaited_warning():
    import gc
    import warnings

    async def answer(number):
        return number * 2

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = check_double(answer)
        gc.collect()
    assert_not_yet(result, "async def")
    assert not [w for w in caught if "never awaited" in str(w.message)]


def test_exit_in_the_answer_is_reported_not_raised():
    import sys

    result = check_double(lambda number: sys.exit(3))
    assert_not_yet(result, "SystemExit")


def test_keyboard_interrupt_still_stops_the_check():
    def answer(number):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        check_double(answer)


def test_a_stub_shows_the_hint_it_carries():
    # The student edition's stub is `raise NotImplementedError("<hint>")`: the learner sees the hint.
    def stub(value):
        raise NotImplementedError("split once on a single space")

    result = run_cases(stub, [Case("one", (1,), returns(1))], "done")
    assert not result
    assert repr(result).startswith(NOT_YET_PREFIX)
    assert repr(result).endswith("Hint: split once on a single space")


def test_a_bare_stub_has_no_hint_line():
    def stub(value):
        raise NotImplementedError

    assert "Hint:" not in repr(run_cases(stub, [Case("one", (1,), returns(1))], "done"))


def test_check_re_exports_every_checker():
    # `check` lists its checkers by name; one a checker module adds but `check` forgets would be unreachable.
    import importlib
    import pkgutil

    from tutorial_src import check

    exported = {
        name
        for module in pkgutil.iter_modules(check.__path__)
        if module.name.startswith("nb")
        for name in importlib.import_module(f"tutorial_src.check.{module.name}").__all__
    }
    assert exported <= set(check.__all__)
    assert all(hasattr(check, name) for name in check.__all__)
