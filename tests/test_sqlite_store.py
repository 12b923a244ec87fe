"""tutorial_src.sqlite_store: what the SQLite store adds to the contract of tests/test_store.py.

The one consuming statement against read-then-update under real concurrency (one connection each, as separate
requests or processes have), a restart on the same file, two stores on one file (what two processes see of each
other), and a database that is locked or is not one.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time

import aiosqlite
import pytest
from conftest import ALICE

from tutorial_src.demo import DEMO_USERS
from tutorial_src.errors import InvalidToken, StoreUnavailable
from tutorial_src.passwords import password_hasher
from tutorial_src.settings import fast_test_settings
from tutorial_src.sqlite_store import CHANGES_KEPT_FOR, SQLiteStore, consume_refresh_token
from tutorial_src.store import hash_refresh_token

NOW = 1_800_000_000.0
CONCURRENT = 20


async def consume_read_then_update(db: aiosqlite.Connection, token_hash: str, now: float) -> str | None:
    """The plausible wrong answer: check, then update - two statements, with a gap between them."""
    async with db.execute(
        "SELECT session_id FROM refresh_tokens WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
        (token_hash, now),
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return None
    await db.execute("UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ?", (now, token_hash))
    return str(row[0])


@pytest.fixture
def settings():
    return fast_test_settings(db_timeout=0.2, revocation_max_delay=30.0)


@contextlib.asynccontextmanager
async def opened(path, settings, **options):
    store = SQLiteStore(path, settings, **options)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def alice_in(store: SQLiteStore, settings) -> int:
    return (await store.create_user(ALICE[0], password_hasher(settings).hash(ALICE[1]))).id


async def concurrent_consumes(path, consume, token: str) -> int:
    """How many of CONCURRENT calls of ``consume``, each on a connection of its own, spent ``token``."""
    connections = [await aiosqlite.connect(path, timeout=10, isolation_level=None) for _ in range(CONCURRENT)]
    try:
        spent = await asyncio.gather(*(consume(db, hash_refresh_token(token), NOW) for db in connections))
    finally:
        for db in connections:
            await db.close()
    return sum(session_id is not None for session_id in spent)


async def test_the_one_statement_spends_a_token_once_read_then_update_more_often(tmp_path, settings):
    path = tmp_path / "race.db"
    async with opened(path, settings) as store:
        user_id = await alice_in(store, settings)
        tokens = [(await store.start_session(user_id, now=NOW, lifetime=100, token_ttl=100))[1] for _ in range(20)]
    # 20 tries at most: the race is real, not staged, so one try may happen to run the calls one after another.
    read_then_update = []
    for token, other in zip(tokens[::2], tokens[1::2], strict=True):
        assert await concurrent_consumes(path, consume_refresh_token, other) == 1
        read_then_update.append(await concurrent_consumes(path, consume_read_then_update, token))
        if read_then_update[-1] > 1:
            break
    assert max(read_then_update) > 1, read_then_update


async def test_the_store_runs_the_consume_it_is_given(tmp_path, settings):
    # What notebook 07's checker sees: concurrent refreshes through the store, the successors handed out.
    async def successors(consume) -> set[str]:
        async with opened(tmp_path / f"{consume.__name__}.db", settings, consume=consume) as store:
            user_id = await alice_in(store, settings)
            for _ in range(10):
                _, token = await store.start_session(user_id, now=NOW, lifetime=100, token_ttl=100)
                uses = await asyncio.gather(
                    *(store.use_refresh_token(token, now=NOW, grace=5, token_ttl=100) for _ in range(CONCURRENT))
                )
                handed_out = {use.successor for use in uses if use is not None and use.successor is not None}
                if len(handed_out) > 1:
                    break
            return handed_out

    assert len(await successors(consume_refresh_token)) == 1
    assert len(await successors(consume_read_then_update)) > 1


async def test_a_restart_on_the_same_file_keeps_users_and_refresh_tokens(tmp_path, settings):
    path = tmp_path / "restart.db"
    async with opened(path, settings, demo_users=True) as store:
        assert [user.email for user in store.all()] == [email for email, _, _ in DEMO_USERS]
        hashes = [user.password_hash for user in store.all()]
        bob = await store.create_user("bob@example.com", "bob's hash")
        session, token = await store.start_session(bob.id, now=time.time(), lifetime=100, token_ttl=100)
        ended, _ = await store.start_session(bob.id, now=time.time(), lifetime=100, token_ttl=100)
        await store.revoke_session(ended.id)
        await store.revoke_access_token("jwt-tutorial", "a-jti", time.time() + 100)
    async with opened(path, settings, demo_users=True) as store:
        assert store.get_by_id(bob.id) == bob
        assert ended.id in store.revocations.sessions and ("jwt-tutorial", "a-jti") in store.revocations.tokens
        assert [user.password_hash for user in store.all()][:2] == hashes  # the demo users were made once
        used = await store.use_refresh_token(token, now=time.time(), grace=5, token_ttl=100)
        assert used is not None and used.session == session and used.successor is not None


async def test_what_one_process_does_the_other_reads_at_its_next_sync(tmp_path, settings):
    path = tmp_path / "shared.db"
    async with opened(path, settings) as first, opened(path, settings) as second:
        alice_id = await alice_in(first, settings)
        assert second.get_by_id(alice_id) is None
        await second.sync()
        assert second.get_by_id(alice_id).email == ALICE[0]

        session, _ = await first.start_session(alice_id, now=time.time(), lifetime=100, token_ttl=100)
        await first.revoke_session(session.id)
        await first.revoke_access_token("jwt-tutorial", "a-jti", time.time() + 100)
        await first.set_password(alice_id, "a new hash")
        bob = await first.create_user("bob@example.com", "bob's hash")
        await first.delete_user(bob.id)
        await second.sync()
        with pytest.raises(InvalidToken, match="session"):
            second.revocations.check({"iss": "x", "jti": "y", "sid": session.id})
        with pytest.raises(InvalidToken, match="revoked"):
            second.revocations.check({"iss": "jwt-tutorial", "jti": "a-jti"})
        assert second.get_by_id(alice_id).password_hash == "a new hash"
        assert second.get_by_id(bob.id) is None
        await second.sync()  # nothing new: nothing changes


async def test_the_grace_is_per_process(tmp_path, settings):
    # The successor lives in the memory of the process that rotated; the other one refuses without revoking.
    path = tmp_path / "grace.db"
    async with opened(path, settings) as first, opened(path, settings) as second:
        alice_id = await alice_in(first, settings)
        _, token = await first.start_session(alice_id, now=NOW, lifetime=100, token_ttl=100)
        assert (await first.use_refresh_token(token, now=NOW, grace=5, token_ttl=100)).successor is not None
        there = await second.use_refresh_token(token, now=NOW + 1, grace=5, token_ttl=100)
        assert there is not None and there.successor is None and not there.reused


async def test_a_user_deleted_elsewhere_is_forgotten_at_login(tmp_path, settings):
    path = tmp_path / "deleted.db"
    async with opened(path, settings) as first, opened(path, settings) as second:
        alice_id = await alice_in(first, settings)
        await second.sync()
        await first.delete_user(alice_id)
        assert second.get_by_id(alice_id) is not None  # until its next sync…
        assert await second.find_user(ALICE[0]) is None  # …or a login's read
        assert second.get_by_id(alice_id) is None


async def test_a_long_gap_reloads_everything(tmp_path, settings):
    path = tmp_path / "gap.db"
    async with opened(path, settings) as first, opened(path, settings) as second:
        alice_id = await alice_in(first, settings)
        await second.sync()
        bob = await first.create_user("bob@example.com", "hash")
        await first.delete_user(alice_id)
        second._synced_at = time.monotonic() - CHANGES_KEPT_FOR - 1  # the change rows may be purged by now
        await second.sync()
        assert second.get_by_id(alice_id) is None and second.get_by_id(bob.id) == bob


async def test_the_purge_deletes_what_nobody_needs(tmp_path, settings):
    path = tmp_path / "purge.db"
    async with opened(path, settings) as store:
        alice_id = await alice_in(store, settings)
        old = time.time() - 3 * CHANGES_KEPT_FOR
        await store.start_session(alice_id, now=old, lifetime=100, token_ttl=100)
        await store.revoke_access_token("jwt-tutorial", "old", old)
        store._purged_at = -float("inf")
        await store.sync()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM sessions").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM refresh_tokens").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM revoked_access_tokens").fetchone() == (0,)
    db.close()


async def test_opened_twice_it_connects_once_and_closes_at_the_last_close(tmp_path, settings):
    store = SQLiteStore(tmp_path / "twice.db", settings)
    with pytest.raises(StoreUnavailable, match="not open"):
        await store.find_user(ALICE[0])
    await store.open()
    await store.open()
    await store.close()
    assert await store.find_user(ALICE[0]) is None
    await store.close()
    with pytest.raises(StoreUnavailable, match="not open"):
        await store.find_user(ALICE[0])


@contextlib.contextmanager
def locked(path):
    """Another connection holds the write lock (``BEGIN IMMEDIATE``): in WAL mode readers go on, writers wait."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@contextlib.contextmanager
def broken(path):
    """The table the poll reads is gone for a while (as if another program broke the file's schema)."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("ALTER TABLE changes RENAME TO changes_elsewhere")
    try:
        yield
    finally:
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
            db.execute("ALTER TABLE changes_elsewhere RENAME TO changes")


async def test_a_locked_database_is_unavailable_for_writes(tmp_path, settings):
    path = tmp_path / "locked.db"
    async with opened(path, settings) as store:
        alice_id = await alice_in(store, settings)
        with locked(path):
            with pytest.raises(StoreUnavailable, match="locked"):
                await store.create_user("bob@example.com", "hash")
            with pytest.raises(StoreUnavailable, match="locked"):
                await store.revoke_session("some-session")
            with pytest.raises(StoreUnavailable, match="locked"):
                await store.revoke_access_token("jwt-tutorial", "a-jti", time.time() + 100)
            await store.sync()  # WAL: reading goes on
        assert "some-session" in store.revocations.sessions  # denied here at once, the database or not
        assert ("jwt-tutorial", "a-jti") in store.revocations.tokens
        assert (await store.find_user(ALICE[0])).id == alice_id


async def test_a_broken_database_is_unavailable_for_reads(tmp_path, settings):
    path = tmp_path / "broken.db"
    async with opened(path, settings) as store:
        with broken(path), pytest.raises(StoreUnavailable, match="no such table"):
            await store.sync()
        await store.sync()


async def test_a_file_that_is_not_a_database_cannot_be_opened(tmp_path, settings):
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a SQLite database, just text " * 100)
    store = SQLiteStore(path, settings)
    with pytest.raises(StoreUnavailable, match="not a database"):
        await store.open()
    assert store._connections == []  # closed again
