"""Checkers for the exercises of notebook 04: an HS256 signature by hand, and the claims a token lacks."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from jwt.algorithms import HMACAlgorithm
from jwt.utils import base64url_encode

from ..tokens import REQUIRED_CLAIMS
from ._core import Case, CheckResult, describe_exception, run_cases

__all__ = ["hs256_signature", "missing_claims"]

# RFC 7515 Appendix A.1: the JWK "k" value, the JWS signing input and the signature it must give.
_RFC_KEY = base64.urlsafe_b64decode(
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow=="
)
_RFC_SIGNING_INPUT = (
    b"eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
    b".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
)
_RFC_SIGNATURE = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"


def _pyjwt_hs256(signing_input: bytes, key: bytes) -> str:
    """The reference: PyJWT's own HMAC-SHA-256, base64url-encoded by PyJWT."""
    return base64url_encode(HMACAlgorithm(HMACAlgorithm.SHA256).sign(signing_input, key)).decode("ascii")


def _signature(signing_input: bytes, key: bytes) -> Callable[[Any, BaseException | None], str | None]:
    expected = _pyjwt_hs256(signing_input, key)

    def expect(value: Any, error: BaseException | None) -> str | None:
        if error is not None:
            return f"it raised {describe_exception(error)}"
        if isinstance(value, bytes):
            return "return text (str), not bytes: finish with .decode('ascii')"
        if not isinstance(value, str):
            return f"expected a str of 43 base64url characters, got {type(value).__name__}"
        if value == expected:
            return None
        if value.rstrip("=") == expected:
            return "drop the '=' padding: a JWS segment never has any (RFC 7515 §2)"
        if value.translate(str.maketrans("+/", "-_")).rstrip("=") == expected:
            return "use the URL-safe alphabet ('-' and '_' instead of '+' and '/'): base64.urlsafe_b64encode"
        if len(value) == 64 and all(c in "0123456789abcdef" for c in value):
            return "that is the hex digest; encode the raw .digest() bytes with base64url instead"
        if value == _pyjwt_hs256(key, signing_input):
            return "key and message are swapped: hmac.new(key, signing_input, hashlib.sha256)"
        return f"expected {expected!r}, got {value!r}"

    return expect


def hs256_signature(answer: Callable[[bytes, bytes], str]) -> CheckResult:
    """Check ``answer(signing_input, key) -> str`` against RFC 7515 A.1 and PyJWT's HMAC on other inputs."""
    series_input = b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0"
    series_key = b"a demo secret of at least 32 bytes, never a real one"
    cases = [
        Case("the RFC 7515 A.1 example", (_RFC_SIGNING_INPUT, _RFC_KEY), _signature(_RFC_SIGNING_INPUT, _RFC_KEY)),
        Case(
            "a token shaped like the series' own", (series_input, series_key), _signature(series_input, series_key)
        ),
        Case("an empty signing input", (b"", bytes(32)), _signature(b"", bytes(32))),
    ]
    return run_cases(
        answer, cases, f"your HS256 signature matches RFC 7515 A.1 ({_RFC_SIGNATURE[:12]}…) and PyJWT."
    )


def _claim_set(expected: set[str], note: str = "") -> Callable[[Any, BaseException | None], str | None]:
    def expect(value: Any, error: BaseException | None) -> str | None:
        if error is not None:
            return f"it raised {describe_exception(error)}"
        if not isinstance(value, (set, frozenset)):
            return f"return a set of claim names, got {type(value).__name__}"
        if value == expected:
            return None
        return f"expected {sorted(expected)}, got {sorted(value, key=str)}{note}"

    return expect


def missing_claims(answer: Callable[[dict[str, Any]], set[str]]) -> CheckResult:
    """Check ``answer(payload) -> set[str]``: the names of ``REQUIRED_CLAIMS`` the payload lacks.

    A claim whose value is ``None`` (JSON ``null``) counts as missing, as it does for PyJWT's ``require``.
    """
    complete = {
        "sub": "1",
        "iat": 1_700_000_000,
        "exp": 1_700_000_900,
        "iss": "jwt-tutorial",
        "aud": "jwt-tutorial-api",
        "jti": "9f2c4a1e0b7d4c3a8e6f5d2b1a0c9e8f",
    }
    rfc_example = {"iss": "joe", "exp": 1300819380, "http://example.com/is_root": True}
    no_audience = {key: value for key, value in complete.items() if key != "aud"} | {"nbf": 1_700_000_000}
    cases = [
        Case("a token from the series' server", (complete,), _claim_set(set())),
        Case("the RFC 7519 §3.1 example", (rfc_example,), _claim_set({"sub", "iat", "aud", "jti"})),
        Case("an empty payload", ({},), _claim_set(set(REQUIRED_CLAIMS))),
        Case(
            "a payload with nbf but without aud",
            (no_audience,),
            _claim_set({"aud"}, " (nbf is allowed but not required)"),
        ),
        Case(
            'a payload with "jti": null',
            (complete | {"jti": None},),
            _claim_set({"jti"}, " (PyJWT counts a claim whose value is null as missing)"),
        ),
    ]
    return run_cases(answer, cases, "you spot every required claim a payload lacks, as PyJWT's require= does.")
