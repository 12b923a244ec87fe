"""Password hashing with argon2id (argon2-cffi), the OWASP Password Storage Cheat Sheet's first choice."""

from __future__ import annotations

from argon2 import PasswordHasher

from .settings import Settings


def password_hasher(settings: Settings) -> PasswordHasher:
    """An argon2id ``PasswordHasher`` with the settings' cost parameters (memory in KiB).

    Source: argon2-cffi's ``PasswordHasher`` (https://argon2-cffi.readthedocs.io/en/stable/api.html).
    """
    return PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_cost,
        parallelism=settings.argon2_parallelism,
    )
