"""tutorial_src.settings: the secret, the defaults and the validation of ``Settings``."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import pytest

from tutorial_src.errors import SettingsError
from tutorial_src.settings import HMAC_MIN_SECRET_BYTES, MIN_SECRET_BYTES, Settings, fast_test_settings

LONG_SECRET = "s" * 32


@pytest.fixture
def no_env_secret(monkeypatch):
    monkeypatch.delenv("JWT_SECRET", raising=False)


# --- the secret ---------------------------------------------------------------------------------------------


def test_jwt_secret_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("JWT_SECRET", "e" * 40)
    assert Settings().jwt_secret == "e" * 40


def test_explicit_secret_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("JWT_SECRET", "e" * 40)
    assert Settings(jwt_secret=LONG_SECRET).jwt_secret == LONG_SECRET


def test_short_environment_secret_is_refused_with_a_clear_message(monkeypatch):
    monkeypatch.setenv("JWT_SECRET", "too-short")
    with pytest.raises(SettingsError) as caught:
        Settings()
    message = str(caught.value)
    assert "9 bytes" in message
    assert "at least 32" in message
    assert "JWT_SECRET" in message
    assert "secrets.token_urlsafe" in message  # says how to make a good one
    assert "too-short" not in message  # never echoes the secret


def test_empty_environment_secret_is_refused_not_ignored(monkeypatch):
    # A blank JWT_SECRET is a deployment mistake; silently using a random secret per worker would hide it.
    monkeypatch.setenv("JWT_SECRET", "")
    with pytest.raises(SettingsError, match="is 0 bytes"):
        Settings()


def test_secret_length_is_counted_in_utf8_bytes():
    # 11 characters of 3 bytes each: 33 bytes, enough though it is only 11 characters.
    assert Settings(jwt_secret="€" * 11).jwt_secret == "€" * 11
    with pytest.raises(SettingsError, match="is 30 bytes"):
        Settings(jwt_secret="€" * 10)


def test_secret_of_exactly_32_bytes_is_accepted_31_refused():
    assert Settings(jwt_secret="x" * MIN_SECRET_BYTES)
    with pytest.raises(SettingsError, match="is 31 bytes"):
        Settings(jwt_secret="x" * (MIN_SECRET_BYTES - 1))


def test_settings_error_is_a_value_error():
    with pytest.raises(ValueError):
        Settings(jwt_secret="short")


def test_without_environment_every_settings_of_a_process_shares_one_random_secret(no_env_secret):
    # Two Settings() in one notebook must accept each other's tokens: the secret is per process, not per call.
    first, second = Settings(), Settings()
    assert first.jwt_secret == second.jwt_secret
    assert len(first.jwt_secret.encode()) >= max(HMAC_MIN_SECRET_BYTES.values())


def test_random_secret_differs_between_processes():
    env = {k: v for k, v in os.environ.items() if k != "JWT_SECRET"}
    code = "from tutorial_src.settings import Settings; print(Settings().jwt_secret)"
    secrets = {
        subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    }
    assert len(secrets) == 2


def test_secret_is_not_in_repr_or_str():
    settings = Settings(jwt_secret="a-very-secret-value-of-more-than-32-bytes")
    assert "a-very-secret" not in repr(settings)
    assert "a-very-secret" not in str(settings)
    assert "jwt_secret" not in repr(settings)


# --- defaults -----------------------------------------------------------------------------------------------


def test_defaults(no_env_secret):
    settings = Settings()
    assert settings.jwt_algorithm == "HS256"
    assert settings.access_token_ttl == 900
    assert settings.leeway >= 0
    assert settings.issuer and settings.audience and settings.issuer != settings.audience


def test_argon2_defaults_are_no_weaker_than_owasp(no_env_secret):
    # OWASP Password Storage Cheat Sheet, argon2id: m=19 MiB (19456 KiB), t=2, p=1 at least.
    settings = Settings()
    assert settings.argon2_memory_cost >= 19456
    assert settings.argon2_time_cost >= 2
    assert settings.argon2_parallelism >= 1


def test_fast_test_settings_are_cheap_and_take_overrides():
    settings = fast_test_settings(jwt_secret=LONG_SECRET, access_token_ttl=60)
    assert settings.argon2_memory_cost < 19456
    assert settings.argon2_time_cost == 1
    assert settings.access_token_ttl == 60
    assert settings.jwt_secret == LONG_SECRET


def test_settings_are_frozen():
    settings = Settings(jwt_secret=LONG_SECRET)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.jwt_secret = "x" * 40


# --- algorithms ---------------------------------------------------------------------------------------------


def test_algorithms_is_an_allow_list_of_exactly_the_signing_algorithm():
    assert Settings(jwt_secret=LONG_SECRET).algorithms == ["HS256"]
    assert Settings(jwt_secret="x" * 64, jwt_algorithm="HS512").algorithms == ["HS512"]


@pytest.mark.parametrize("algorithm", ["none", "RS256", "ES256", "hs256", ""])
def test_non_hmac_algorithms_are_refused(algorithm):
    with pytest.raises(SettingsError, match="jwt_algorithm must be one of HS256, HS384, HS512"):
        Settings(jwt_secret="x" * 64, jwt_algorithm=algorithm)


@pytest.mark.parametrize(("algorithm", "min_bytes"), sorted(HMAC_MIN_SECRET_BYTES.items()))
def test_each_hmac_algorithm_needs_a_secret_as_long_as_its_hash(algorithm, min_bytes):
    assert Settings(jwt_secret="x" * min_bytes, jwt_algorithm=algorithm)
    with pytest.raises(SettingsError, match=f"{algorithm} needs at least {min_bytes}"):
        Settings(jwt_secret="x" * (min_bytes - 1), jwt_algorithm=algorithm)


# --- numbers ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ttl", [0, -1])
def test_access_token_ttl_must_be_positive(ttl):
    with pytest.raises(SettingsError, match="access_token_ttl must be a positive"):
        Settings(jwt_secret=LONG_SECRET, access_token_ttl=ttl)


def test_smallest_ttl_is_one_second():
    assert Settings(jwt_secret=LONG_SECRET, access_token_ttl=1).access_token_ttl == 1


def test_leeway_may_be_zero_but_not_negative():
    assert Settings(jwt_secret=LONG_SECRET, leeway=0).leeway == 0
    with pytest.raises(SettingsError, match="leeway must be zero or a positive"):
        Settings(jwt_secret=LONG_SECRET, leeway=-1)
