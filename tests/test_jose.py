"""``tutorial_src.lab.jose``: base64url and HS256 by hand agree with PyJWT on any input."""

from __future__ import annotations

import json

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jwt.utils import base64url_decode as pyjwt_b64decode
from jwt.utils import base64url_encode as pyjwt_b64encode

from tutorial_src.lab.jose import b64url_decode, b64url_encode, hs256_sign, hs256_verify, jws_signing_input

KEY = b"a test key that is at least thirty-two bytes long"


def test_b64url_uses_the_url_safe_alphabet_without_padding():
    assert b64url_encode(b"\xfb\xff") == "-_8"
    assert b64url_encode(b"") == ""
    assert b64url_decode("-_8") == b"\xfb\xff"
    assert b64url_decode("eyJhIjoxfQ") == b'{"a":1}'  # the padding "==" is put back


@given(st.binary(max_size=200))
def test_b64url_round_trip_and_matches_pyjwt(data):
    encoded = b64url_encode(data)
    assert "=" not in encoded
    assert encoded == pyjwt_b64encode(data).decode("ascii")
    assert b64url_decode(encoded) == data == pyjwt_b64decode(encoded)


@given(st.binary(max_size=200), st.binary(max_size=200))
def test_signing_input_is_two_segments(header, payload):
    first, second = jws_signing_input(header, payload).decode("ascii").split(".")
    assert (b64url_decode(first), b64url_decode(second)) == (header, payload)


# Not "iss": PyJWT refuses to encode a non-string issuer (TypeError, jpadilla/pyjwt#1039).
@given(
    st.dictionaries(
        st.text(max_size=8).filter(lambda name: name != "iss"), st.integers() | st.text(max_size=8), max_size=4
    )
)
def test_pyjwt_tokens_verify_by_hand_and_hand_signatures_match(claims):
    token = jwt.encode(claims, KEY, algorithm="HS256")
    assert hs256_verify(token, KEY)
    header, payload, signature = token.split(".")
    assert hs256_sign(f"{header}.{payload}".encode("ascii"), KEY) == signature


@pytest.mark.parametrize(
    "token",
    [
        "",
        "only.two",
        "one.too.many.segments",
        "héader.payload.signature",
    ],
)
def test_malformed_tokens_do_not_verify(token):
    assert hs256_verify(token, KEY) is False


def test_wrong_key_or_changed_payload_does_not_verify():
    token = jwt.encode({"sub": "1"}, KEY, algorithm="HS256")
    assert hs256_verify(token, KEY[::-1]) is False
    header, _, signature = token.split(".")
    forged_payload = b64url_encode(b'{"sub":"2"}')
    changed = f"{header}.{forged_payload}.{signature}"
    assert hs256_verify(changed, KEY) is False


def _signed_with_header(header: dict, key: bytes = KEY) -> str:
    # Any header, HMAC-SHA-256-signed with KEY whatever its alg says.
    signing_input = f"{b64url_encode(json.dumps(header).encode())}.{b64url_encode(b'{}')}"
    return f"{signing_input}.{hs256_sign(signing_input.encode('ascii'), key)}"


@pytest.mark.parametrize(
    "header",
    [{"alg": "none"}, {"alg": "hs256"}, {"alg": "HS512"}, {"alg": "RS256"}, {"typ": "JWT"}, {"alg": None}],
    ids=["none", "lower-case", "HS512", "RS256", "no-alg", "null"],
)
def test_a_header_that_does_not_say_hs256_exactly_does_not_verify(header):
    # RFC 8725 §3.1: the verifier picks the algorithm; RFC 7515 §4.1.1: alg values are case-sensitive.
    assert hs256_verify(_signed_with_header(header), KEY) is False
    assert hs256_verify(_signed_with_header({"alg": "HS256"}), KEY) is True


@pytest.mark.parametrize("header_segment", [b64url_encode(b"not json"), b64url_encode(b'["alg", "HS256"]'), "A"])
def test_a_header_that_is_not_a_json_object_does_not_verify(header_segment):
    signing_input = f"{header_segment}.{b64url_encode(b'{}')}"
    assert hs256_verify(f"{signing_input}.{hs256_sign(signing_input.encode('ascii'), KEY)}", KEY) is False


def test_a_padded_signature_does_not_verify():
    # A JWS signature has no padding (RFC 7515 §2). PyJWT's answer to "sig=" changed between releases (2.15.0
    # refuses it as "Invalid crypto padding", 2.15.1 pads before decoding and accepts it), so it is not pinned.
    token = jwt.encode({"sub": "1"}, KEY, algorithm="HS256")
    assert hs256_verify(f"{token}=", KEY) is False


def test_bytes_for_the_token_or_str_for_the_key_is_a_type_error():
    token = jwt.encode({"sub": "1"}, KEY, algorithm="HS256")
    with pytest.raises(TypeError):
        hs256_verify(token.encode("ascii"), KEY)
    with pytest.raises(TypeError):
        hs256_verify(token, KEY.decode("ascii"))
