"""The token-cache layer: bounded LRU, times re-checked on every hit, one cache per app, PyJWT's verdicts."""

from __future__ import annotations

import time
import warnings
from collections import OrderedDict
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from conftest import TEST_SECRET

import tutorial_src.auth as auth
import tutorial_src.token_cache as token_cache
from tutorial_src.app import create_app
from tutorial_src.auth import auth_middleware, describe_token_error
from tutorial_src.errors import InvalidRequest, UnsupportedScheme
from tutorial_src.keys import TOKEN_CACHE
from tutorial_src.settings import Settings
from tutorial_src.token_cache import PARSED_HEADERS, TokenCache, VerifiedToken, seconds, with_token_cache
from tutorial_src.tokens import REQUIRED_CLAIMS, create_access_token, decode_access_token

NOW = 1_700_000_000
#: What the cache tests verify under: 10 s of leeway, like the app's default.
SETTINGS = Settings(jwt_secret=TEST_SECRET, leeway=10)
ENTRY = VerifiedToken(user_id=1, settings=SETTINGS, not_before=NOW, expires_at=NOW + 900)


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


# --- the remembered parser -------------------------------------------------------------------------------------


def test_the_parser_remembers_well_formed_headers():
    # A client repeats its header: the second call is a hit and hands back the very same token object.
    cache = TokenCache()
    assert cache.parse_bearer.cache_parameters()["maxsize"] == PARSED_HEADERS
    header = "Bearer abc.def.ghi"
    first = cache.parse_bearer(header)
    again = cache.parse_bearer("".join(["Bearer ", "abc.def.ghi"]))  # an equal string, another object
    assert first == "abc.def.ghi" and again is first
    assert cache.parse_bearer.cache_info()[:2] == (1, 1)  # (hits, misses)


def test_the_parser_refuses_a_malformed_header_every_time():
    # lru_cache never stores a raised exception: the second call is parsed (and refused) again, with its reason.
    cache = TokenCache()
    for _ in range(2):
        with pytest.raises(InvalidRequest, match="more than one token"):
            cache.parse_bearer("Bearer abc def")
        with pytest.raises(UnsupportedScheme):
            cache.parse_bearer("Basic abc")
    assert cache.parse_bearer.cache_info()[:2] == (0, 4)


def test_each_cache_remembers_its_own_headers():
    one, other = TokenCache(), TokenCache()
    one.parse_bearer("Bearer abc")
    assert one.parse_bearer.cache_info().currsize == 1 and other.parse_bearer.cache_info().currsize == 0


# --- the layer in front of the auth middleware ----------------------------------------------------------------


@pytest.fixture
def decodes(monkeypatch):
    """How many full verifications ran, in the plain middleware and in the layer."""
    calls = []

    def counting(token, settings):
        calls.append(token)
        return decode_access_token(token, settings)

    monkeypatch.setattr(auth, "decode_access_token", counting)
    monkeypatch.setattr(token_cache, "decode_access_token", counting)
    return calls


@pytest.fixture
async def layered(aiohttp_client, settings, users):
    """``(client, cache)`` of an app built with its token cache."""
    app = create_app(settings, users, token_cache=True)
    return await aiohttp_client(app), app[TOKEN_CACHE]


async def get_user(client, token):
    response = await client.get("/get-user", headers={"Authorization": f"Bearer {token}"})
    return response.status, await response.json()


async def test_requests_after_the_first_skip_the_full_verification(layered, settings, users, decodes):
    client, cache = layered
    token = create_access_token(users.get_by_id(1), settings)
    for _ in range(3):
        assert (await get_user(client, token))[0] == 200
    # The first request: the plain middleware's check, then the layer's own before it remembers; then none.
    assert len(decodes) == 2
    assert token in cache


async def test_a_hit_skips_the_plain_middleware(aiohttp_client, settings, users):
    calls = []

    async def counting_middleware(request, handler):
        calls.append(request.path)
        return await auth_middleware(request, handler)

    app = create_app(settings, users, token_cache=False)
    app[TOKEN_CACHE] = TokenCache()
    app.middlewares[-1] = with_token_cache(counting_middleware)
    client = await aiohttp_client(app)
    token = create_access_token(users.get_by_id(1), settings)
    for _ in range(3):
        assert (await get_user(client, token))[0] == 200
    assert calls == ["/get-user"]  # the first request only; the others were hits


async def test_a_deleted_user_is_refused_at_once_even_when_cached(layered, settings, users):
    client, cache = layered
    token = create_access_token(users.get_by_id(1), settings)
    await get_user(client, token)
    users.delete(1)
    status, body = await get_user(client, token)
    assert (status, body["error"]) == (401, "invalid_token") and "no longer exists" in body["message"]
    assert token not in cache


class _Later(datetime):
    """PyJWT's clock, an hour ahead (``jwt.api_jwt`` calls ``datetime.now(tz=timezone.utc)``)."""

    @classmethod
    def now(cls, tz=None):
        return datetime.now(tz) + timedelta(hours=1)


async def test_expiry_is_rechecked_on_every_hit(layered, settings, users, monkeypatch, decodes):
    client, cache = layered
    token = create_access_token(users.get_by_id(1), settings)
    await get_user(client, token)
    monkeypatch.setattr(cache, "clock", lambda: time.time() + 3600)
    monkeypatch.setattr(jwt.api_jwt, "datetime", _Later)
    status, body = await get_user(client, token)
    assert status == 401 and body["message"] == "the token has expired"
    assert len(decodes) == 3  # the stale hit fell through to the plain middleware, whose PyJWT refused
    assert token not in cache


async def test_each_app_has_its_own_cache(aiohttp_client, settings, users):
    one, other = create_app(settings, users), create_app(settings, users)
    assert one[TOKEN_CACHE] is not other[TOKEN_CACHE]
    token = create_access_token(users.get_by_id(1), settings)
    await get_user(await aiohttp_client(one), token)
    assert token in one[TOKEN_CACHE] and token not in other[TOKEN_CACHE]


def test_no_cache_lives_at_module_level():
    # Issue 14: one cache per app, created by the app builder; nothing shared by every app of the process.
    for module in (auth, token_cache):
        assert not [name for name, value in vars(module).items() if isinstance(value, TokenCache)]
    assert not hasattr(token_cache, "VERIFIED_TOKENS")


async def test_without_the_layer_every_request_is_verified_in_full(aiohttp_client, settings, users, decodes):
    app = create_app(settings, users, token_cache=False)
    assert TOKEN_CACHE not in app
    client = await aiohttp_client(app)
    token = create_access_token(users.get_by_id(1), settings)
    for _ in range(3):
        assert (await get_user(client, token))[0] == 200
    assert len(decodes) == 3


async def test_a_token_refused_meanwhile_is_not_remembered(settings, users):
    # The layer verifies in full before it remembers: a token that fails now is not stored.
    cache = TokenCache()
    token_cache.remember(cache, "not.a.token", settings)
    token_cache.remember(cache, create_access_token(users.get_by_id(1), settings), Settings(jwt_secret="o" * 40))
    assert len(cache) == 0


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


async def fast_verdict(client, token):
    status, body = await get_user(client, token)
    return ("accepted", body["id"]) if status == 200 else ("refused", body["message"])


@pytest.mark.parametrize("name", HOSTILE)
async def test_cold_and_warm_verdicts_agree_with_pyjwt(name, layered, settings, users):
    client, cache = layered
    token = _hostile_tokens()[name]
    expected = pyjwt_verdict(token, settings, users)
    verdicts = [await fast_verdict(client, token) for _ in range(3)]  # cold, then (if cached) warm twice
    assert verdicts == [expected] * 3
    assert (token in cache) == (expected[0] == "accepted")


def test_the_hostile_set_has_both_verdicts(settings, users):
    verdicts = {name: pyjwt_verdict(token, settings, users)[0] for name, token in _hostile_tokens().items()}
    assert [name for name, v in verdicts.items() if v == "accepted"] == [
        "valid",
        "valid for the admin",
        "valid with nbf in the past",
        "expired within the leeway",
        "exp 10**400",
    ]


async def test_a_refused_token_is_never_cached_as_good(layered, settings, users):
    client, cache = layered
    for token in _hostile_tokens().values():
        if pyjwt_verdict(token, settings, users)[0] == "refused":
            await fast_verdict(client, token)
    assert len(cache) == 0


async def test_a_token_too_long_is_refused_before_any_decoding(layered, settings, decodes):
    client, cache = layered
    status, body = await get_user(client, "a" * (settings.max_token_length + 1))
    assert status == 401 and "longer than" in body["message"]
    assert decodes == [] and len(cache) == 0
