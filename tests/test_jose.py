"""``tutorial_src.lab.jose``: base64url and HS256 by hand agree with PyJWT on any input."""

from __future__ import annotations

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
