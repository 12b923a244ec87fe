"""RFC 7515 Appendix A.1 (the HS256 example also used by RFC 7519 §3.1), pinned byte for byte.

Every value below is copied from the RFC. The by-hand functions of ``tutorial_src.lab.jose`` (the ones notebook
04 shows), ``hmac``/``hashlib`` alone, and PyJWT must each reproduce or accept them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import jwt
import pytest
from jwt.algorithms import HMACAlgorithm

from tutorial_src.lab.jose import b64url_decode, b64url_encode, hs256_sign, hs256_verify, jws_signing_input

# The JWK "k" member of the example's symmetric key.
K = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"
# The UTF-8 octets of the JOSE header and of the JWS payload, as the RFC lists them.
HEADER_OCTETS = [
    123,
    34,
    116,
    121,
    112,
    34,
    58,
    34,
    74,
    87,
    84,
    34,
    44,
    13,
    10,
    32,
    34,
    97,
    108,
    103,
    34,
    58,
    34,
    72,
    83,
    50,
    53,
    54,
    34,
    125,
]
PAYLOAD_OCTETS = [
    123,
    34,
    105,
    115,
    115,
    34,
    58,
    34,
    106,
    111,
    101,
    34,
    44,
    13,
    10,
    32,
    34,
    101,
    120,
    112,
    34,
    58,
    49,
    51,
    48,
    48,
    56,
    49,
    57,
    51,
    56,
    48,
    44,
    13,
    10,
    32,
    34,
    104,
    116,
    116,
    112,
    58,
    47,
    47,
    101,
    120,
    97,
    109,
    112,
    108,
    101,
    46,
    99,
    111,
    109,
    47,
    105,
    115,
    95,
    114,
    111,
    111,
    116,
    34,
    58,
    116,
    114,
    117,
    101,
    125,
]
HEADER_SEGMENT = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
PAYLOAD_SEGMENT = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
SIGNATURE_OCTETS = [
    116,
    24,
    223,
    180,
    151,
    153,
    224,
    37,
    79,
    250,
    96,
    125,
    216,
    173,
    187,
    186,
    22,
    212,
    37,
    77,
    105,
    214,
    191,
    240,
    91,
    88,
    5,
    88,
    83,
    132,
    141,
    121,
]
SIGNATURE = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
TOKEN = f"{HEADER_SEGMENT}.{PAYLOAD_SEGMENT}.{SIGNATURE}"

HEADER = b'{"typ":"JWT",\r\n "alg":"HS256"}'
PAYLOAD = b'{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}'


@pytest.fixture
def key() -> bytes:
    return base64.urlsafe_b64decode(K + "==")


def test_the_notebook_literals_are_the_rfc_octets():
    assert list(HEADER) == HEADER_OCTETS
    assert list(PAYLOAD) == PAYLOAD_OCTETS


def test_key_is_512_bits(key):
    assert len(key) == 64
    assert b64url_decode(K) == key
    assert b64url_encode(key) == K


def test_segments(key):
    assert b64url_encode(HEADER) == HEADER_SEGMENT
    assert b64url_encode(PAYLOAD) == PAYLOAD_SEGMENT
    assert b64url_decode(HEADER_SEGMENT) == HEADER
    assert b64url_decode(PAYLOAD_SEGMENT) == PAYLOAD


def test_signing_input():
    assert jws_signing_input(HEADER, PAYLOAD) == f"{HEADER_SEGMENT}.{PAYLOAD_SEGMENT}".encode("ascii")


def test_signature_by_hand(key):
    assert hs256_sign(jws_signing_input(HEADER, PAYLOAD), key) == SIGNATURE
    assert list(b64url_decode(SIGNATURE)) == SIGNATURE_OCTETS


def test_signature_with_hmac_and_hashlib_only(key):
    signing_input = (HEADER_SEGMENT + "." + PAYLOAD_SEGMENT).encode("ascii")
    digest = hmac.new(key, signing_input, hashlib.sha256).digest()
    assert list(digest) == SIGNATURE_OCTETS
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii") == SIGNATURE


def test_signature_with_pyjwt_hmac(key):
    signing_input = jws_signing_input(HEADER, PAYLOAD)
    assert HMACAlgorithm(HMACAlgorithm.SHA256).sign(signing_input, key) == bytes(SIGNATURE_OCTETS)


def test_by_hand_verification(key):
    assert hs256_verify(TOKEN, key)


def test_pyjwt_verifies_the_token_when_expiry_is_not_checked(key):
    # exp is 1300819380 (2011-03-22T18:43:00Z): only the signature is under test here.
    claims = jwt.decode(TOKEN, key, algorithms=["HS256"], options={"verify_exp": False})
    assert claims == {"iss": "joe", "exp": 1300819380, "http://example.com/is_root": True}
    assert jwt.get_unverified_header(TOKEN) == {"typ": "JWT", "alg": "HS256"}


def test_pyjwt_calls_the_example_expired(key):
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(TOKEN, key, algorithms=["HS256"])


def test_reserialised_json_gives_another_segment_and_signature(key):
    reserialised = json.dumps(json.loads(HEADER), separators=(",", ":")).encode("utf-8")
    assert b64url_encode(reserialised) != HEADER_SEGMENT
    assert hs256_sign(jws_signing_input(reserialised, PAYLOAD), key) != SIGNATURE
