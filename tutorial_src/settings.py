"""Settings of the tutorial's app: one frozen dataclass, read once.

Every value the server needs to issue and check tokens lives here, so a notebook, a test and the
standalone server can each build their own app with different settings side by side.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field

from .errors import SettingsError

#: RFC 7518 §3.2: an HS256 key must be at least as long as the hash output, 256 bits.
MIN_SECRET_BYTES = 32


def _secret_from_environment() -> str:
    """The ``JWT_SECRET`` environment variable, or a new random secret for this process.

    A random secret is right for a notebook (one process), wrong for several processes that must accept each
    other's tokens (gunicorn workers): those share ``JWT_SECRET``.
    """
    return os.environ.get("JWT_SECRET") or secrets.token_urlsafe(MIN_SECRET_BYTES)


@dataclass(frozen=True)
class Settings:
    """Everything the app needs to issue and verify access tokens.

    Attributes:
        jwt_secret: the HMAC key, at least 32 bytes once UTF-8 encoded (RFC 7518 §3.2). Defaults to the
            ``JWT_SECRET`` environment variable, else 32 random bytes (URL-safe text) for this process.
        jwt_algorithm: the one algorithm used to sign; verification accepts exactly this one.
        access_token_ttl: lifetime of an access token, in seconds (``exp - iat``).
        issuer: the ``iss`` claim the server writes and requires (RFC 7519 §4.1.1).
        audience: the ``aud`` claim the server writes and requires (RFC 7519 §4.1.3).
        leeway: clock skew tolerated on ``exp``, ``nbf`` and ``iat``, in seconds.
        realm: the realm in ``WWW-Authenticate`` challenges (RFC 6750 §3).
        max_body_size: largest request body accepted, in bytes; larger bodies get 413.
        max_token_length: longest bearer token looked at, in characters; longer ones get 401.
        argon2_time_cost, argon2_memory_cost (KiB), argon2_parallelism: argon2id parameters. The defaults are
            the OWASP Password Storage Cheat Sheet floor (m=19 MiB, t=2, p=1); tests pass cheaper ones.

    Raises:
        SettingsError: the secret is shorter than 32 bytes, or a number is out of range.
    """

    jwt_secret: str = field(default_factory=_secret_from_environment, repr=False)
    jwt_algorithm: str = "HS256"
    access_token_ttl: int = 900
    issuer: str = "jwt-tutorial"
    audience: str = "jwt-tutorial-api"
    leeway: int = 10
    realm: str = "jwt-tutorial"
    max_body_size: int = 16 * 1024
    max_token_length: int = 4096
    argon2_time_cost: int = 2
    argon2_memory_cost: int = 19 * 1024
    argon2_parallelism: int = 1

    def __post_init__(self) -> None:
        if len(self.jwt_secret.encode("utf-8")) < MIN_SECRET_BYTES:
            raise SettingsError(
                f"JWT secret is {len(self.jwt_secret.encode('utf-8'))} bytes; HS256 needs at least "
                f"{MIN_SECRET_BYTES} (RFC 7518 §3.2). Generate one with: "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        if self.access_token_ttl <= 0:
            raise SettingsError("access_token_ttl must be a positive number of seconds")
        if self.leeway < 0:
            raise SettingsError("leeway must be zero or a positive number of seconds")

    @property
    def algorithms(self) -> list[str]:
        """The allow-list passed to ``jwt.decode``: only the algorithm the server signs with (RFC 8725 §3.1)."""
        return [self.jwt_algorithm]


def fast_test_settings(**overrides: object) -> Settings:
    """Settings with cheap argon2 parameters, for tests and benchmarks only (never for real passwords)."""
    values: dict[str, object] = {"argon2_time_cost": 1, "argon2_memory_cost": 8, "argon2_parallelism": 1}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
