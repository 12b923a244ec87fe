"""tutorial_src.store: the contract every store keeps, run against the memory store and the SQLite store alike.

A later PostgreSQL or Redis store passes these too, or the handlers cannot rely on it.
"""

from __future__ import annotations

import hashlib

import pytest
from conftest import ADMIN, ALICE

from tutorial_src.errors import InvalidCredentials, InvalidToken, UserExists
from tutorial_src.models import UserStore
from tutorial_src.passwords import password_hasher
from tutorial_src.settings import fast_test_settings
from tutorial_src.sqlite_store import SQLiteStore
from tutorial_src.store import REFRESH_TOKEN_BYTES, Store, hash_refresh_token, new_refresh_token, new_session_id

NOW = 1_800_000_000.0
LIFETIME = 1000.0
TTL = 100.0
GRACE = 5.0
HASHER = password_hasher(fast_test_settings())


@pytest.fixture(params=["memory", "sqlite"])
async def store(request, settings, tmp_path):
    if request.param == "memory":
        store: Store = UserStore.from_settings(settings)
    else:
        store = SQLiteStore(tmp_path / "store.db", settings)
    await store.open()
    hasher = password_hasher(settings)
    await store.create_user(ALICE[0], hasher.hash(ALICE[1]))
    await store.create_user(ADMIN[0], hasher.hash(ADMIN[1]), is_admin=True)
    yield store
    await store.close()


async def start(store: Store, user_id: int = 1, now: float = NOW) -> tuple[str, str]:
    session, token = await store.start_session(user_id, now=now, lifetime=LIFETIME, token_ttl=TTL)
    assert session.user_id == user_id and session.created_at == now and session.expires_at == now + LIFETIME
    return session.id, token


async def use(store: Store, token: str, now: float = NOW):
    return await store.use_refresh_token(token, now=now, grace=GRACE, token_ttl=TTL)


def test_refresh_tokens_are_256_random_bits_kept_as_a_sha256():
    token = new_refresh_token()
    assert REFRESH_TOKEN_BYTES == 32 and len(token) == 43 and token != new_refresh_token()
    assert hash_refresh_token(token) == hashlib.sha256(token.encode()).hexdigest()
    assert len(new_session_id()) == 32 and new_session_id() != new_session_id()


async def test_users(store):
    alice = store.get_by_id(1)
    assert alice is not None and alice.email == ALICE[0] and not alice.is_admin
    assert store.get_by_email("ADMIN@example.com").is_admin
    assert [user.id for user in store.all()] == [1, 2] and len(store) == 2
    assert store.authenticate(ALICE[0], ALICE[1]) == alice
    with pytest.raises(InvalidCredentials):
        store.authenticate(ALICE[0], "wrong")
    with pytest.raises(InvalidCredentials):
        store.authenticate("nobody@example.com", ALICE[1])
    assert await store.find_user(" Alice@Example.com ") == alice
    assert await store.find_user("nobody@example.com") is None


async def test_a_taken_email_is_refused(store):
    with pytest.raises(UserExists):
        await store.create_user("ALICE@example.com", "hash")
    assert len(store) == 2


async def test_rotation_spends_the_token_and_hands_out_a_successor(store):
    session_id, token = await start(store)
    used = await use(store, token)
    assert used.session.id == session_id and used.successor not in (None, token) and not used.reused
    again = await use(store, used.successor, now=NOW + 50)
    assert again.session.id == session_id and again.successor not in (None, token, used.successor)


async def test_within_the_grace_the_same_successor_comes_back(store):
    _, token = await start(store)
    first = await use(store, token)
    second = await use(store, token, now=NOW + GRACE)
    assert second.successor == first.successor and not second.reused


async def test_after_the_grace_a_spent_token_is_a_replay(store):
    _, token = await start(store)
    await use(store, token)
    replay = await use(store, token, now=NOW + GRACE + 1)
    assert replay.successor is None and replay.reused


async def test_within_the_grace_a_spent_successor_makes_it_a_replay(store):
    _, token = await start(store)
    successor = (await use(store, token)).successor
    await use(store, successor, now=NOW + 1)
    replay = await use(store, token, now=NOW + 2)
    assert replay.successor is None and replay.reused


async def test_unknown_and_expired_tokens_give_nothing(store):
    _, token = await start(store)
    assert await use(store, new_refresh_token()) is None
    assert await use(store, token, now=NOW + TTL) is None  # expires_at is not > now
    assert await store.session_of(new_refresh_token(), now=NOW) is None


async def test_the_session_ends_when_it_ends_whatever_the_refreshes(store):
    # RFC 9700 §4.14.2: rotation never extends the session past its absolute lifetime, set at login.
    _, token = await start(store)
    now = NOW
    while now + 90 < NOW + LIFETIME:
        now += 90
        token = (await use(store, token, now=now)).successor
    assert token is not None
    assert await use(store, token, now=NOW + LIFETIME) is None


async def test_a_revoked_session_gives_nothing_and_denies_its_access_tokens(store):
    session_id, token = await start(store)
    assert (await store.session_of(token, now=NOW)).id == session_id
    await store.revoke_session(session_id)
    assert await use(store, token) is None
    assert await store.session_of(token, now=NOW) is None
    with pytest.raises(InvalidToken, match="session has ended"):
        store.revocations.check({"iss": "i", "jti": "j", "sid": session_id})
    store.revocations.check({"iss": "i", "jti": "j", "sid": new_session_id()})  # another session passes


async def test_a_replay_after_the_session_ended_gives_nothing(store):
    session_id, token = await start(store)
    await use(store, token)
    await store.revoke_session(session_id)
    await store.revoke_session(session_id)  # twice: nothing more happens
    await store.revoke_session(new_session_id())  # unknown: denied all the same, it costs nothing
    assert await use(store, token, now=NOW + GRACE + 1) is None


async def test_revoke_sessions_keeps_the_one_asked(store):
    kept, kept_token = await start(store)
    ended, ended_token = await start(store)
    other_user, other_token = await start(store, user_id=2)
    await store.revoke_sessions(1, keep=kept)
    assert await use(store, ended_token) is None
    assert (await use(store, kept_token)).session.id == kept
    assert (await use(store, other_token)).session.id == other_user
    await store.revoke_sessions(1)
    assert ended in store.revocations.sessions and kept in store.revocations.sessions


async def test_a_new_password_ends_every_other_session(store):
    kept, kept_token = await start(store)
    _, other_token = await start(store)
    await store.set_password(1, HASHER.hash("a brand new passphrase"), keep_session=kept)
    assert store.authenticate(ALICE[0], "a brand new passphrase").id == 1
    with pytest.raises(InvalidCredentials):
        store.authenticate(ALICE[0], ALICE[1])
    assert await use(store, other_token) is None
    assert (await use(store, kept_token)).session.id == kept
    await store.set_password(99, "hash")  # nobody: nothing happens


async def test_deleting_a_user_ends_everything_of_theirs(store):
    _, token = await start(store)
    assert await store.delete_user(1) is True
    assert store.get_by_id(1) is None and await store.find_user(ALICE[0]) is None
    assert await use(store, token) is None
    assert await store.delete_user(1) is False


async def test_a_revoked_access_token_is_denied_until_its_exp(store):
    await store.revoke_access_token("jwt-tutorial", "a-jti", NOW + 900)
    with pytest.raises(InvalidToken, match="revoked"):
        store.revocations.check({"iss": "jwt-tutorial", "jti": "a-jti"})
    store.revocations.check({"iss": "another-issuer", "jti": "a-jti"})  # keyed on the pair
    store.revocations.prune(NOW + 900)
    store.revocations.check({"iss": "jwt-tutorial", "jti": "a-jti"})
