"""The checkers of notebook 04 pass the reference answers, explain wrong ones, and never raise."""

from __future__ import annotations

import base64
import hashlib
import hmac

import jwt
import pytest

from tutorial_src import check
from tutorial_src.check._core import NOT_YET_PREFIX, PASSED_PREFIX
from tutorial_src.lab.jose import hs256_sign
from tutorial_src.tokens import REQUIRED_CLAIMS


def reference_signature(signing_input: bytes, key: bytes) -> str:
    digest = hmac.new(key, signing_input, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def reference_missing(payload: dict) -> set[str]:
    return {claim for claim in REQUIRED_CLAIMS if payload.get(claim) is None}


def test_checkers_are_exported():
    assert {"hs256_signature", "missing_claims"} <= set(check.nb04.__all__)


# --- hs256_signature -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", [reference_signature, hs256_sign])
def test_signature_reference_answers_pass(answer):
    result = check.hs256_signature(answer)
    assert result
    assert repr(result).startswith(PASSED_PREFIX)
    assert "RFC 7515 A.1" in repr(result)


def _padded(signing_input, key):
    return base64.urlsafe_b64encode(hmac.new(key, signing_input, hashlib.sha256).digest()).decode()


def _standard_alphabet(signing_input, key):
    return base64.b64encode(hmac.new(key, signing_input, hashlib.sha256).digest()).rstrip(b"=").decode()


def _as_bytes(signing_input, key):
    return reference_signature(signing_input, key).encode("ascii")


def _hexdigest(signing_input, key):
    return hmac.new(key, signing_input, hashlib.sha256).hexdigest()


def _swapped(signing_input, key):
    return reference_signature(key, signing_input)


def _sha1(signing_input, key):
    return base64.urlsafe_b64encode(hmac.new(key, signing_input, hashlib.sha1).digest()).rstrip(b"=").decode()


def _crashes(signing_input, key):
    return signing_input.nonexistent


def _not_started(signing_input, key):
    raise NotImplementedError


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (_padded, "padding"),
        (_standard_alphabet, "URL-safe alphabet"),
        (_as_bytes, "not bytes"),
        (lambda signing_input, key: 42, "got int"),
        (_hexdigest, "hex digest"),
        (_swapped, "swapped"),
        (_sha1, "expected 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'"),
        (_crashes, "AttributeError"),
        (_not_started, "not done yet"),
        ("not a function", "expected a function"),
    ],
)
def test_signature_wrong_answers_are_explained(answer, hint):
    result = check.hs256_signature(answer)
    assert not result
    assert repr(result).startswith(NOT_YET_PREFIX)
    assert hint in repr(result)


def test_signature_cases_catch_an_answer_that_only_knows_the_rfc_vector():
    def memorised(signing_input, key):
        return "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

    result = check.hs256_signature(memorised)
    assert not result
    assert "series' own" in repr(result)


# --- missing_claims ------------------------------------------------------------------------------------------


def test_missing_claims_reference_answer_passes():
    result = check.missing_claims(reference_missing)
    assert result
    assert repr(result).startswith(PASSED_PREFIX)


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (lambda payload: [c for c in REQUIRED_CLAIMS if c not in payload], "return a set"),
        (lambda payload: {c for c in REQUIRED_CLAIMS if c not in payload}, "null as missing"),
        (lambda payload: {c for c in ("sub", "exp") if c not in payload}, "RFC 7519 §3.1 example"),
        (lambda payload: set() if "nbf" in payload else reference_missing(payload), "nbf but without aud"),
        (lambda payload: {c for c in [*REQUIRED_CLAIMS, "nbf"] if payload.get(c) is None}, "series' server"),
        (lambda payload: {payload["nbf"]}, "KeyError"),
        (lambda payload: (_ for _ in ()).throw(NotImplementedError), "not done yet"),
    ],
)
def test_missing_claims_wrong_answers_are_explained(answer, hint):
    result = check.missing_claims(answer)
    assert not result
    assert repr(result).startswith(NOT_YET_PREFIX)
    assert hint in repr(result)


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"iss": "joe", "exp": 1300819380, "http://example.com/is_root": True},
        {"sub": "1", "iat": 1, "exp": 2, "iss": "i", "aud": "a", "jti": None},
        {"sub": "1", "iat": 1, "exp": 2, "iss": "i", "jti": "j", "nbf": 1},
        {"sub": "1", "iat": 1, "exp": 2, "iss": "i", "aud": "a", "jti": "j"},
    ],
)
def test_the_expected_answer_agrees_with_pyjwt_require(payload):
    # The checker's notion of "missing" is PyJWT's: decoding with require= fails exactly when a claim is
    # missing, and names the first one of REQUIRED_CLAIMS that is.
    key = "a key of at least thirty-two bytes for this test"
    token = jwt.encode(payload, key, algorithm="HS256")
    options = {"require": REQUIRED_CLAIMS, "verify_exp": False, "verify_iat": False, "verify_aud": False}
    missing = reference_missing(payload)
    if not missing:
        jwt.decode(token, key, algorithms=["HS256"], options=options)
        return
    with pytest.raises(jwt.MissingRequiredClaimError) as raised:
        jwt.decode(token, key, algorithms=["HS256"], options=options)
    assert raised.value.claim == next(claim for claim in REQUIRED_CLAIMS if claim in missing)
