"""The store in a SQLite file, through aiosqlite: users, sessions, refresh tokens and revocations survive a
restart and are shared by every process that opens the same file (gunicorn workers).

The schema (``SCHEMA``) is created on first start; the SQL is plain and meant to be read. The one statement that
spends a refresh token is ``consume_refresh_token``, a parameter of ``SQLiteStore`` so that notebook 07's server
runs the learner's own. Design and reasons: docs/design.md, "Sessions that end".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import aiosqlite

from .models import User
from .revocation import Revocations
from .store import RefreshUse, Session, Store

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


class SQLiteStore(Store):
    """The store in the SQLite file ``path``.

    Args:
        path: the database file, created with its schema if missing.
        consume: spends a refresh token in one statement (``consume_refresh_token``; notebook 07 passes the
            learner's).
        demo_users: create ``demo.DEMO_USERS`` when their emails are missing (once, not at every start).
        hasher_settings: argon2 parameters for the demo users' hashes and for ``authenticate``'s dummy hash.
        timeout: seconds a statement waits for a lock held by another connection before the store gives up
            with ``StoreUnavailable`` (SQLite's busy timeout).
        max_delay: ``Revocations.max_delay``: how stale the in-process denylist may get before requests get 503.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        consume: Consume = consume_refresh_token,
        demo_users: bool = False,
        timeout: float = 2.0,
        max_delay: float = 2.0,
    ) -> None:
        self.path = Path(path)
        self.consume = consume
        self.demo_users = demo_users
        self.timeout = timeout
        self.max_delay = max_delay
        self.revocations = Revocations(max_delay)

    def get_by_id(self, user_id: int) -> User | None:
        raise NotImplementedError

    def get_by_email(self, email: str) -> User | None:
        raise NotImplementedError

    def all(self) -> list[User]:
        raise NotImplementedError

    def authenticate(self, email: str, password: str) -> User:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    async def create_user(self, email: str, password_hash: str, *, is_admin: bool = False) -> User:
        raise NotImplementedError

    async def find_user(self, email: str) -> User | None:
        raise NotImplementedError

    async def set_password(self, user_id: int, password_hash: str, *, keep_session: str | None = None) -> None:
        raise NotImplementedError

    async def delete_user(self, user_id: int) -> bool:
        raise NotImplementedError

    async def start_session(
        self, user_id: int, *, now: float, lifetime: float, token_ttl: float
    ) -> tuple[Session, str]:
        raise NotImplementedError

    async def use_refresh_token(
        self, token: str, *, now: float, grace: float, token_ttl: float
    ) -> RefreshUse | None:
        raise NotImplementedError

    async def session_of(self, token: str, *, now: float) -> Session | None:
        raise NotImplementedError

    async def revoke_session(self, session_id: str) -> None:
        raise NotImplementedError

    async def revoke_sessions(self, user_id: int, *, keep: str | None = None) -> None:
        raise NotImplementedError

    async def revoke_access_token(self, issuer: str, jti: str, expires_at: float) -> None:
        raise NotImplementedError
