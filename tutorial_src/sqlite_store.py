"""The store in a SQLite file, through aiosqlite: users, sessions, refresh tokens and revocations survive a
restart and are shared by every process that opens the same file (gunicorn workers).

The schema (``SCHEMA``) is created on first start; the SQL is plain and meant to be read. The one statement that
spends a refresh token is ``consume_refresh_token``, a parameter of ``SQLiteStore`` so that notebook 07's server
runs the learner's own. Design and reasons: docs/design.md, "Sessions that end".
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiosqlite

from .demo import DEMO_USERS
from .errors import StoreUnavailable, UserExists
from .models import User, UserStore
from .passwords import password_hasher
from .revocation import Revocations
from .settings import Settings
from .store import RefreshUse, Session, Store, hash_refresh_token, new_refresh_token, new_session_id

#: ``consume(db, token_hash, now)``: the session id of the refresh token this call spent, else ``None``.
Consume = Callable[[aiosqlite.Connection, str, float], Awaitable["str | None"]]


async def consume_refresh_token(db: aiosqlite.Connection, token_hash: str, now: float) -> str | None:
    """Spend the refresh token whose SHA-256 is ``token_hash``, in ONE conditional statement.

    The ``WHERE`` clause is the whole check: the token exists, is not spent (``used_at IS NULL``) and has not
    expired. Of any number of concurrent calls with one token - in this process or in another one sharing the
    file - exactly one finds the row still unspent and updates it; the database serialises the writes, so no
    other call can slip in between the check and the update, as it can between a ``SELECT`` and an ``UPDATE``.

    Returns:
        The id of the token's session when this call spent it; ``None`` when the token is unknown, already
        spent or expired.
    """
    async with db.execute(
        "UPDATE refresh_tokens SET used_at = :now"
        " WHERE token_hash = :token_hash AND used_at IS NULL AND expires_at > :now"
        " RETURNING session_id",
        {"now": now, "token_hash": token_hash},
    ) as cursor:
        row = await cursor.fetchone()
    return None if row is None else str(row[0])


#: The tables, created by the first process that opens the file.
SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: a deleted user's id is never reused
    email         TEXT    NOT NULL UNIQUE,            -- lower-case
    password_hash TEXT    NOT NULL,                   -- argon2id PHC string
    is_admin      INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sessions (                 -- one login: a family of refresh tokens
    id         TEXT    PRIMARY KEY,                   -- random; the sid claim of its access tokens
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at REAL    NOT NULL,                      -- seconds since the epoch (UTC)
    expires_at REAL    NOT NULL,                      -- absolute, set at login, never extended
    revoked_at REAL                                   -- NULL while the session lives
);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash TEXT PRIMARY KEY,                      -- SHA-256 of the token, hex; never the token
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    issued_at  REAL NOT NULL,
    expires_at REAL NOT NULL,
    used_at    REAL                                   -- NULL until spent by a refresh
);
CREATE TABLE IF NOT EXISTS revoked_access_tokens (    -- logout: denied until their exp
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,     -- the poll reads the rows past the last seq it saw
    iss        TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at REAL NOT NULL,
    UNIQUE (iss, jti)
);
CREATE TABLE IF NOT EXISTS changes (                  -- what other processes must re-read, in commit order
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL,                         -- 'session' (revoked) or 'user' (added, changed, deleted)
    ref        TEXT NOT NULL,                         -- the session id or the user id
    changed_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (user_id);
CREATE INDEX IF NOT EXISTS refresh_tokens_by_session ON refresh_tokens (session_id);
"""


#: Connections the store keeps open: requests that touch the database at once each hold one.
POOL_SIZE = 4
#: How long the rows that tell other processes what changed are kept, in seconds. A process that has not read
#: them for longer reloads everything instead (``sync``).
CHANGES_KEPT_FOR = 24 * 3600.0
#: Seconds between two clean-ups of rows nobody needs any more (expired revocations, sessions and tokens).
PURGE_EVERY = 60.0

USER_COLUMNS = "id, email, password_hash, is_admin"
SESSION_COLUMNS = "id, user_id, created_at, expires_at"


def _user(row: aiosqlite.Row | tuple[Any, ...]) -> User:
    return User(id=int(row[0]), email=str(row[1]), password_hash=str(row[2]), is_admin=bool(row[3]))


def _session(row: aiosqlite.Row | tuple[Any, ...]) -> Session:
    return Session(id=str(row[0]), user_id=int(row[1]), created_at=float(row[2]), expires_at=float(row[3]))


class SQLiteStore(Store):
    """The store in the SQLite file ``path``, shared by every process that opens it.

    Every request's reads - users by id, the denylist - come from memory: ``open`` loads them, ``sync`` (the
    app's poll) reads what other processes changed since. Writes go to the file first.

    Args:
        path: the database file, created with its schema if missing (its directory must exist).
        settings: argon2 parameters (the demo users' hashes, ``authenticate``'s dummy hash), ``db_timeout``
            (seconds a statement waits for another connection's lock before ``StoreUnavailable``) and
            ``revocation_max_delay`` (``Revocations.max_delay``).
        consume: spends a refresh token in one statement (``consume_refresh_token``; notebook 07 passes the
            learner's).
        demo_users: create ``demo.DEMO_USERS`` whose emails are missing (once, not at every start).
    """

    def __init__(
        self,
        path: str | Path,
        settings: Settings,
        *,
        consume: Consume = consume_refresh_token,
        demo_users: bool = False,
    ) -> None:
        self.path = Path(path)
        self.consume = consume
        self.demo_users = demo_users
        self.timeout = settings.db_timeout
        self.revocations = Revocations(settings.revocation_max_delay)
        self._hasher = password_hasher(settings)
        self._users = UserStore(self._hasher)  # the in-process copy of the users table
        self._pool: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._connections: list[aiosqlite.Connection] = []
        self._opened = 0
        self._token_seq = 0  # the last revoked_access_tokens.seq read
        self._change_seq = 0  # the last changes.seq read
        self._synced_at = -math.inf  # time.monotonic() of the last complete read
        self._purged_at = -math.inf
        # Refresh tokens this process rotated lately: spent hash -> (successor, when), for the grace.
        self._recent: dict[str, tuple[str, float]] = {}

    # What every request needs: from memory.

    def get_by_id(self, user_id: int) -> User | None:
        return self._users.get_by_id(user_id)

    def get_by_email(self, email: str) -> User | None:
        return self._users.get_by_email(email)

    def all(self) -> list[User]:
        return self._users.all()

    def authenticate(self, email: str, password: str) -> User:
        return self._users.authenticate(email, password)

    def __len__(self) -> int:
        return len(self._users)

    # Life cycle.

    async def open(self) -> None:
        """Connect, create the schema and the demo users if missing, load the users and the denylist.

        Opened twice (two apps share the store), it connects once; ``close`` as often as ``open``.

        Raises:
            StoreUnavailable: the file cannot be opened or is not a SQLite database.
        """
        self._opened += 1
        if self._opened > 1:
            return
        self._pool = asyncio.Queue()
        try:
            for _ in range(POOL_SIZE):
                # isolation_level=None: each statement commits on its own unless a transaction is begun
                # explicitly, which _transaction does; the consume runs alone, one statement.
                db = await aiosqlite.connect(self.path, timeout=self.timeout, isolation_level=None)
                self._connections.append(db)
                await db.execute("PRAGMA foreign_keys = ON")
                self._pool.put_nowait(db)
            async with self._connection() as db:
                # Each CREATE … IF NOT EXISTS is atomic: processes starting together create each table once.
                await db.executescript(SCHEMA)
                # WAL: readers never wait for the writer, the writer never waits for readers.
                await db.execute_fetchall("PRAGMA journal_mode = WAL")
            if self.demo_users:
                await self._create_demo_users()
            await self._load()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Close the connections (at the last ``close`` of as many as ``open``)."""
        self._opened = max(0, self._opened - 1)
        if self._opened:
            return
        self.revocations.stop()
        connections, self._connections = self._connections, []
        for db in connections:
            await db.close()

    async def sync(self) -> None:
        """Read what other processes revoked or changed since the last call, in one read transaction.

        Raises:
            StoreUnavailable: the database did not answer.
        """
        if time.monotonic() - self._synced_at > CHANGES_KEPT_FOR:
            await self._load()  # the rows of what changed may be gone meanwhile: read everything
            return
        started = time.monotonic()
        async with self._connection() as db:
            await db.execute("BEGIN")  # one snapshot for the three reads
            try:
                tokens = await db.execute_fetchall(
                    "SELECT seq, iss, jti, expires_at FROM revoked_access_tokens WHERE seq > ? ORDER BY seq",
                    (self._token_seq,),
                )
                changes = await db.execute_fetchall(
                    "SELECT seq, kind, ref, changed_at FROM changes WHERE seq > ? ORDER BY seq",
                    (self._change_seq,),
                )
                user_ids = sorted({int(ref) for _, kind, ref, _ in changes if kind == "user"})
                users = await db.execute_fetchall(
                    f"SELECT {USER_COLUMNS} FROM users WHERE id IN ({', '.join('?' * len(user_ids))})", user_ids
                )
            finally:
                await db.execute("COMMIT")
        for seq, issuer, jti, expires_at in tokens:
            self.revocations.revoke_token(issuer, jti, expires_at)
            self._token_seq = seq
        for seq, kind, ref, changed_at in changes:
            if kind == "session":
                self.revocations.revoke_session(ref, changed_at)
            self._change_seq = seq
        found = {user.id: user for user in map(_user, users)}
        for user_id in user_ids:
            if user_id in found:
                self._users.put(found[user_id])
            else:
                self._users.forget(user_id)
        self._synced_at = started
        if started - self._purged_at > PURGE_EVERY:
            self._purged_at = started
            # The denylist is fresh whether or not the clean-up can write now; it tries again later.
            with contextlib.suppress(StoreUnavailable):
                await self._purge()

    # Users.

    async def create_user(self, email: str, password_hash: str, *, is_admin: bool = False) -> User:
        email = email.strip().lower()
        try:
            async with self._transaction() as db:
                rows = await db.execute_fetchall(
                    "INSERT INTO users (email, password_hash, is_admin) VALUES (?, ?, ?) RETURNING id",
                    (email, password_hash, int(is_admin)),
                )
                (user_id,) = next(iter(rows))  # an INSERT … RETURNING that did not raise returns its row
                await self._changed(db, "user", user_id)
        except sqlite3.IntegrityError:  # UNIQUE (email)
            raise UserExists(f"a user with email {email!r} already exists") from None
        user = User(id=int(user_id), email=email, password_hash=password_hash, is_admin=is_admin)
        self._users.put(user)
        return user

    async def find_user(self, email: str) -> User | None:
        email = email.strip().lower()
        async with self._connection() as db:
            rows = await db.execute_fetchall(f"SELECT {USER_COLUMNS} FROM users WHERE email = ?", (email,))
        if not rows:
            known = self._users.get_by_email(email)
            if known is not None:  # deleted through another process since the last poll
                self._users.forget(known.id)
            return None
        user = _user(next(iter(rows)))
        self._users.put(user)
        return user

    async def set_password(self, user_id: int, password_hash: str, *, keep_session: str | None = None) -> None:
        async with self._transaction() as db:
            await db.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))
            await self._changed(db, "user", user_id)
            ended = await self._end_sessions(db, user_id, keep=keep_session)
        user = self._users.get_by_id(user_id)
        if user is not None:
            self._users.put(dataclasses.replace(user, password_hash=password_hash))
        for session_id in ended:
            self.revocations.revoke_session(session_id, time.time())

    async def delete_user(self, user_id: int) -> bool:
        self._users.forget(user_id)  # at once here: the user's access tokens fail their lookup
        async with self._transaction() as db:
            # ON DELETE CASCADE takes the user's sessions and refresh tokens along.
            cursor = await db.execute("DELETE FROM users WHERE id = ?", (user_id,))
            found = cursor.rowcount > 0
            if found:
                await self._changed(db, "user", user_id)
        return found

    # Sessions and refresh tokens.

    async def start_session(
        self, user_id: int, *, now: float, lifetime: float, token_ttl: float
    ) -> tuple[Session, str]:
        session = Session(id=new_session_id(), user_id=user_id, created_at=now, expires_at=now + lifetime)
        token = new_refresh_token()
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                (session.id, user_id, now, session.expires_at),
            )
            await self._add_refresh_token(db, token, session, now, token_ttl)
        return session, token

    async def use_refresh_token(
        self, token: str, *, now: float, grace: float, token_ttl: float
    ) -> RefreshUse | None:
        token_hash = hash_refresh_token(token)
        async with self._connection() as db:
            # Outside any transaction: the consume is one statement, and it alone decides who spends the token.
            session_id = await self.consume(db, token_hash, now)
            if session_id is not None:
                session = await self._live_session(db, session_id, now)
                if session is None:  # spent, but its session has ended: nothing to hand out
                    return None
                successor = new_refresh_token()
                await self._add_refresh_token(db, successor, session, now, token_ttl)
                self._remember_successor(token_hash, successor, now, grace)
                return RefreshUse(session, successor)
            rows = await db.execute_fetchall(
                "SELECT session_id, used_at FROM refresh_tokens WHERE token_hash = ?", (token_hash,)
            )
            row = next(iter(rows), None)
            if row is None or row[1] is None:  # unknown, or expired before it was spent
                return None
            session = await self._live_session(db, str(row[0]), now)
            if session is None:
                return None
            recent = self._recent.get(token_hash)
            if now - float(row[1]) <= grace:
                if recent is None:  # spent through another process, which holds the successor
                    return RefreshUse(session, None)
                if await self._unspent(db, recent[0]):
                    return RefreshUse(session, recent[0])
        # Outside the grace, or its successor spent already: a copy of the token is in other hands.
        return RefreshUse(session, None, reused=True)

    async def session_of(self, token: str, *, now: float) -> Session | None:
        async with self._connection() as db:
            rows = await db.execute_fetchall(
                "SELECT session_id FROM refresh_tokens WHERE token_hash = ?", (hash_refresh_token(token),)
            )
            row = next(iter(rows), None)
            return None if row is None else await self._live_session(db, str(row[0]), now)

    async def revoke_session(self, session_id: str) -> None:
        self.revocations.revoke_session(session_id, time.time())  # at once in this process
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (time.time(), session_id)
            )
            if cursor.rowcount > 0:
                await self._changed(db, "session", session_id)

    async def revoke_sessions(self, user_id: int, *, keep: str | None = None) -> None:
        async with self._transaction() as db:
            ended = await self._end_sessions(db, user_id, keep=keep)
        for session_id in ended:
            self.revocations.revoke_session(session_id, time.time())

    async def revoke_access_token(self, issuer: str, jti: str, expires_at: float) -> None:
        self.revocations.revoke_token(issuer, jti, expires_at)  # at once in this process
        async with self._connection() as db:
            await db.execute(
                "INSERT OR IGNORE INTO revoked_access_tokens (iss, jti, expires_at) VALUES (?, ?, ?)",
                (issuer, jti, expires_at),
            )

    # Helpers.

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[aiosqlite.Connection]:
        """A connection of the pool for this caller alone; database failures become ``StoreUnavailable``."""
        if not self._connections:
            raise StoreUnavailable("the store is not open")
        db = await self._pool.get()
        try:
            yield db
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError):
            raise  # a constraint the caller handles, or a bug: not the database's failure
        except sqlite3.DatabaseError as error:  # locked, busy, not a database, disk I/O, …
            raise StoreUnavailable(str(error)) from None
        finally:
            self._pool.put_nowait(db)

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A connection inside ``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on any error)."""
        async with self._connection() as db:
            # IMMEDIATE: take the write lock now, so the transaction never fails half-way for a lock.
            await db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                await db.execute("ROLLBACK")
                raise
            await db.execute("COMMIT")

    async def _changed(self, db: aiosqlite.Connection, kind: str, ref: object) -> None:
        await db.execute(
            "INSERT INTO changes (kind, ref, changed_at) VALUES (?, ?, ?)", (kind, str(ref), time.time())
        )

    async def _end_sessions(self, db: aiosqlite.Connection, user_id: int, *, keep: str | None) -> list[str]:
        rows = await db.execute_fetchall(
            "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND id IS NOT ?"
            " RETURNING id",
            (time.time(), user_id, keep),
        )
        ended = [str(row[0]) for row in rows]
        for session_id in ended:
            await self._changed(db, "session", session_id)
        return ended

    async def _add_refresh_token(
        self, db: aiosqlite.Connection, token: str, session: Session, now: float, token_ttl: float
    ) -> None:
        await db.execute(
            "INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at) VALUES (?, ?, ?, ?)",
            (hash_refresh_token(token), session.id, now, min(now + token_ttl, session.expires_at)),
        )

    async def _live_session(self, db: aiosqlite.Connection, session_id: str, now: float) -> Session | None:
        rows = await db.execute_fetchall(
            f"SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ? AND revoked_at IS NULL AND expires_at > ?",
            (session_id, now),
        )
        row = next(iter(rows), None)
        return None if row is None else _session(row)

    async def _unspent(self, db: aiosqlite.Connection, token: str) -> bool:
        rows = await db.execute_fetchall(
            "SELECT 1 FROM refresh_tokens WHERE token_hash = ? AND used_at IS NULL", (hash_refresh_token(token),)
        )
        return bool(list(rows))

    def _remember_successor(self, token_hash: str, successor: str, now: float, grace: float) -> None:
        for spent, (_, when) in list(self._recent.items()):  # oldest first: dicts keep insertion order
            if when >= now - grace:
                break
            del self._recent[spent]
        self._recent[token_hash] = (successor, now)

    async def _create_demo_users(self) -> None:
        for email, password, is_admin in DEMO_USERS:
            async with self._connection() as db:
                rows = await db.execute_fetchall("SELECT 1 FROM users WHERE email = ?", (email,))
            if list(rows):
                continue
            password_hash = await asyncio.to_thread(self._hasher.hash, password)
            async with self._transaction() as db:
                # OR IGNORE: another process starting at the same moment may have inserted it meanwhile.
                rows = await db.execute_fetchall(
                    "INSERT OR IGNORE INTO users (email, password_hash, is_admin) VALUES (?, ?, ?) RETURNING id",
                    (email, password_hash, int(is_admin)),
                )
                for (user_id,) in rows:
                    await self._changed(db, "user", user_id)

    async def _load(self) -> None:
        """Read the users and the live revocations afresh, in one snapshot."""
        started = time.monotonic()
        now = time.time()
        async with self._connection() as db:
            await db.execute("BEGIN")
            try:
                token_seq = await db.execute_fetchall("SELECT coalesce(max(seq), 0) FROM revoked_access_tokens")
                change_seq = await db.execute_fetchall("SELECT coalesce(max(seq), 0) FROM changes")
                users = await db.execute_fetchall(f"SELECT {USER_COLUMNS} FROM users")
                tokens = await db.execute_fetchall(
                    "SELECT iss, jti, expires_at FROM revoked_access_tokens WHERE expires_at > ?", (now,)
                )
                sessions = await db.execute_fetchall(
                    "SELECT id, revoked_at FROM sessions WHERE revoked_at > ?",
                    (now - self.revocations.keep_sessions_for,),
                )
            finally:
                await db.execute("COMMIT")
        self._token_seq = int(next(iter(token_seq))[0])
        self._change_seq = int(next(iter(change_seq))[0])
        loaded = [_user(row) for row in users]
        for user in self._users.all():
            self._users.forget(user.id)
        for user in loaded:
            self._users.put(user)
        for issuer, jti, expires_at in tokens:
            self.revocations.revoke_token(issuer, jti, expires_at)
        for session_id, revoked_at in sessions:
            self.revocations.revoke_session(session_id, revoked_at)
        self._synced_at = started
        self.revocations.confirmed(started)

    async def _purge(self) -> None:
        """Delete the rows nobody needs any more: expired revocations and refresh tokens, old changes, sessions
        past their end."""
        now = time.time()
        async with self._transaction() as db:
            await db.execute("DELETE FROM revoked_access_tokens WHERE expires_at < ?", (now,))
            await db.execute("DELETE FROM changes WHERE changed_at < ?", (now - CHANGES_KEPT_FOR,))
            await db.execute("DELETE FROM refresh_tokens WHERE expires_at < ?", (now,))
            await db.execute(
                "DELETE FROM sessions WHERE expires_at < ? OR revoked_at < ?",
                (now, now - self.revocations.keep_sessions_for),
            )
