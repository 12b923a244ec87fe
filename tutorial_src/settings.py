"""Settings of the tutorial's app: one frozen dataclass, read once.

Every value the server needs to issue and check tokens lives here, so a notebook, a test and the
standalone server can each build their own app with different settings side by side.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from typing import Any

from .errors import SettingsError
from .keyset import ASYMMETRIC_ALGORITHMS, KeyRing
from .revocation import Revocations

#: RFC 7518 §3.2: an HMAC key must be at least as long as the hash output (256 bits for HS256). PyJWT warns
#: (``InsecureKeyLengthWarning``) below the same sizes.
MIN_SECRET_BYTES = 32
#: The algorithms a shared secret can sign with, and the shortest secret each accepts, in bytes.
HMAC_MIN_SECRET_BYTES: dict[str, int] = {"HS256": 32, "HS384": 48, "HS512": 64}

# One random secret per process, made once at import: every Settings() of a notebook (or of a test) without
# JWT_SECRET then accepts the tokens of every other. 64 random bytes are enough for HS512 too.
_PROCESS_SECRET = secrets.token_urlsafe(64)


def _secret_from_environment() -> str:
    """The ``JWT_SECRET`` environment variable when set (even empty, so a blank value is refused, not
    ignored), else this process's random secret.

    A random secret is right for a notebook (one process), wrong for several processes that must accept each
    other's tokens (gunicorn workers): those share ``JWT_SECRET``.
    """
    value = os.environ.get("JWT_SECRET")
    return _PROCESS_SECRET if value is None else value


@dataclass(frozen=True)
class Settings:
    """Everything the app needs to issue and verify access tokens.

    Attributes:
        jwt_secret: the HMAC key, at least 32 bytes once UTF-8 encoded for HS256 (48 for HS384, 64 for HS512;
            RFC 7518 §3.2). Defaults to the ``JWT_SECRET`` environment variable, else one random secret (64
            bytes as URL-safe text) shared by every ``Settings()`` of this process.
        jwt_algorithm: the one algorithm used to sign, ``HS256``, ``HS384`` or ``HS512``; verification accepts
            exactly this one.
        access_token_ttl: lifetime of an access token, in seconds (``exp - iat``).
        issuer: the ``iss`` claim the server writes and requires (RFC 7519 §4.1.1).
        audience: the ``aud`` claim the server writes and requires (RFC 7519 §4.1.3).
        leeway: clock skew tolerated on ``exp``, ``nbf`` and ``iat``, in seconds.
        realm: the realm in ``WWW-Authenticate`` challenges (RFC 6750 §3).
        max_body_size: largest request body accepted, in bytes; larger bodies get 413.
        max_token_length: longest bearer token looked at, in characters; longer ones get 401.
        argon2_time_cost, argon2_memory_cost (KiB), argon2_parallelism: argon2id parameters. The defaults are
            the OWASP Password Storage Cheat Sheet floor (m=19 MiB, t=2, p=1); tests pass cheaper ones.
        login_workers: how many logins hash a password at once; ``None``: one per CPU this process may use.
        login_queue: how many logins may wait for a hashing slot; one more gets 503 with ``Retry-After``.
        login_window: the sliding window of the attempt limits, in seconds.
        login_failures_per_account, login_failures_per_address: failed logins allowed per window for one
            email (known or not) and for one client address; the next attempt gets 429 with ``Retry-After``.
        header_timeout: seconds a connection may take to send a request's headers (from its opening, or from
            the previous answer on a kept-alive connection) before it is closed.
        body_timeout: seconds a request body may take to arrive once its headers are in; then 408.
        signing_keys: the issuer's key ring when it signs with a private key (``jwt_algorithm`` ES256, EdDSA or
            RS256, the current key's algorithm); ``None`` for HMAC. Notebook 09.
        jwks_max_age: how long verifiers may cache the published JWKS, in seconds (``Cache-Control: max-age``).
        refresh_token_ttl: seconds a refresh token stays usable if it is not used (each refresh hands out a new
            one); never past its session's end. Notebook 07.
        session_lifetime: seconds from login to the absolute end of a session: refreshing never extends it
            (RFC 9700 §4.14.2).
        refresh_grace: seconds in which a refresh token just spent may be presented again and get the same
            successor (a lost response, a second tab) instead of counting as a replay. docs/design.md.
        revocation_poll: seconds between two reads of the revocations other processes made (the SQLite store).
        revocation_max_delay: once the database cannot be read, seconds from the last read that worked after
            which the app refuses access tokens with 503 rather than risk accepting a revoked one; at least
            ``revocation_poll``.
        db_timeout: seconds a database statement waits for another process's lock before the app answers 503.
        revocations: the in-process denylist ``tokens.decode_access_token`` checks every token against; the app
            builder sets its store's here. ``None``: no check (a resource service, a token decoded by hand).

    Raises:
        SettingsError: the algorithm is neither an HMAC one nor the signing keys' one, the secret is shorter
            than the algorithm needs, or a number is out of range.
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
    login_workers: int | None = None
    login_queue: int = 32
    login_window: float = 60.0
    login_failures_per_account: int = 10
    login_failures_per_address: int = 50
    header_timeout: float = 10.0
    body_timeout: float = 10.0
    # Not in the repr: notebooks 01-06 show the repr of HMAC settings, which these fields do not concern.
    signing_keys: KeyRing | None = field(default=None, repr=False)
    jwks_max_age: int = field(default=300, repr=False)
    # Notebook 07's; not in the repr either, for the same reason.
    refresh_token_ttl: int = field(default=24 * 3600, repr=False)
    session_lifetime: int = field(default=7 * 24 * 3600, repr=False)
    refresh_grace: float = field(default=5.0, repr=False)
    revocation_poll: float = field(default=0.5, repr=False)
    revocation_max_delay: float = field(default=5.0, repr=False)
    db_timeout: float = field(default=2.0, repr=False)
    # State, not a setting: every function that checks a token takes the settings, the learner's too (notebooks
    # 02 and 06), so the denylist travels with them. Two settings that differ only by it compare equal.
    revocations: Revocations | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.signing_keys is not None or self.jwt_algorithm in ASYMMETRIC_ALGORITHMS:
            self._check_signing_keys()
        else:
            self._check_secret()
        if self.access_token_ttl <= 0:
            raise SettingsError("access_token_ttl must be a positive number of seconds")
        if self.leeway < 0:
            raise SettingsError("leeway must be zero or a positive number of seconds")
        if self.jwks_max_age < 0:
            raise SettingsError("jwks_max_age must be zero or a positive number of seconds")
        for name in ("login_failures_per_account", "login_failures_per_address"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name} must be a positive number")
        if self.login_queue < 0:
            raise SettingsError("login_queue must be zero (no waiting) or a positive number")
        for name in ("login_window", "header_timeout", "body_timeout"):
            if not getattr(self, name) > 0:
                raise SettingsError(f"{name} must be a positive number of seconds")
        for name in ("refresh_token_ttl", "session_lifetime", "revocation_poll", "db_timeout"):
            if not getattr(self, name) > 0:
                raise SettingsError(f"{name} must be a positive number of seconds")
        if self.refresh_grace < 0:
            raise SettingsError("refresh_grace must be zero (no grace) or a positive number of seconds")
        if not self.revocation_max_delay >= self.revocation_poll:
            raise SettingsError("revocation_max_delay must be at least revocation_poll")
        if self.login_workers is not None and self.login_workers < 1:
            raise SettingsError("login_workers must be a positive number, or None for one per CPU")

    def _check_signing_keys(self) -> None:
        if self.signing_keys is None:
            raise SettingsError(
                f"jwt_algorithm must be one of {', '.join(HMAC_MIN_SECRET_BYTES)} (a shared secret signs with "
                f"HMAC), not {self.jwt_algorithm!r}: {', '.join(ASYMMETRIC_ALGORITHMS)} need signing_keys"
            )
        current = self.signing_keys.keys.current.algorithm
        if self.jwt_algorithm != current:
            raise SettingsError(
                f"jwt_algorithm is {self.jwt_algorithm!r} but the current signing key is {current}"
            )

    def _check_secret(self) -> None:
        min_bytes = HMAC_MIN_SECRET_BYTES.get(self.jwt_algorithm)
        if min_bytes is None:
            raise SettingsError(
                f"jwt_algorithm must be one of {', '.join(HMAC_MIN_SECRET_BYTES)} (a shared secret signs with "
                f"HMAC), not {self.jwt_algorithm!r}"
            )
        size = len(self.jwt_secret.encode("utf-8"))
        if size < min_bytes:
            raise SettingsError(
                f"the JWT secret (jwt_secret or the JWT_SECRET environment variable) is {size} bytes; "
                f"{self.jwt_algorithm} needs at least {min_bytes} (RFC 7518 §3.2). Generate one with: "
                "python -c 'import secrets; print(secrets.token_urlsafe(64))'"
            )

    @property
    def algorithms(self) -> list[str]:
        """The allow-list passed to ``jwt.decode``: only the algorithm the server signs with (RFC 8725 §3.1)."""
        return [self.jwt_algorithm]


def fast_test_settings(**overrides: Any) -> Settings:
    """Settings with cheap argon2 parameters, for tests and benchmarks only (never for real passwords)."""
    values: dict[str, Any] = {"argon2_time_cost": 1, "argon2_memory_cost": 8, "argon2_parallelism": 1}
    values.update(overrides)
    return Settings(**values)
