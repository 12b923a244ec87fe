"""Users and the in-memory store (``UserStore``, the ``store.Store`` of notebooks 01-06).

The store keeps argon2id hashes, never passwords. ``authenticate`` answers an unknown email and a wrong
password with the same exception after the same hashing work, so neither the answer nor its timing tells an
attacker which emails have accounts (OWASP Authentication Cheat Sheet, "Authentication Responses").
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .errors import InvalidCredentials, UserExists
from .passwords import password_hasher
from .revocation import Revocations
from .settings import Settings
from .store import RefreshUse, Session, Store, hash_refresh_token, new_refresh_token, new_session_id


@dataclass(frozen=True)
class User:
    """A user of the demo app.

    Attributes:
        id: a positive integer; tokens carry it as the string ``sub`` claim.
        email: the login name, stored lower-case.
        password_hash: an argon2id PHC string (``$argon2id$v=19$m=…,t=…,p=…$salt$hash``).
        is_admin: whether ``admin_required`` handlers let this user in.
    """

    id: int
    email: str
    password_hash: str
    is_admin: bool = False

    def __str__(self) -> str:
        # The same text the 2016 article's /get-user answered with.
        return f"User id={self.id}: <{self.email}, is_admin={self.is_admin}>"

    def to_public_dict(self) -> dict[str, object]:
        """The fields safe to send to a client: ``{"id": int, "email": str, "is_admin": bool}``."""
        return {"id": self.id, "email": self.email, "is_admin": self.is_admin}


@dataclass
class _RefreshToken:
    session_id: str
    expires_at: float
    used_at: float | None = None
    successor: str | None = None  # kept for the grace only; a database store keeps hashes alone


class UserStore(Store):
    """Users, sessions and revocations kept in memory, for one process; safe to use from several threads.

    Args:
        hasher: the argon2 ``PasswordHasher`` used to hash and verify passwords.
    """

    def __init__(self, hasher: PasswordHasher) -> None:
        self._hasher = hasher
        self._by_id: dict[int, User] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        # Verified against when the email is unknown, so that path costs one argon2 verification too.
        self._dummy_hash = hasher.hash("not-a-real-password")
        self._sessions: dict[str, Session] = {}
        self._refresh_tokens: dict[str, _RefreshToken] = {}  # by hash_refresh_token
        # No other process shares this store: the denylist is never stale.
        self.revocations = Revocations()

    @classmethod
    def from_settings(cls, settings: Settings) -> UserStore:
        """An empty store hashing with the settings' argon2 parameters."""
        return cls(password_hasher(settings))

    def create(self, email: str, password: str, *, is_admin: bool = False) -> User:
        """Hash ``password`` with argon2id and add a user; ids count up from 1.

        Raises:
            UserExists: a user with this email (compared case-insensitively) exists.
        """
        email = email.strip().lower()
        password_hash = self._hasher.hash(password)
        with self._lock:
            if self._find_email(email) is not None:
                raise UserExists(f"a user with email {email!r} already exists")
            user = User(id=next(self._ids), email=email, password_hash=password_hash, is_admin=is_admin)
            self._by_id[user.id] = user
        return user

    def put(self, user: User) -> None:
        """Add or replace ``user`` as it is, id included (a database store keeps its users' copy here)."""
        with self._lock:
            self._by_id[user.id] = user

    def forget(self, user_id: int) -> None:
        """Drop the user with this id, if there is one, and nothing else (a database store's copy)."""
        with self._lock:
            self._by_id.pop(user_id, None)

    def get_by_id(self, user_id: int) -> User | None:
        """The user with this id, or ``None``."""
        return self._by_id.get(user_id)

    def get_by_email(self, email: str) -> User | None:
        """The user with this email (case-insensitive), or ``None``."""
        email = email.strip().lower()
        with self._lock:  # the lookup iterates over the users: a create or delete meanwhile would break it
            return self._find_email(email)

    def delete(self, user_id: int) -> bool:
        """Remove a user; ``True`` if there was one. Tokens already issued to them stop working."""
        with self._lock:
            found = self._by_id.pop(user_id, None) is not None
            for session in [s for s in self._sessions.values() if s.user_id == user_id]:
                # Not on the denylist: the access tokens of a user who is gone fail their user lookup.
                self._end_session(session.id, deny=False)
        return found

    def all(self) -> list[User]:
        """Every user, in id order."""
        return sorted(self._by_id.values(), key=lambda user: user.id)

    def authenticate(self, email: str, password: str) -> User:
        """The user whose email and password match.

        Raises:
            InvalidCredentials: unknown email or wrong password (including one that is not valid Unicode text),
                after the same argon2 work in both cases.
        """
        user = self.get_by_email(email)
        try:
            self._hasher.verify(user.password_hash if user else self._dummy_hash, password)
        # UnicodeEncodeError: JSON can spell a lone surrogate ("\ud800"), a str that no password can equal.
        except (VerificationError, InvalidHashError, UnicodeEncodeError):
            raise InvalidCredentials("invalid email or password") from None
        if user is None:
            raise InvalidCredentials("invalid email or password")
        return user

    def __len__(self) -> int:
        return len(self._by_id)

    def _find_email(self, email: str) -> User | None:
        # Callers hold self._lock.
        return next((user for user in self._by_id.values() if user.email == email), None)

    # The async interface of store.Store; in memory each is one step under the lock, so none can interleave.

    async def create_user(self, email: str, password_hash: str, *, is_admin: bool = False) -> User:
        email = email.strip().lower()
        with self._lock:
            if self._find_email(email) is not None:
                raise UserExists(f"a user with email {email!r} already exists")
            user = User(id=next(self._ids), email=email, password_hash=password_hash, is_admin=is_admin)
            self._by_id[user.id] = user
        return user

    async def find_user(self, email: str) -> User | None:
        return self.get_by_email(email)

    async def set_password(self, user_id: int, password_hash: str, *, keep_session: str | None = None) -> None:
        with self._lock:
            user = self._by_id.get(user_id)
            if user is None:
                return
            self._by_id[user_id] = dataclasses.replace(user, password_hash=password_hash)
            self._end_sessions_of(user_id, keep=keep_session)

    async def delete_user(self, user_id: int) -> bool:
        return self.delete(user_id)

    async def start_session(
        self, user_id: int, *, now: float, lifetime: float, token_ttl: float
    ) -> tuple[Session, str]:
        session = Session(id=new_session_id(), user_id=user_id, created_at=now, expires_at=now + lifetime)
        token = new_refresh_token()
        with self._lock:
            self._sessions[session.id] = session
            self._refresh_tokens[hash_refresh_token(token)] = _RefreshToken(
                session.id, min(now + token_ttl, session.expires_at)
            )
        return session, token

    async def use_refresh_token(
        self, token: str, *, now: float, grace: float, token_ttl: float
    ) -> RefreshUse | None:
        with self._lock:
            record = self._refresh_tokens.get(hash_refresh_token(token))
            session = None if record is None else self._live_session(record.session_id, now)
            if record is None or session is None:
                return None
            if record.used_at is None:  # the consume: check and mark under one lock
                if record.expires_at <= now:
                    return None
                record.used_at = now
                record.successor = new_refresh_token()
                self._refresh_tokens[hash_refresh_token(record.successor)] = _RefreshToken(
                    session.id, min(now + token_ttl, session.expires_at)
                )
                return RefreshUse(session, record.successor)
            successor = (
                None
                if record.successor is None
                else self._refresh_tokens.get(hash_refresh_token(record.successor))
            )
            if now - record.used_at <= grace and successor is not None and successor.used_at is None:
                return RefreshUse(session, record.successor)
            # Outside the grace, or its successor spent already: a copy of the token is in other hands.
            return RefreshUse(session, None, reused=True)

    async def session_of(self, token: str, *, now: float) -> Session | None:
        with self._lock:
            record = self._refresh_tokens.get(hash_refresh_token(token))
            return None if record is None else self._live_session(record.session_id, now)

    async def revoke_session(self, session_id: str) -> None:
        with self._lock:
            self._end_session(session_id)

    async def revoke_sessions(self, user_id: int, *, keep: str | None = None) -> None:
        with self._lock:
            self._end_sessions_of(user_id, keep=keep)

    async def revoke_access_token(self, issuer: str, jti: str, expires_at: float) -> None:
        self.revocations.revoke_token(issuer, jti, expires_at)

    def _live_session(self, session_id: str, now: float) -> Session | None:
        # Callers hold self._lock.
        session = self._sessions.get(session_id)
        if session is None or session.expires_at <= now or session.user_id not in self._by_id:
            return None
        return session

    def _end_sessions_of(self, user_id: int, *, keep: str | None) -> None:
        # Callers hold self._lock.
        for session in [s for s in self._sessions.values() if s.user_id == user_id and s.id != keep]:
            self._end_session(session.id)

    def _end_session(self, session_id: str, *, deny: bool = True) -> None:
        # Callers hold self._lock. The session's refresh tokens go; its access tokens stay denied by sid.
        session = self._sessions.pop(session_id, None)
        if session is None:
            return
        for token_hash in [h for h, r in self._refresh_tokens.items() if r.session_id == session_id]:
            del self._refresh_tokens[token_hash]
        if deny:
            self.revocations.revoke_session(session_id, time.time())
