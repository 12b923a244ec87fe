"""Users and an in-memory user store.

The store keeps argon2id hashes, never passwords. ``authenticate`` answers an unknown email and a wrong
password with the same exception after the same hashing work, so neither the answer nor its timing tells an
attacker which emails have accounts (OWASP Authentication Cheat Sheet, "Authentication Responses").
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .errors import InvalidCredentials, UserExists
from .passwords import password_hasher
from .settings import Settings


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


class UserStore:
    """Users kept in memory, looked up by id or email; safe to use from several threads.

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
            return self._by_id.pop(user_id, None) is not None

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
