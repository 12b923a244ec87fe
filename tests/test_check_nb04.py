"""The checkers of notebook 04: the wrong answers learners write are refused with the mistake named, right
answers written other ways than the reference pass, and nothing raises."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets

import jwt
import pytest
from jwt.algorithms import HMACAlgorithm
from jwt.utils import base64url_encode

from tutorial_src import check
from tutorial_src.check._core import ASYNC_ANSWER, NOT_YET_PREFIX, PASSED_PREFIX
from tutorial_src.lab.jose import b64url_decode, hs256_sign, hs256_verify
from tutorial_src.tokens import REQUIRED_CLAIMS


def test_checkers_are_exported():
    assert {"hs256_signature", "hs256_verification", "missing_claims"} <= set(check.nb04.__all__)


def assert_refused(result, hint):
    assert not result
    assert repr(result).startswith(NOT_YET_PREFIX), repr(result)
    assert hint in repr(result), repr(result)


# --- hs256_signature: right answers --------------------------------------------------------------------------


def sign_with_hmac_digest(signing_input, key):
    # One call, and the digest name as a string.
    return base64.urlsafe_b64encode(hmac.digest(key, signing_input, "sha256")).decode().rstrip("=")


def sign_with_pyjwt(signing_input, key):
    return base64url_encode(HMACAlgorithm(HMACAlgorithm.SHA256).sign(signing_input, key)).decode("ascii")


def sign_with_update(signing_input, key):
    mac = hmac.new(key, digestmod=hashlib.sha256)
    mac.update(signing_input)
    return base64.b64encode(mac.digest(), altchars=b"-_").decode("ascii").replace("=", "")


@pytest.mark.parametrize("answer", [hs256_sign, sign_with_hmac_digest, sign_with_pyjwt, sign_with_update])
def test_signature_right_answers_pass(answer):
    result = check.hs256_signature(answer)
    assert result
    assert repr(result).startswith(PASSED_PREFIX)
    assert "RFC 7515 A.1" in repr(result)


# --- hs256_signature: the wrong-answer corpus ----------------------------------------------------------------


def _mac(key, message, digest=hashlib.sha256):
    return hmac.new(key, message, digest).digest()


def _padded(signing_input, key):
    return base64.urlsafe_b64encode(_mac(key, signing_input)).decode()


def _standard_alphabet(signing_input, key):
    return base64.b64encode(_mac(key, signing_input)).rstrip(b"=").decode()


def _as_bytes(signing_input, key):
    return base64.urlsafe_b64encode(_mac(key, signing_input)).rstrip(b"=")


def _hexdigest(signing_input, key):
    return hmac.new(key, signing_input, hashlib.sha256).hexdigest()


def _swapped(signing_input, key):
    return hs256_sign(key, signing_input)


def _sha1(signing_input, key):
    return base64.urlsafe_b64encode(_mac(key, signing_input, hashlib.sha1)).rstrip(b"=").decode()


def _sha512(signing_input, key):
    return base64.urlsafe_b64encode(_mac(key, signing_input, hashlib.sha512)).rstrip(b"=").decode()


def _payload_only(signing_input, key):
    return hs256_sign(signing_input.split(b".")[1], key)


def _header_only(signing_input, key):
    return hs256_sign(signing_input.split(b".")[0], key)


def _key_as_text(signing_input, key):
    return hs256_sign(signing_input, key.decode("utf-8").encode("utf-8"))


def _message_as_text(signing_input, key):
    return hs256_sign(signing_input.decode("ascii"), key)


def _memorised(signing_input, key):
    return "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"


def _crashes(signing_input, key):
    return signing_input.nonexistent


def _not_started(signing_input, key):
    raise NotImplementedError("an HMAC-SHA-256 of the signing input")


async def _async_answer(signing_input, key):
    return hs256_sign(signing_input, key)


SIGN_CORPUS = {
    "padding kept": (_padded, "drop the '=' padding"),
    "standard base64": (_standard_alphabet, "URL-safe alphabet"),
    "bytes returned": (_as_bytes, "return text (str), not bytes"),
    "hex digest": (_hexdigest, "hex digest"),
    "key and message swapped": (_swapped, "swapped"),
    "SHA-1": (_sha1, "another hash"),
    "SHA-512": (_sha512, "another hash"),
    "payload segment only": (_payload_only, "only the payload segment"),
    "header segment only": (_header_only, "only the header segment"),
    "key decoded as text": (_key_as_text, "never .decode() it"),
    "message as str": (_message_as_text, "hmac works on bytes"),
    "memorised RFC value": (_memorised, "series' own"),
    "not a str": (lambda signing_input, key: 42, "got int"),
    "crash": (_crashes, "AttributeError"),
    "stub": (_not_started, "not done yet"),
    "async def": (_async_answer, ASYNC_ANSWER),
    "not a function": ("hs256", "expected a function"),
}


@pytest.mark.parametrize(("answer", "hint"), SIGN_CORPUS.values(), ids=SIGN_CORPUS.keys())
def test_signature_wrong_answers_are_named(answer, hint):
    assert_refused(check.hs256_signature(answer), hint)


def test_signature_corpus_is_large_enough():
    assert len(SIGN_CORPUS) >= 8


# --- hs256_verification: right answers -----------------------------------------------------------------------


def verify_with_digests(token, key):
    # Compares the encoded signatures as bytes, reads the header with PyJWT, splits with rpartition.
    if not token.isascii() or token.count(".") != 2:
        return False
    signing_input, _, signature = token.rpartition(".")
    try:
        alg = jwt.get_unverified_header(token).get("alg")
    except jwt.DecodeError:
        return False
    if alg != "HS256":
        return False
    mac = hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()
    expected = base64.urlsafe_b64encode(mac).rstrip(b"=")
    return secrets.compare_digest(expected, signature.encode("ascii"))


def verify_step_by_step(token: str, key: bytes) -> bool:
    parts = token.split(".")
    if len(parts) != 3 or not all(part.isascii() for part in parts):
        return False
    try:
        header = json.loads(b64url_decode(parts[0]).decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return False
    if type(header) is not dict or header.get("alg") != "HS256":
        return False
    from hmac import compare_digest

    return compare_digest(hs256_sign(".".join(parts[:2]).encode("ascii"), key), parts[2])


@pytest.mark.parametrize("answer", [hs256_verify, verify_with_digests, verify_step_by_step])
def test_verification_right_answers_pass(answer):
    result = check.hs256_verification(answer)
    assert result, repr(result)
    assert "constant time" in repr(result)


# --- hs256_verification: the wrong-answer corpus -------------------------------------------------------------


def _parts(token):
    header, payload, signature = token.split(".")
    return header, payload, signature


def _header(segment):
    return json.loads(b64url_decode(segment))


def _double_equals(token, key):
    if len(token.split(".")) != 3 or not token.isascii():
        return False
    header, payload, signature = _parts(token)
    try:
        if _header(header).get("alg") != "HS256":
            return False
    except (ValueError, AttributeError):
        return False
    return hs256_sign(f"{header}.{payload}".encode("ascii"), key) == signature


def _no_alg_check(token, key):
    if len(token.split(".")) != 3 or not token.isascii():
        return False
    header, payload, signature = _parts(token)
    return hmac.compare_digest(hs256_sign(f"{header}.{payload}".encode("ascii"), key), signature)


def _alg_any_case(token, key):
    if len(token.split(".")) != 3 or not token.isascii():
        return False
    header, payload, signature = _parts(token)
    try:
        alg = _header(header).get("alg")
    except ValueError:
        return False
    if str(alg).upper() != "HS256":
        return False
    return hmac.compare_digest(hs256_sign(f"{header}.{payload}".encode("ascii"), key), signature)


def _unpacks_without_checking(token, key):
    header, payload, signature = token.split(".")
    if _header(header).get("alg") != "HS256":
        return False
    return hmac.compare_digest(hs256_sign(f"{header}.{payload}".encode("ascii"), key), signature)


def _swallows_everything(token, key):
    try:
        return hs256_verify(token, key)
    except Exception:
        return False


def _decodes_the_signature(token, key):
    # Compares bytes after a lenient base64 decode: padding and '+'/'/' slip through.
    if len(token.split(".")) != 3 or not token.isascii():
        return False
    header, payload, signature = _parts(token)
    try:
        if _header(header).get("alg") != "HS256":
            return False
        given = base64.urlsafe_b64decode(signature + "==")
    except ValueError:
        return False
    return hmac.compare_digest(_mac(key, f"{header}.{payload}".encode("ascii")), given)


def _rebuilds_the_json(token, key):
    if len(token.split(".")) != 3 or not token.isascii():
        return False
    header, payload, signature = _parts(token)
    try:
        header_json = _header(header)
        payload_json = json.loads(b64url_decode(payload))
    except ValueError:
        return False
    if header_json.get("alg") != "HS256":
        return False
    again = ".".join(
        base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()
        for part in (header_json, payload_json)
    )
    return hmac.compare_digest(hs256_sign(again.encode("ascii"), key), signature)


def _signing_input_as_str(token, key):
    if len(token.split(".")) != 3 or not token.isascii():
        return False
    header, payload, signature = _parts(token)
    return hmac.compare_digest(hs256_sign(f"{header}.{payload}", key), signature)


def _no_ascii_check(token, key):
    if len(token.split(".")) != 3:
        return False
    header, payload, signature = _parts(token)
    try:
        if _header(header).get("alg") != "HS256":
            return False
    except ValueError:
        return False
    return hmac.compare_digest(hs256_sign(f"{header}.{payload}".encode(), key), signature)


def _returns_an_int(token, key):
    return int(hs256_verify(token, key))


def _payload_only_signed(token, key):
    if len(token.split(".")) != 3 or not token.isascii():
        return False
    header, payload, signature = _parts(token)
    try:
        if _header(header).get("alg") != "HS256":
            return False
    except ValueError:
        return False
    return hmac.compare_digest(hs256_sign(payload.encode("ascii"), key), signature)


def _ignores_the_signature(token, key):
    # Checks the shape and the algorithm, and never signs anything.
    if len(token.split(".")) != 3 or not token.isascii():
        return False
    try:
        return _header(token.split(".")[0]).get("alg") == "HS256"
    except ValueError:
        return False


def _not_started_verify(token, key):
    raise NotImplementedError("split, check alg, sign again, compare")


async def _async_verify(token, key):
    return True


VERIFY_CORPUS = {
    "== instead of compare_digest": (_double_equals, "hmac.compare_digest"),
    "alg not checked": (_no_alg_check, 'only "alg": "HS256" is allowed'),
    "alg compared case-insensitively": (_alg_any_case, "case-sensitive"),
    "raise instead of return False": (_unpacks_without_checking, "return False instead of raising"),
    "return False instead of raise": (_swallows_everything, "let Python raise"),
    "padding accepted (lenient decode)": (_decodes_the_signature, "no padding"),
    "JSON re-serialised before signing": (_rebuilds_the_json, "never re-built JSON"),
    "signing input as str": (_signing_input_as_str, "hmac needs bytes"),
    "non-ASCII not checked": (_no_ascii_check, "return False instead of raising"),
    "int instead of bool": (_returns_an_int, "return True or False"),
    "off by one: payload signed alone": (_payload_only_signed, "expected True, got False"),
    "signature never checked": (_ignores_the_signature, "made with another key"),
    "stub": (_not_started_verify, "not done yet"),
    "async def": (_async_verify, ASYNC_ANSWER),
    "not a function": (True, "expected a function"),
}


@pytest.mark.parametrize(("answer", "hint"), VERIFY_CORPUS.values(), ids=VERIFY_CORPUS.keys())
def test_verification_wrong_answers_are_named(answer, hint):
    assert_refused(check.hs256_verification(answer), hint)


def test_verification_corpus_is_large_enough():
    assert len(VERIFY_CORPUS) >= 8


def test_constant_time_is_not_required_of_code_that_cannot_be_read():
    # A builtin-like callable has no source: the behaviour alone decides.
    class Verifier:
        def __call__(self, token, key):
            return hs256_verify(token, key)

    assert check.hs256_verification(Verifier())


# --- missing_claims ------------------------------------------------------------------------------------------


def reference_missing(payload: dict) -> set[str]:
    return {claim for claim in REQUIRED_CLAIMS if payload.get(claim) is None}


def missing_by_difference(payload):
    return set(REQUIRED_CLAIMS) - {name for name, value in payload.items() if value is not None}


def missing_with_a_loop(payload):
    missing = frozenset()
    for claim in REQUIRED_CLAIMS:
        if claim not in payload or payload[claim] is None:
            missing |= {claim}
    return missing


@pytest.mark.parametrize("answer", [reference_missing, missing_by_difference, missing_with_a_loop])
def test_missing_claims_right_answers_pass(answer):
    result = check.missing_claims(answer)
    assert result
    assert repr(result).startswith(PASSED_PREFIX)


MISSING_CORPUS = {
    "a list": (lambda payload: [c for c in REQUIRED_CLAIMS if c not in payload], "return a set"),
    "presence only": (lambda payload: {c for c in REQUIRED_CLAIMS if c not in payload}, "null as missing"),
    "truthiness": (lambda payload: {c for c in REQUIRED_CLAIMS if not payload.get(c)}, "not truthiness"),
    "case-insensitive": (
        lambda payload: reference_missing({k.lower(): v for k, v in payload.items()}),
        "case-sensitive",
    ),
    "only sub and exp": (lambda payload: {c for c in ("sub", "exp") if c not in payload}, "RFC 7519 §3.1 example"),
    "nbf trusted": (
        lambda payload: set() if "nbf" in payload else reference_missing(payload),
        "nbf but without aud",
    ),
    "nbf required": (
        lambda payload: {c for c in [*REQUIRED_CLAIMS, "nbf"] if payload.get(c) is None},
        "series' server",
    ),
    "names the present ones": (
        lambda payload: {c for c in REQUIRED_CLAIMS if payload.get(c) is not None},
        "series' server",
    ),
    "crash on a missing key": (lambda payload: {payload["nbf"]}, "KeyError"),
    "stub": (lambda payload: (_ for _ in ()).throw(NotImplementedError), "not done yet"),
}


@pytest.mark.parametrize(("answer", "hint"), MISSING_CORPUS.values(), ids=MISSING_CORPUS.keys())
def test_missing_claims_wrong_answers_are_named(answer, hint):
    assert_refused(check.missing_claims(answer), hint)


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"iss": "joe", "exp": 1300819380, "http://example.com/is_root": True},
        {"sub": "1", "iat": 1, "exp": 2, "iss": "i", "aud": "a", "jti": None},
        {"sub": "1", "iat": 1, "exp": 2, "iss": "i", "jti": "j", "nbf": 1},
        {"sub": "1", "iat": 1, "exp": 2, "iss": "i", "aud": "a", "jti": "j"},
        {"sub": "0", "iat": 0, "exp": 2, "iss": "i", "aud": "", "jti": "j"},
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


def test_the_reference_swapped_in_by_the_stuck_line_passes_and_says_so():
    assert "That is the reference from tutorial_src/lab/jose.py" in repr(check.hs256_signature(hs256_sign))
    assert "That is the reference" in repr(check.hs256_verification(hs256_verify))
    assert "reference" not in repr(check.hs256_signature(sign_with_pyjwt))
