"""Checkers for the exercises of notebook 04: HS256 signing and verifying by hand, and the claims a token lacks.

- ``hs256_signature(fn)``: ``fn(signing_input, key) -> str``, the base64url HMAC-SHA-256 of RFC 7518 §3.2;
  RFC 7515 Appendix A.1 byte for byte, then PyJWT's own HMAC on generated inputs and keys.
- ``hs256_verification(fn)``: ``fn(token, key) -> bool``; real tokens signed by PyJWT, then tampered, re-keyed,
  re-labelled (``alg``), padded and malformed ones, and a look at the code for a constant-time comparison.
- ``missing_claims(fn)``: ``fn(payload) -> set[str]``, the required claims a payload lacks, as PyJWT's
  ``require=`` counts them.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import hmac
import inspect
import json
import random
import textwrap
from collections.abc import Callable
from typing import Any

import jwt
from jwt.algorithms import HMACAlgorithm
from jwt.utils import base64url_encode

from ..tokens import REQUIRED_CLAIMS
from ._core import PASSED_PREFIX, Case, CheckResult, describe_exception, not_yet, passed, run_cases, safe_repr

__all__ = ["hs256_signature", "hs256_verification", "missing_claims"]

# RFC 7515 Appendix A.1: the JWK "k" value, the JWS signing input and the signature it must give.
_RFC_KEY = base64.urlsafe_b64decode(
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow=="
)
_RFC_SIGNING_INPUT = (
    b"eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
    b".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
)
_RFC_SIGNATURE = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
_RFC_TOKEN = f"{_RFC_SIGNING_INPUT.decode('ascii')}.{_RFC_SIGNATURE}"
# A seed, so that a learner who re-runs the checker meets the same "random" inputs and the same first failure.
_SEED = 7515


def _pyjwt_hs256(signing_input: bytes, key: bytes) -> str:
    """The reference: PyJWT's own HMAC-SHA-256, base64url-encoded by PyJWT."""
    return base64url_encode(HMACAlgorithm(HMACAlgorithm.SHA256).sign(signing_input, key)).decode("ascii")


def _b64(data: bytes) -> str:
    return base64url_encode(data).decode("ascii")


def _signature(signing_input: bytes, key: bytes) -> Callable[[Any, BaseException | None], str | None]:
    expected = _pyjwt_hs256(signing_input, key)

    def expect(value: Any, error: BaseException | None) -> str | None:
        if error is not None:
            if isinstance(error, UnicodeDecodeError):
                return (
                    f"it raised {describe_exception(error)} - the key is raw bytes, not text: pass it to "
                    "hmac.new as it is, never .decode() it"
                )
            if isinstance(error, TypeError) and ("encode" in str(error) or "'str'" in str(error)):
                return f"it raised {describe_exception(error)} - hmac works on bytes: do not turn them into str"
            return f"it raised {describe_exception(error)}"
        if isinstance(value, (bytes, bytearray)):
            return "return text (str), not bytes: finish with .decode('ascii')"
        if not isinstance(value, str):
            return f"expected a str of 43 base64url characters, got {type(value).__name__}"
        if value == expected:
            return None
        if value.rstrip("=") == expected:
            return "drop the '=' padding: a JWS segment never has any (RFC 7515 §2)"
        if value.translate(str.maketrans("+/", "-_")).rstrip("=") == expected:
            return "use the URL-safe alphabet ('-' and '_' instead of '+' and '/'): base64url, not base64"
        if value == hmac.new(key, signing_input, hashlib.sha256).hexdigest():
            return "that is the hex digest; encode the raw .digest() bytes with base64url instead"
        if value == _pyjwt_hs256(key, signing_input):
            return "key and message are swapped: the key comes first, then the message"
        for part, name in zip(signing_input.split(b".", 1), ("header", "payload"), strict=False):
            if value == _pyjwt_hs256(part, key):
                return f"you signed only the {name} segment: sign the whole signing input, header.payload"
        if value in (_b64(hmac.new(key, signing_input, algorithm).digest()) for algorithm in ("sha1", "sha512")):
            return "that is HMAC with another hash: HS256 is HMAC with SHA-256"
        return f"expected {expected!r}, got {safe_repr(value)}"

    return expect


def _generated_sign_inputs() -> list[tuple[bytes, bytes]]:
    """Signing inputs of JSON headers and payloads of varied lengths, and keys of arbitrary bytes (not text)."""
    generator = random.Random(_SEED)
    rows = []
    for length in (1, 2, 3, 17, 64):
        claims = {"sub": str(generator.randrange(10**6)), "note": "x" * length}
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = _b64(json.dumps(claims).encode())
        key = bytes(generator.randrange(256) for _ in range(32 + length))
        rows.append((f"{header}.{payload}".encode("ascii"), key))
    return rows


def _with_reference_note(result: CheckResult, answer: Any) -> CheckResult:
    """A pass earned by the reference imported through the "stuck?" line says so, so the learner knows."""
    if result and getattr(answer, "__module__", None) == "tutorial_src.lab.jose":
        return passed(
            f"{result.message.removeprefix(PASSED_PREFIX).strip()} (That is the reference from "
            "tutorial_src/lab/jose.py: come back and write your own.)"
        )
    return result


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
        *(
            Case(f"generated input {number} (compared with PyJWT)", (data, key), _signature(data, key))
            for number, (data, key) in enumerate(_generated_sign_inputs(), start=1)
        ),
    ]
    summary = f"your HS256 signature matches RFC 7515 A.1 ({_RFC_SIGNATURE[:12]}…) and PyJWT."
    return _with_reference_note(run_cases(answer, cases, summary), answer)


# --- hs256_verification --------------------------------------------------------------------------------------


def _verdict(expected: bool, why: str) -> Callable[[Any, BaseException | None], str | None]:
    def expect(value: Any, error: BaseException | None) -> str | None:
        if error is not None:
            problem = describe_exception(error)
            if isinstance(error, TypeError) and "encode" in str(error):
                return f"it raised {problem} - hmac needs bytes: the signing input is header.payload in ASCII"
            return f"a bad token is an answer, not an error: return False instead of raising ({problem})"
        if value is not True and value is not False:
            return f"return True or False, got {safe_repr(value)}"
        if value is not expected:
            return f"expected {expected}, got {value}: {why}"
        return None

    return expect


def _raises_type_error(why: str) -> Callable[[Any, BaseException | None], str | None]:
    def expect(value: Any, error: BaseException | None) -> str | None:
        if error is None:
            return f"expected TypeError, got {safe_repr(value)}: {why}"
        if not isinstance(error, TypeError):
            return f"expected TypeError, but it raised {describe_exception(error)}"
        return None

    return expect


def _token(header: dict[str, Any], claims: dict[str, Any], key: bytes) -> str:
    """A token with exactly this header, HMAC-SHA-256-signed with ``key`` whatever its ``alg`` says."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_pyjwt_hs256(signing_input.encode('ascii'), key)}"


def _pyjwt_agrees(token: str, key: bytes) -> bool:
    try:
        jwt.PyJWS().decode_complete(token, key, algorithms=["HS256"])
    except jwt.PyJWTError:
        return False
    return True


def _verify_cases() -> list[Case]:
    generator = random.Random(_SEED)
    key = b"the checker's key, at least thirty-two bytes long"
    other_key = b"another key of at least thirty-two bytes, not it"
    # A token whose signature holds a '-' or '_', so that its standard-base64 spelling differs.
    claims, good = next(
        (claims, token)
        for claims in ({"sub": "1", "iss": "jwt-tutorial", "n": n} for n in range(1000))
        for token in [_token({"alg": "HS256", "typ": "JWT"}, claims, key)]
        if {"-", "_"} & set(token.rpartition(".")[2])
    )
    header, payload, signature = good.split(".")
    forged_payload = _b64(json.dumps({**claims, "sub": "2"}).encode())
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    standard = base64.b64encode(base64.urlsafe_b64decode(signature + "=")).decode("ascii").rstrip("=")
    cases = [
        Case(
            "the RFC 7515 A.1 token with its key",
            (_RFC_TOKEN, _RFC_KEY),
            _verdict(
                True,
                "it is the RFC's own token - sign again the segments exactly as received, never re-built JSON",
            ),
        ),
        Case("a token PyJWT signed", (good, key), _verdict(True, "PyJWT made it with this very key")),
        Case(
            "the RFC token with another key",
            (_RFC_TOKEN, other_key),
            _verdict(False, "the signature was made with another key"),
        ),
        Case(
            "a token whose payload was changed (sub 1 -> 2)",
            (f"{header}.{forged_payload}.{signature}", key),
            _verdict(False, "the signature covers header.payload; re-sign what you received, not something else"),
        ),
        Case(
            "a token whose signature was changed in one character",
            (f"{header}.{payload}.{flipped}", key),
            _verdict(False, "the signature must match exactly"),
        ),
        Case(
            "a token whose signature got '=' padding",
            (f"{good}=", key),
            _verdict(False, "a JWS signature has no padding (RFC 7515 §2): compare the text, do not decode it"),
        ),
        Case(
            "a token whose signature is in the standard base64 alphabet",
            (f"{header}.{payload}.{standard}", key),
            _verdict(False, "JWS uses base64url ('-', '_'), so a '+' or '/' signature is not this token's"),
        ),
        Case(
            'a token saying "alg": "none", correctly HMAC-signed',
            (_token({"alg": "none"}, claims, key), key),
            _verdict(False, 'only "alg": "HS256" is allowed: the server, not the token, picks the algorithm'),
        ),
        Case(
            'a token saying "alg": "hs256" (lower case), correctly HMAC-signed',
            (_token({"alg": "hs256"}, claims, key), key),
            _verdict(False, 'alg values are case-sensitive (RFC 7515 §4.1.1): only "HS256" is HS256'),
        ),
        Case(
            'a token saying "alg": "HS512", correctly HMAC-SHA-256-signed',
            (_token({"alg": "HS512", "typ": "JWT"}, claims, key), key),
            _verdict(False, "a header that names another algorithm is refused, whatever its signature"),
        ),
        Case(
            "a token without alg in its header",
            (_token({"typ": "JWT"}, claims, key), key),
            _verdict(False, "no alg, no HS256"),
        ),
        Case(
            "a token of two parts", (f"{header}.{payload}", key), _verdict(False, "a compact JWS has three parts")
        ),
        Case("a token of four parts", (f"{good}.x", key), _verdict(False, "a compact JWS has three parts")),
        Case("an empty token", ("", key), _verdict(False, "nothing is not a token")),
        Case(
            "a token whose header is not JSON",
            (f"{_b64(b'not json')}.{payload}.{signature}", key),
            _verdict(False, "a header must be base64url-encoded JSON"),
        ),
        Case(
            "a token with a non-ASCII character",
            (f"{header}.{payload}.{signature[:-1]}é", key),
            _verdict(False, "a compact JWS is ASCII only"),
        ),
        Case(
            "a token as bytes",
            (good.encode("ascii"), key),
            _raises_type_error("the token is text (str); bytes mean the caller has a bug - let Python raise"),
        ),
        Case(
            "a key as str",
            (good, key.decode("ascii")),
            _raises_type_error(
                "the key is bytes; a str key is the caller's bug - do not hide it with return False"
            ),
        ),
    ]
    for number in range(1, 5):
        token_key = bytes(generator.randrange(256) for _ in range(32 + number))
        token = jwt.encode({"sub": str(number), "n": generator.random()}, token_key, algorithm="HS256")
        for description, candidate in (("its key", token_key), ("another key", token_key[::-1])):
            cases.append(
                Case(
                    f"generated token {number} with {description} (compared with PyJWT)",
                    (token, candidate),
                    _verdict(_pyjwt_agrees(token, candidate), "PyJWT disagrees"),
                )
            )
    return cases


def _constant_time_problem(answer: Callable[..., Any]) -> str | None:
    """Why the answer's code does not compare in constant time, or ``None`` (also when its code is unknown)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(answer)))
    except (OSError, TypeError, SyntaxError):  # a builtin, a lambda in an expression, code typed in a REPL
        return None
    for node in ast.walk(tree):
        name = getattr(node, "attr", None) or getattr(node, "id", None)
        if name == "compare_digest":
            return None
    return (
        "the results are right, but the signatures are compared with `==` (or another early-exit comparison): it "
        "stops at the first differing character, so how long a refusal takes tells an attacker how much of a "
        "forged signature is right. Compare with hmac.compare_digest, which takes the same time either way"
    )


def hs256_verification(answer: Callable[[str, bytes], bool]) -> CheckResult:
    """Check ``answer(token, key) -> bool``: ``True`` only for an ``"alg": "HS256"`` token signed with ``key``.

    Also reads the answer's code: without ``hmac.compare_digest`` the comparison leaks timing.
    """
    result = run_cases(
        answer,
        _verify_cases(),
        "your verifier agrees with RFC 7515 A.1 and PyJWT, refuses every "
        "tampered, re-keyed, re-labelled or malformed token, and compares in constant time.",
    )
    if result:
        problem = _constant_time_problem(answer)
        if problem is not None:
            return not_yet(problem)
    return _with_reference_note(result, answer)


# --- missing_claims ------------------------------------------------------------------------------------------


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
    falsy = complete | {"sub": "0", "iat": 0, "aud": ""}
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
        Case(
            'a payload with "iat": 0 and "aud": ""',
            (falsy,),
            _claim_set(set(), " (0 and '' are present, only null is missing: test `is None`, not truthiness)"),
        ),
        Case(
            'a payload with "SUB" and "Exp" instead of sub and exp',
            ({**{k: v for k, v in complete.items() if k not in ("sub", "exp")}, "SUB": "1", "Exp": 1},),
            _claim_set({"sub", "exp"}, " (claim names are case-sensitive, RFC 7519 §4)"),
        ),
    ]
    return run_cases(answer, cases, "you spot every required claim a payload lacks, as PyJWT's require= does.")
