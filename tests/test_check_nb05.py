"""The checkers of notebook 05 accept the reference answers, report every wrong answer, and never raise."""

from __future__ import annotations

import jwt
import pytest

from tutorial_src import check
from tutorial_src.check import nb05
from tutorial_src.lab.attacks import forge_token


def reference_none_token(claims):
    return forge_token({"alg": "none", "typ": "JWT"}, claims)


def test_forge_none_token_accepts_the_reference_and_pyjwt():
    assert check.forge_none_token(reference_none_token)
    assert check.forge_none_token(lambda claims: jwt.encode(claims, None, algorithm="none"))
    assert check.forge_none_token(lambda claims: forge_token({"alg": "NONE"}, claims))


def not_implemented(claims):
    raise NotImplementedError("Hint: …")


def crashes(claims):
    return 1 / 0


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ("not a function", "expected a function"),
        (not_implemented, "not done yet"),
        (crashes, "ZeroDivisionError"),
        (lambda claims: b"bytes", "as a str"),
        (lambda claims: "a.b", "not a compact JWT"),
        (lambda claims: forge_token({"alg": "HS256"}, claims), '"alg": "none"'),
        (
            lambda claims: forge_token(["alg", "none"], claims),  # type: ignore[arg-type]  # a list header: the case
            '"alg": "none"',
        ),
        (lambda claims: forge_token({"alg": "none"}, claims, b"k" * 32), "empty signature"),
        (lambda claims: forge_token({"alg": "none"}, {**claims, "sub": "1"}), "exactly the claims"),
    ],
)
def test_forge_none_token_reports_wrong_answers(answer, problem):
    result = check.forge_none_token(answer)
    assert not result
    assert repr(result).startswith("❌ Not yet:") and problem in repr(result)


def test_forge_none_token_reports_a_token_the_twin_refuses(monkeypatch):
    # Claims for a user who does not exist: the twin refuses it (401), the checker says what the twin said.
    monkeypatch.setattr(nb05, "_admin_claims", lambda settings: {"sub": "99"})
    result = check.forge_none_token(reference_none_token)
    assert not result and "the twin answered 401 invalid_token" in repr(result)


def test_forge_none_token_reports_a_real_app_that_accepts(monkeypatch):
    monkeypatch.setattr(
        nb05, "create_app", lambda settings, users: nb05.create_vulnerable_app("alg_none", settings, users)
    )
    result = check.forge_none_token(reference_none_token)
    assert not result and "should refuse it with 401" in repr(result)


def test_forge_none_token_never_raises(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no server today")

    monkeypatch.setattr(nb05, "BackgroundServer", broken)
    result = check.forge_none_token(reference_none_token)
    assert not result and "could not finish" in repr(result) and "RuntimeError" in repr(result)


def not_implemented_defences():
    raise NotImplementedError("Hint: …")


REFERENCE_DEFENCES = {
    "unverified_signature": "D",
    "alg_none": "F",
    "weak_secret": "C",
    "algorithm_confusion": "H",
    "jwk_injection": "I",
    "kid_injection": "B",
    "jku": "E",
    "claim_tampering": "G",
    "replay": "A",
}


def test_name_the_defence_accepts_the_reference_in_any_case():
    assert check.name_the_defence(REFERENCE_DEFENCES)
    assert check.name_the_defence({k: f" {v.lower()} " for k, v in REFERENCE_DEFENCES.items()})
    assert set(REFERENCE_DEFENCES.values()) == set(check.DEFENCE_CHOICES)
    assert check.name_the_defence(lambda: REFERENCE_DEFENCES)


@pytest.mark.parametrize(
    ("answers", "problem"),
    [
        (["F"], "expected a dict"),
        ({}, "no letter for 'unverified_signature'"),
        ({**REFERENCE_DEFENCES, "jku": ""}, "no letter for 'jku'"),
        ({**REFERENCE_DEFENCES, "alg_none": "H"}, "'alg_none': 'H' is not its defence"),
        ({**REFERENCE_DEFENCES, "replay": 1}, "'replay': 1 is not its defence"),
        (not_implemented_defences, "not done yet"),
        (lambda: {"a": "A"}["x"], "KeyError"),
        (lambda: ["D"], "expected a dict"),
    ],
)
def test_name_the_defence_reports_wrong_answers(answers, problem):
    result = check.name_the_defence(answers)
    assert not result and problem in repr(result)
