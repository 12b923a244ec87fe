"""The store: users, sessions (refresh-token families) and revocations, behind one interface.

``Store`` is what the handlers use; ``models.UserStore`` keeps everything in memory (notebooks 01-06),
``sqlite_store.SQLiteStore`` keeps it in a SQLite file that several processes share (notebook 07, the standalone
server, gunicorn). A PostgreSQL or Redis implementation would fill the same methods without touching a handler.

Two kinds of method: the synchronous ones (``get_by_id``, ``get_by_email``, ``all``, ``authenticate``) answer from
what the process keeps in memory, because every request needs them and a database round trip costs more than the
whole token check (docs/design.md, "Sessions that end"); the ``async`` ones write to, or read from, the database.

Refresh tokens are opaque random strings (``new_refresh_token``, 256 bits); a store keeps only their SHA-256
(``hash_refresh_token``), so a copy of the database hands out no usable token.
"""

from __future__ import annotations

import abc
import hashlib
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .revocation import Revocations

if TYPE_CHECKING:  # models imports this module
    from .models import User

#: Random bytes in a refresh token: 256 bits, beyond guessing (RFC 6749 §10.10, RFC 9700 §4.14).
REFRESH_TOKEN_BYTES = 32


def new_refresh_token() -> str:
    """A new refresh token: 32 random bytes as URL-safe base64, 43 characters, no padding."""
    return secrets.token_urlsafe(REFRESH_TOKEN_BYTES)


def hash_refresh_token(token: str) -> str:
    """What a store keeps of a refresh token: its SHA-256, in hex.

    A fast hash is enough here (unlike a password): the token is 256 random bits, so no dictionary guesses it.
    """
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_session_id() -> str:
    """A session id for the ``sid`` claim: random, so it says nothing about how many sessions there are."""
    return secrets.token_hex(16)


@dataclass(frozen=True)
class Session:
    """One login: a family of refresh tokens, each the successor of the one before.

    Attributes:
        id: random, the ``sid`` claim of every access token issued in this session.
        user_id: whose session it is.
        created_at: when the user logged in, seconds since the epoch (UTC).
        expires_at: ``created_at`` + ``Settings.session_lifetime``: the absolute end, never extended by a
            refresh (RFC 9700 §4.14.2).
    """

    id: str
    user_id: int
    created_at: float
    expires_at: float


@dataclass(frozen=True)
class RefreshUse:
    """What ``Store.use_refresh_token`` found when it spent, or tried to spend, a refresh token.

    Attributes:
        session: the token's session (still live: a store answers ``None`` for an ended one).
        successor: the refresh token to hand out: a new one when this call spent the token; the same one again
            when the token was spent less than ``grace`` seconds ago by this process (a lost response, a second
            tab); ``None`` otherwise.
        reused: the token was spent more than ``grace`` seconds ago: someone replays it, and the session must be
            revoked (RFC 9700 §4.14.2, reuse detection).
    """

    session: Session
    successor: str | None
    reused: bool = False


class Store(abc.ABC):
    """Users, sessions and revocations; ``revocations`` is the in-process denylist every request checks.

    A store raises ``errors.StoreUnavailable`` when its database cannot answer (locked, unreadable): the app
    answers 503, never 500.
    """

    #: The in-process denylist of this store's processes: updated at once by a revocation made here, within
    #: ``Settings.revocation_poll`` seconds by one made in another process (``sync``).
    revocations: Revocations

    # What every request needs: answered from memory, no database.

    @abc.abstractmethod
    def get_by_id(self, user_id: int) -> User | None:
        """The user with this id, or ``None``."""

    @abc.abstractmethod
    def get_by_email(self, email: str) -> User | None:
        """The user with this email (case-insensitive), or ``None``."""

    @abc.abstractmethod
    def all(self) -> list[User]:
        """Every user, in id order."""

    @abc.abstractmethod
    def authenticate(self, email: str, password: str) -> User:
        """The user whose email and password match (slow: argon2; call it in a worker thread).

        Raises:
            InvalidCredentials: unknown email or wrong password, after the same argon2 work in both cases.
        """

    @abc.abstractmethod
    def __len__(self) -> int: ...

    # Life cycle: the app opens the store at start and closes it at cleanup (``revocation.store_lifetime``).

    async def open(self) -> None:  # noqa: B027 - a store with nothing to open keeps this
        """Connect, create what is missing, load what requests need into memory."""

    async def close(self) -> None:  # noqa: B027 - a store with nothing to close keeps this
        """Release what ``open`` took."""

    async def sync(self) -> None:  # noqa: B027 - a store no other process shares has nothing to read
        """Read what other processes changed since the last call (revocations, users) into memory.

        Raises:
            StoreUnavailable: the database did not answer.
        """

    # Users.

    @abc.abstractmethod
    async def create_user(self, email: str, password_hash: str, *, is_admin: bool = False) -> User:
        """Add a user whose password is already hashed (argon2id).

        Raises:
            UserExists: the email (compared case-insensitively) is taken.
        """

    @abc.abstractmethod
    async def find_user(self, email: str) -> User | None:
        """The user with this email, read from the database (a login may come before ``sync`` saw the user)."""

    @abc.abstractmethod
    async def set_password(self, user_id: int, password_hash: str, *, keep_session: str | None = None) -> None:
        """Replace a user's password hash and revoke every session of theirs but ``keep_session``."""

    @abc.abstractmethod
    async def delete_user(self, user_id: int) -> bool:
        """Remove a user and everything of theirs: sessions, refresh tokens, access tokens. ``True`` if found."""

    # Sessions and refresh tokens.

    @abc.abstractmethod
    async def start_session(
        self, user_id: int, *, now: float, lifetime: float, token_ttl: float
    ) -> tuple[Session, str]:
        """A new session for ``user_id`` ending ``lifetime`` seconds from ``now``, and its first refresh token.

        A refresh token expires ``token_ttl`` seconds after it was issued, or with its session if that is sooner.
        """

    @abc.abstractmethod
    async def use_refresh_token(
        self, token: str, *, now: float, grace: float, token_ttl: float
    ) -> RefreshUse | None:
        """Spend a refresh token and issue its successor (rotation), or say why not.

        Returns:
            ``None`` for a token that is unknown, expired, or whose session ended (revoked, past its absolute
            lifetime, its user deleted); else a ``RefreshUse``.
        """

    @abc.abstractmethod
    async def revoke_session(self, session_id: str) -> None:
        """End a session: its refresh tokens stop working, and so do its access tokens (their ``sid``)."""

    @abc.abstractmethod
    async def revoke_sessions(self, user_id: int, *, keep: str | None = None) -> None:
        """End every session of a user but ``keep`` (logout everywhere, a password change)."""

    @abc.abstractmethod
    async def revoke_access_token(self, issuer: str, jti: str, expires_at: float) -> None:
        """Deny one access token, by (``iss``, ``jti``), until its ``exp`` (RFC 7009 §2, OWASP JWT cheat sheet)."""

    @abc.abstractmethod
    async def session_of(self, token: str, *, now: float) -> Session | None:
        """The live session a refresh token belongs to, without spending it (logout's optional body)."""
