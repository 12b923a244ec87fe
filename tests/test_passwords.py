"""tutorial_src.passwords: the argon2id hasher follows the settings."""

from __future__ import annotations

import argon2

from tutorial_src.passwords import password_hasher
from tutorial_src.settings import Settings, fast_test_settings

SECRET = "s" * 32


def test_default_hasher_is_argon2id_with_the_owasp_floor():
    hasher = password_hasher(Settings(jwt_secret=SECRET))
    assert hasher.type is argon2.Type.ID
    assert (hasher.memory_cost, hasher.time_cost, hasher.parallelism) == (19456, 2, 1)


def test_hasher_takes_the_settings_parameters():
    settings = fast_test_settings(jwt_secret=SECRET, argon2_time_cost=3, argon2_memory_cost=16)
    hasher = password_hasher(settings)
    params = argon2.extract_parameters(hasher.hash("pw"))
    assert (params.type, params.time_cost, params.memory_cost, params.parallelism) == (argon2.Type.ID, 3, 16, 1)
