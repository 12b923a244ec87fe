"""The verified-token cache: bounded LRU, time re-checks on every hit, and the same verdicts as PyJWT."""

from __future__ import annotations

import time
import warnings
from collections import OrderedDict
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from conftest import TEST_SECRET

import tutorial_src.auth as auth
from tutorial_src.auth import authenticate_token, describe_token_error
from tutorial_src.errors import InvalidToken
from tutorial_src.settings import Settings
from tutorial_src.token_cache import VERIFIED_TOKENS, TokenCache, VerifiedToken, seconds
from tutorial_src.tokens import REQUIRED_CLAIMS, create_access_token, decode_access_token

NOW = 1_700_000_000
#: What the cache tests verify under: 10 s of leeway, like the app's default.
SETTINGS = Settings(jwt_secret=TEST_SECRET, leeway=10)
ENTRY = VerifiedToken(user_id=1, settings=SETTINGS, not_before=NOW, expires_at=NOW + 900)


@pytest.fixture(autouse=True)
def empty_cache():
    VERIFIED_TOKENS.clear()
    yield
    VERIFIED_TOKENS.clear()
    VERIFIED_TOKENS.maxsize = 1024


class FakeClock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# --- VerifiedToken.times_hold: the same comparisons as PyJWT -------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (NOW, True),
        (NOW + 900 + 10 - 1, True),  # within the leeway after exp
        (NOW + 900 + 10, False),  # PyJWT: expired once exp <= now - leeway
        (NOW - 10, True),  # iat at most leeway seconds in the future
        (NOW - 11, False),
    ],
)
def test_times_hold_mirrors_pyjwt_boundaries(now, expected):
    assert ENTRY.times_hold(now) is expected


def test_times_hold_uses_the_leeway_of_its_settings():
    strict = VerifiedToken(1, Settings(jwt_secret=TEST_SECRET, leeway=0), NOW, NOW + 900)
    assert strict.times_hold(NOW + 899) and not strict.times_hold(NOW + 900)
    assert not strict.times_hold(NOW - 1)


def test_times_hold_checks_nbf():
    entry = VerifiedToken.from_claims(1, {"iat": NOW, "nbf": NOW + 60, "exp": NOW + 900}, SETTINGS)
    assert not entry.times_hold(NOW)
    assert entry.times_hold(NOW + 50)


@pytest.mark.parametrize(
    ("nbf", "not_before"),
    [(None, NOW), (NOW - 60, NOW), (NOW + 60, NOW + 60)],
    ids=["no nbf", "nbf before iat", "nbf after iat"],
)
def test_not_before_is_the_later_of_iat_and_nbf(nbf, not_before):
    # PyJWT refuses when iat > now + leeway or when nbf > now + leeway: the later of the two decides.
    claims = {"sub": "1", "iat": NOW, "exp": NOW + 900, "nbf": nbf, "iss": "x", "aud": "y", "jti": "z"}
    assert VerifiedToken.from_claims(1, claims, SETTINGS) == VerifiedToken(1, SETTINGS, not_before, NOW + 900)


def test_from_claims_keeps_the_times_as_floats():
    # Issue 8: the clock gives floats; comparing a float with an int of this size costs several times more.
    entry = VerifiedToken.from_claims(1, {"iat": NOW, "exp": NOW + 900, "nbf": str(NOW)}, SETTINGS)
    assert all(type(value) is float for value in (entry.not_before, entry.expires_at))
    assert entry == VerifiedToken(1, SETTINGS, float(NOW), float(NOW + 900))


@pytest.mark.parametrize(
    ("claim", "expected"),
    [
        (NOW, float(NOW)),
        (NOW + 0.9, float(NOW)),  # int() as PyJWT reads it
        ("1700000000", float(NOW)),
        (True, 1.0),
        (10**400, 2.0**53),  # float(10**400) would overflow: a 500 on a token PyJWT accepts
        (-(10**400), -(2.0**53)),
    ],
)
def test_seconds_reads_like_pyjwt_and_never_overflows(claim, expected):
    assert seconds(claim) == expected


def test_times_beyond_the_float_range_compare_like_pyjwt():
    entry = VerifiedToken.from_claims(1, {"iat": NOW, "exp": 10**400}, SETTINGS)
    assert entry.times_hold(NOW)
    entry = VerifiedToken.from_claims(1, {"iat": 10**400, "exp": 10**401}, SETTINGS)
    assert not entry.times_hold(NOW)


# --- TokenCache: bounded, LRU, never a stale hit --------------------------------------------------------------


def test_miss_then_hit():
    cache = TokenCache(clock=FakeClock())
    assert cache.get("a", SETTINGS) is None
    cache.put("a", ENTRY)
    assert cache.get("a", SETTINGS) is ENTRY
    assert "a" in cache and len(cache) == 1


def test_least_recently_used_goes_first():
    cache = TokenCache(maxsize=2, clock=FakeClock())
    cache.put("a", ENTRY)
    cache.put("b", ENTRY)
    assert cache.get("a", SETTINGS) is ENTRY  # a is now the most recently used
    cache.put("c", ENTRY)
    assert "a" in cache and "c" in cache and "b" not in cache
    assert len(cache) == 2


def test_size_zero_disables_the_cache():
    cache = TokenCache(maxsize=0, clock=FakeClock())
    cache.put("a", ENTRY)
    assert len(cache) == 0 and cache.get("a", SETTINGS) is None


def test_negative_size_is_refused():
    with pytest.raises(ValueError, match="maxsize"):
        TokenCache(maxsize=-1)


def test_an_expired_entry_is_no_hit_and_is_dropped():
    clock = FakeClock()
    cache = TokenCache(clock=clock)
    cache.put("a", ENTRY)
    clock.now = NOW + 900 + 10
    assert cache.get("a", SETTINGS) is None
    assert "a" not in cache


def test_discard_and_clear():
    cache = TokenCache(clock=FakeClock())
    cache.put("a", ENTRY)
    cache.put("b", ENTRY)
    cache.discard("a")
    cache.discard("not there")
    assert "a" not in cache and "b" in cache
    cache.clear()
    assert len(cache) == 0


def test_a_hit_survives_a_concurrent_eviction():
    # Another thread may evict the key between the lock-free get and move_to_end: still a valid hit.
    class EvictedMeanwhile(OrderedDict):
        def move_to_end(self, key, last=True):
            raise KeyError(key)

    cache = TokenCache(clock=FakeClock())
    cache._entries = EvictedMeanwhile(a=ENTRY)
    assert cache.get("a", SETTINGS) is ENTRY


def test_the_default_clock_is_the_system_clock():
    cache = TokenCache()
    now = int(time.time())
    strict = Settings(jwt_secret=TEST_SECRET, leeway=0)
    cache.put("a", VerifiedToken(1, strict, now, now + 60))
    assert cache.get("a", strict) is not None


# --- a hit needs the exact token and the same settings ------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"jwt_secret": "another-secret-that-is-at-least-32-bytes"},
        {"jwt_algorithm": "HS512"},
        {"issuer": "someone-else"},
        {"audience": "another-api"},
        {"leeway": 0},
        {"realm": "x"},
    ],
    ids=["secret", "algorithm", "issuer", "audience", "leeway", "realm"],
)
def test_an_entry_is_no_hit_under_other_settings(change):
    # A 64-byte secret, long enough for HS512 (Settings refuses shorter ones), so only `change` differs.
    # Every field counts, also those that do not change the verdict (realm): stricter than needed, and an app
    # has one Settings.
    base = Settings(**{**SETTINGS.__dict__, "jwt_secret": "s" * 64})
    cache = TokenCache(clock=FakeClock())
    cache.put("t", VerifiedToken(1, base, NOW, NOW + 900))
    assert cache.get("t", Settings(**{**base.__dict__, **change})) is None
    assert "t" in cache  # not dropped: the caller verifies in full, and its put replaces the entry


def test_equal_settings_hit_without_being_the_same_object():
    cache = TokenCache(clock=FakeClock())
    cache.put("t", ENTRY)
    assert cache.get("t", Settings(**SETTINGS.__dict__)) is ENTRY


def test_the_key_is_the_exact_token():
    cache = TokenCache(clock=FakeClock())
    cache.put("t", ENTRY)
    assert cache.get("t ", SETTINGS) is None and cache.get("T", SETTINGS) is None
    assert cache.get("".join(["t"]), SETTINGS) is ENTRY  # an equal string, another object


# --- authenticate_token with the cache ------------------------------------------------------------------------


@pytest.fixture
def decodes(monkeypatch):
    """How many full verifications ``authenticate_token`` ran."""
    calls = []

    def counting(token, settings):
        calls.append(token)
        return decode_access_token(token, settings)

    monkeypatch.setattr(auth, "decode_access_token", counting)
    return calls


def test_a_second_request_skips_the_full_verification(settings, users, decodes):
    alice = users.get_by_id(1)
    token = create_access_token(alice, settings)
    assert authenticate_token(token, settings, users) == alice
    assert authenticate_token(token, settings, users) == alice
    assert len(decodes) == 1
    assert token in VERIFIED_TOKENS


def test_a_deleted_user_is_refused_at_once_even_when_cached(settings, users):
    token = create_access_token(users.get_by_id(1), settings)
    authenticate_token(token, settings, users)
    users.delete(1)
    with pytest.raises(InvalidToken, match="no longer exists"):
        authenticate_token(token, settings, users)
    assert token not in VERIFIED_TOKENS


def test_the_user_is_looked_up_in_the_store_given(settings, users):
    # A cached verdict is about the token; the user comes from the store of this call, every time.
    token = create_access_token(users.get_by_id(1), settings)
    authenticate_token(token, settings, users)
    other_store = type(users).from_settings(settings)
    with pytest.raises(InvalidToken, match="no longer exists"):
        authenticate_token(token, settings, other_store)


class _Later(datetime):
    """PyJWT's clock, an hour ahead (``jwt.api_jwt`` calls ``datetime.now(tz=timezone.utc)``)."""

    @classmethod
    def now(cls, tz=None):
        return datetime.now(tz) + timedelta(hours=1)


def test_expiry_is_rechecked_on_every_hit(settings, users, monkeypatch, decodes):
    token = create_access_token(users.get_by_id(1), settings)
    authenticate_token(token, settings, users)
    monkeypatch.setattr(VERIFIED_TOKENS, "clock", lambda: time.time() + 3600)
    monkeypatch.setattr(jwt.api_jwt, "datetime", _Later)
    with pytest.raises(InvalidToken, match="the token has expired"):
        authenticate_token(token, settings, users)
    assert len(decodes) == 2  # the stale hit fell through to PyJWT, which refused
    assert token not in VERIFIED_TOKENS


def test_a_verdict_under_other_settings_is_not_reused(settings, users):
    token = create_access_token(users.get_by_id(1), settings)
    authenticate_token(token, settings, users)
    for change, message in [
        ({"jwt_secret": "another-secret-that-is-at-least-32-bytes"}, "signature does not match"),
        ({"issuer": "someone-else"}, "another issuer"),
        ({"audience": "another-api"}, "another audience"),
        # The secret grows too, since HS512 needs 64 bytes; the algorithm check comes first.
        ({"jwt_algorithm": "HS512", "jwt_secret": "s" * 64}, "algorithm is not allowed"),
    ]:
        other = Settings(**{**settings.__dict__, **change})
        with pytest.raises(InvalidToken, match=message):
            authenticate_token(token, other, users)


def test_a_token_verified_under_other_settings_is_verified_again_then_replaced(settings, users, decodes):
    token = create_access_token(users.get_by_id(1), settings)
    authenticate_token(token, settings, users)
    renamed = Settings(**{**settings.__dict__, "realm": "another-realm"})  # the token passes under both
    for _ in range(2):
        assert authenticate_token(token, renamed, users).id == 1
    assert len(decodes) == 2 and len(VERIFIED_TOKENS) == 1  # one full check under each; the second call hit


def test_without_the_cache_every_request_is_verified_in_full(settings, users, decodes):
    VERIFIED_TOKENS.maxsize = 0
    token = create_access_token(users.get_by_id(1), settings)
    for _ in range(3):
        assert authenticate_token(token, settings, users).id == 1
    assert len(decodes) == 3 and len(VERIFIED_TOKENS) == 0


# --- the fast path agrees with PyJWT's verdict ----------------------------------------------------------------

OTHER_SECRET = "a-different-secret-also-32-bytes-or-more"


def _claims(**changes):
    now = datetime.now(timezone.utc)
    claims = {
        "sub": "1",
        "iat": now,
        "exp": now + timedelta(minutes=15),
        "iss": "jwt-tutorial",
        "aud": "jwt-tutorial-api",
        "jti": "0123456789abcdef0123456789abcdef",
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def _sign(claims, key=TEST_SECRET, algorithm="HS256"):
    with warnings.catch_warnings():
        # PyJWT warns that our 42-byte key is short for HS512; signing with it anyway is the attack.
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(claims, key, algorithm=algorithm)


def _hostile_tokens():
    now = datetime.now(timezone.utc)
    valid = _sign(_claims())
    header, payload, signature = valid.split(".")
    tokens = {
        "valid": valid,
        "valid for the admin": _sign(_claims(sub="2")),
        "valid with nbf in the past": _sign(_claims(nbf=now - timedelta(minutes=1))),
        "alg none": jwt.encode(_claims(), None, algorithm="none"),
        "HS512": _sign(_claims(), algorithm="HS512"),
        "wrong key": _sign(_claims(), key=OTHER_SECRET),
        "expired": _sign(_claims(iat=now - timedelta(hours=1), exp=now - timedelta(minutes=1))),
        "expired within the leeway": _sign(_claims(exp=now - timedelta(seconds=3))),
        "nbf in the future": _sign(_claims(nbf=now + timedelta(minutes=5))),
        "iat in the future": _sign(_claims(iat=now + timedelta(minutes=5))),
        # Beyond the float range: float(10**400) overflows, and PyJWT accepts the first (issue 8 regression).
        "exp 10**400": _sign(_claims(exp=10**400)),
        "iat 10**400": _sign(_claims(iat=10**400)),
        "wrong issuer": _sign(_claims(iss="evil")),
        "wrong audience": _sign(_claims(aud="another-api")),
        "subject not a user id": _sign(_claims(sub="alice")),
        "unknown user": _sign(_claims(sub="99")),
        "tampered payload": f"{header}.{_sign(_claims(sub='2')).split('.')[1]}.{signature}",
        "malformed": "not.a.token",
        "two segments": f"{header}.{payload}",
    }
    for claim in REQUIRED_CLAIMS:
        tokens[f"no {claim}"] = _sign(_claims(**{claim: None}))
    return tokens


# Names only: the tokens are made again inside each test, because "expired within the leeway" is 3 s past
# its exp when made and would drift beyond the 10 s leeway while a long test session runs.
HOSTILE = list(_hostile_tokens())


def pyjwt_verdict(token, settings, users):
    """The verdict without any cache: PyJWT's answer, then the subject and the user."""
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=[settings.jwt_algorithm],
            audience=settings.audience,
            issuer=settings.issuer,
            leeway=settings.leeway,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.InvalidTokenError as error:
        return ("refused", describe_token_error(error))
    if not claims["sub"].isdigit():
        return ("refused", "the token's subject is not a user id")
    user = users.get_by_id(int(claims["sub"]))
    return ("accepted", user.id) if user else ("refused", "the token's user no longer exists")


def fast_verdict(token, settings, users):
    try:
        return ("accepted", authenticate_token(token, settings, users).id)
    except InvalidToken as error:
        return ("refused", str(error))


@pytest.mark.parametrize("name", HOSTILE)
def test_cold_and_warm_verdicts_agree_with_pyjwt(name, settings, users):
    token = _hostile_tokens()[name]
    expected = pyjwt_verdict(token, settings, users)
    verdicts = [fast_verdict(token, settings, users) for _ in range(3)]  # cold, then (if cached) warm twice
    assert verdicts == [expected] * 3
    assert (token in VERIFIED_TOKENS) == (expected[0] == "accepted")


def test_the_hostile_set_has_both_verdicts(settings, users):
    verdicts = {name: pyjwt_verdict(token, settings, users)[0] for name, token in _hostile_tokens().items()}
    assert [name for name, v in verdicts.items() if v == "accepted"] == [
        "valid",
        "valid for the admin",
        "valid with nbf in the past",
        "expired within the leeway",
        "exp 10**400",
    ]


def test_a_refused_token_is_never_cached_as_good(settings, users):
    for token in _hostile_tokens().values():
        if pyjwt_verdict(token, settings, users)[0] == "refused":
            fast_verdict(token, settings, users)
    assert len(VERIFIED_TOKENS) == 0


def test_a_token_too_long_is_refused_before_the_cache(settings, users, decodes):
    token = "a" * (settings.max_token_length + 1)
    with pytest.raises(InvalidToken, match="longer than"):
        authenticate_token(token, settings, users)
    assert decodes == [] and len(VERIFIED_TOKENS) == 0
