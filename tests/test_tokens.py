"""tutorial_src.tokens: the claims of an access token, and every way ``decode_access_token`` refuses one.

Each refusal asserts PyJWT's own exception class (https://pyjwt.readthedocs.io/en/stable/api.html#exceptions).
Times are whole minutes away from the leeway's edges, so a slow machine cannot turn a pass into a failure.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from jwt import exceptions as jwt_errors

from tutorial_src.models import User
from tutorial_src.settings import fast_test_settings
from tutorial_src.tokens import REQUIRED_CLAIMS, create_access_token, decode_access_token

# 64 bytes, so the same secret can also sign the HS512 token of the algorithm test without PyJWT's
# InsecureKeyLengthWarning.
SECRET = "k" * 64
LEEWAY = 120
ALICE = User(id=1, email="alice@example.com", password_hash="unused")


@pytest.fixture
def settings():
    return fast_test_settings(jwt_secret=SECRET, leeway=LEEWAY)


def now() -> datetime:
    return datetime.now(timezone.utc)


def valid_claims(settings, **changes):
    issued = now()
    claims = {
        "sub": "1",
        "iat": issued,
        "exp": issued + timedelta(seconds=settings.access_token_ttl),
        "iss": settings.issuer,
        "aud": settings.audience,
        "jti": "0123456789abcdef0123456789abcdef",
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def sign(claims, key=SECRET, algorithm="HS256"):
    return jwt.encode(claims, key, algorithm=algorithm)


def unverified(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


# --- the claims ---------------------------------------------------------------------------------------------


def test_claims(settings):
    token = create_access_token(ALICE, settings)
    claims = decode_access_token(token, settings)
    assert set(claims) == set(REQUIRED_CLAIMS)
    assert claims["sub"] == "1"
    assert isinstance(claims["sub"], str)  # RFC 7519 §4.1.2, enforced by PyJWT >= 2.10
    assert claims["exp"] - claims["iat"] == settings.access_token_ttl
    assert claims["iss"] == settings.issuer
    assert claims["aud"] == settings.audience
    assert re.fullmatch(r"[0-9a-f]{32}", claims["jti"])


def test_header_names_the_settings_algorithm(settings):
    assert jwt.get_unverified_header(create_access_token(ALICE, settings)) == {"alg": "HS256", "typ": "at+jwt"}


def test_required_claims_are_the_ones_issued():
    assert REQUIRED_CLAIMS == ["sub", "iat", "exp", "iss", "aud", "jti"]


def test_jti_is_unique_per_token(settings):
    ids = {unverified(create_access_token(ALICE, settings))["jti"] for _ in range(20)}
    assert len(ids) == 20


def test_times_come_from_the_given_utc_datetime(settings):
    issued = datetime(2031, 5, 17, 12, 0, 0, tzinfo=timezone.utc)
    claims = unverified(create_access_token(ALICE, settings, now=issued))
    assert claims["iat"] == int(issued.timestamp()) == 1936785600
    assert claims["exp"] == claims["iat"] + settings.access_token_ttl


def test_an_aware_non_utc_datetime_means_the_same_instant(settings):
    utc = datetime(2031, 5, 17, 12, 0, 0, tzinfo=timezone.utc)
    paris_summer = utc.astimezone(timezone(timedelta(hours=2)))
    assert unverified(create_access_token(ALICE, settings, now=paris_summer))["iat"] == int(utc.timestamp())


def test_naive_now_is_refused(settings):
    with pytest.raises(ValueError, match="timezone-aware"):
        create_access_token(ALICE, settings, now=datetime(2031, 5, 17, 12, 0, 0))


def test_default_now_is_the_current_time(settings):
    before = int(now().timestamp())
    iat = unverified(create_access_token(ALICE, settings))["iat"]
    after = int(now().timestamp())
    assert before <= iat <= after


def test_ttl_comes_from_the_settings():
    settings = fast_test_settings(jwt_secret=SECRET, access_token_ttl=60)
    claims = unverified(create_access_token(ALICE, settings))
    assert claims["exp"] - claims["iat"] == 60


def test_a_now_in_the_past_gives_an_expired_token(settings):
    long_ago = now() - timedelta(seconds=settings.access_token_ttl + LEEWAY + 60)
    with pytest.raises(jwt.ExpiredSignatureError):
        decode_access_token(create_access_token(ALICE, settings, now=long_ago), settings)


def test_expired_within_leeway_is_still_accepted(settings):
    # exp lies 60 s in the past, the leeway is 120 s.
    issued = now() - timedelta(seconds=settings.access_token_ttl + 60)
    assert decode_access_token(create_access_token(ALICE, settings, now=issued), settings)["sub"] == "1"


# --- refusals -----------------------------------------------------------------------------------------------


def test_wrong_secret(settings):
    token = sign(valid_claims(settings), key="another-secret-" * 5)
    with pytest.raises(jwt.InvalidSignatureError):
        decode_access_token(token, settings)


def test_tampered_payload(settings):
    header, _, signature = create_access_token(ALICE, settings).split(".")
    forged = base64.urlsafe_b64encode(json.dumps(valid_claims(settings, sub="2", iat=0, exp=2**40)).encode())
    token = ".".join([header, forged.decode().rstrip("="), signature])
    with pytest.raises(jwt.InvalidSignatureError):
        decode_access_token(token, settings)


def test_another_hmac_algorithm_with_the_right_secret(settings):
    # Signed correctly, but with HS512: the allow-list holds only HS256 (RFC 8725 §3.1).
    token = sign(valid_claims(settings), algorithm="HS512")
    with pytest.raises(jwt.InvalidAlgorithmError):
        decode_access_token(token, settings)


def test_alg_none(settings):
    token = jwt.encode(valid_claims(settings), None, algorithm="none")
    assert token.endswith(".")  # an unsigned token: empty signature
    with pytest.raises(jwt.InvalidAlgorithmError):
        decode_access_token(token, settings)


def test_alg_none_handmade_with_a_copied_signature(settings):
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').decode().rstrip("=")
    _, payload, signature = create_access_token(ALICE, settings).split(".")
    with pytest.raises(jwt.InvalidAlgorithmError):
        decode_access_token(f"{header}.{payload}.{signature}", settings)


def test_nbf_in_the_future_beyond_leeway(settings):
    token = sign(valid_claims(settings, nbf=now() + timedelta(seconds=LEEWAY + 60)))
    with pytest.raises(jwt.ImmatureSignatureError, match="nbf"):
        decode_access_token(token, settings)


def test_nbf_in_the_future_within_leeway_is_accepted(settings):
    token = sign(valid_claims(settings, nbf=now() + timedelta(seconds=LEEWAY - 60)))
    assert decode_access_token(token, settings)["sub"] == "1"


def test_iat_in_the_future_beyond_leeway(settings):
    issued = now() + timedelta(seconds=LEEWAY + 60)
    token = create_access_token(ALICE, settings, now=issued)
    with pytest.raises(jwt.ImmatureSignatureError, match="iat"):
        decode_access_token(token, settings)


def test_iat_in_the_future_within_leeway_is_accepted(settings):
    issued = now() + timedelta(seconds=LEEWAY - 60)
    assert decode_access_token(create_access_token(ALICE, settings, now=issued), settings)["sub"] == "1"


def test_zero_leeway_refuses_a_clock_a_minute_ahead():
    strict = fast_test_settings(jwt_secret=SECRET, leeway=0)
    token = create_access_token(ALICE, strict, now=now() + timedelta(seconds=60))
    with pytest.raises(jwt.ImmatureSignatureError):
        decode_access_token(token, strict)


def test_wrong_issuer(settings):
    with pytest.raises(jwt.InvalidIssuerError):
        decode_access_token(sign(valid_claims(settings, iss="someone-else")), settings)


def test_wrong_audience(settings):
    with pytest.raises(jwt.InvalidAudienceError):
        decode_access_token(sign(valid_claims(settings, aud="another-api")), settings)


def test_audience_list_containing_ours_is_accepted(settings):
    # RFC 7519 §4.1.3: aud may be an array; the token is for us when it names us.
    token = sign(valid_claims(settings, aud=["another-api", settings.audience]))
    assert decode_access_token(token, settings)["sub"] == "1"


@pytest.mark.parametrize("claim", REQUIRED_CLAIMS)
def test_each_required_claim_is_required(settings, claim):
    claims = valid_claims(settings)
    del claims[claim]
    with pytest.raises(jwt.MissingRequiredClaimError) as caught:
        decode_access_token(sign(claims), settings)
    assert caught.value.claim == claim


def test_integer_sub(settings):
    with pytest.raises(jwt_errors.InvalidSubjectError):
        decode_access_token(sign(valid_claims(settings, sub=1)), settings)


def test_integer_jti(settings):
    with pytest.raises(jwt_errors.InvalidJTIError):
        decode_access_token(sign(valid_claims(settings, jti=7)), settings)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30", "x" * 5000])
def test_garbage_is_a_decode_error(settings, garbage):
    with pytest.raises(jwt.DecodeError):
        decode_access_token(garbage, settings)


def test_every_refusal_is_an_invalid_token_error():
    # Callers (the auth middleware) catch this one base class.
    for error in (
        jwt.ExpiredSignatureError,
        jwt.ImmatureSignatureError,
        jwt.InvalidAlgorithmError,
        jwt.InvalidSignatureError,
        jwt.InvalidIssuerError,
        jwt.InvalidAudienceError,
        jwt.MissingRequiredClaimError,
        jwt_errors.InvalidSubjectError,
        jwt_errors.InvalidJTIError,
        jwt.DecodeError,
    ):
        assert issubclass(error, jwt.InvalidTokenError)
