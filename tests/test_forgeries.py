"""``tutorial_src.lab.forgeries``: the reference answers of notebook 05's lab (each is run against its live twin
in ``tests/test_check_nb05.py``); here, the branch a lab never takes."""

from __future__ import annotations

import jwt
import pytest

from tutorial_src.lab.attacks import read_token
from tutorial_src.lab.forgeries import ADMIN_ID, forge_weak_secret

SECRET = "a secret that is in no word list, 32 bytes or more"


def test_forge_weak_secret_signs_the_admin_claims_with_the_cracked_secret():
    issued = jwt.encode({"sub": "1", "aud": "api"}, SECRET, algorithm="HS256")
    forged = forge_weak_secret(issued, ["guess", SECRET])
    assert read_token(forged)[1] == {"sub": ADMIN_ID, "aud": "api"}
    assert jwt.decode(forged, SECRET, algorithms=["HS256"], audience="api")["sub"] == ADMIN_ID


def test_forge_weak_secret_says_when_no_candidate_is_the_secret():
    issued = jwt.encode({"sub": "1"}, SECRET, algorithm="HS256")
    with pytest.raises(ValueError, match="no candidate is the secret"):
        forge_weak_secret(issued, ["guess", "another guess"])
