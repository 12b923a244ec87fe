"""Checkers for the exercises of notebook 05 (attacks): forge an ``alg: none`` token, name each defence."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import requests

from ..app import create_app
from ..demo import demo_user_store
from ..lab.attacks import read_token
from ..lab.server import BackgroundServer
from ..lab.vulnerable import create_vulnerable_app
from ..settings import fast_test_settings
from ._core import (
    CheckResult,
    call_answer,
    describe_exception,
    not_yet,
    passed,
    safe_repr,
)

__all__ = ["DEFENCE_CHOICES", "forge_none_token", "name_the_defence"]

#: The defences to match with the attacks of ``name_the_defence``, lettered in an order unlike the attacks'.
DEFENCE_CHOICES: dict[str, str] = {
    "A": "Always check exp and aud - PyJWT does unless an option turns it off (RFC 7519 §4.1.3-4.1.4, "
    "RFC 8725 §3.9).",
    "B": "Treat kid as an opaque label looked up in a fixed table (or a parameterised query), never as a "
    "path or SQL (RFC 8725 §3.10).",
    "C": "Sign with a random secret of at least 32 bytes, e.g. secrets.token_urlsafe(32), never a passphrase "
    "(RFC 8725 §3.5).",
    "D": "Verify the signature before reading any claim: jwt.decode with the key, never "
    "verify_signature=False (RFC 8725 §3.3).",
    "E": "Download keys only from a key-set URL in the server's configuration, never from the token's jku "
    "(RFC 8725 §3.10).",
    "F": "Allow exactly the algorithm the server signs with, algorithms=[...], never the token's alg "
    "(RFC 8725 §3.1-3.2).",
    "G": "Verify the whole header.payload on every request; a cache, if any, is keyed by the whole token "
    "(RFC 8725 §3.3).",
    "H": "Bind each key to one algorithm: an RS256 public key is never an HMAC secret (RFC 8725 §2.1, §3.1).",
    "I": "Use only keys from the server's own configuration, never a key the token carries in jwk "
    "(RFC 8725 §3.10).",
}

_ANSWERS: dict[str, str] = {
    "unverified_signature": "D",
    "alg_none": "F",
    "weak_secret": "C",
    "algorithm_confusion": "H",
    "jwk_injection": "I",
    "kid_injection": "B",
    "jku": "E",
    "claim_tampering": "G",
    "replay": "A",
}

_HINTS: dict[str, str] = {
    "unverified_signature": "the twin decoded the token without checking it at all",
    "alg_none": "the token chose its own algorithm",
    "weak_secret": "the secret was long but in a word list",
    "algorithm_confusion": "the public key was used as an HMAC secret",
    "jwk_injection": "the token carried the key that checked it",
    "kid_injection": "the key id became a file path or part of a query",
    "jku": "the token said where to download its key",
    "claim_tampering": "a known signature let edited claims through",
    "replay": "an expired token and one for another audience were accepted",
}


def name_the_defence(answer: Any) -> CheckResult:
    """Check ``my_defences() -> {attack: letter of DEFENCE_CHOICES}`` (or the dict itself) for the nine attacks."""
    answers = answer
    if callable(answer):
        answers, verdict = call_answer(answer)
        if verdict is not None:
            return verdict
    if not isinstance(answers, dict):
        return not_yet(f"expected a dict like {{'alg_none': 'F', …}}, got {type(answers).__name__}")
    for attack, letter in _ANSWERS.items():
        given = answers.get(attack)
        if given is None or (isinstance(given, str) and given == ""):
            return not_yet(f"no letter for '{attack}' yet (one of {', '.join(DEFENCE_CHOICES)})")
        if not isinstance(given, str) or given.strip().upper() != letter:
            return not_yet(f"'{attack}': {safe_repr(given)} is not its defence - remember, {_HINTS[attack]}.")
    return passed("every attack has its defence.")


def _admin_claims(settings: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "sub": "2",
        "iat": now,
        "exp": now + 900,
        "iss": settings.issuer,
        "aud": settings.audience,
        "jti": uuid.uuid4().hex,
    }


def _admin_status(base_url: str, token: str) -> tuple[int, Any]:
    response = requests.get(f"{base_url}/admin/users", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    return response.status_code, response.json()


def _check_none_token(answer: Callable[[dict[str, Any]], Any]) -> CheckResult:
    settings = fast_test_settings()
    users = demo_user_store(settings)
    claims = _admin_claims(settings)
    token, verdict = call_answer(answer, dict(claims))
    if verdict is not None:
        return verdict
    if not isinstance(token, str):
        return not_yet(f"expected the token as a str, got {type(token).__name__}")
    try:
        header, payload, signature = read_token(token)
    except ValueError as error:
        return not_yet(f"that is not a compact JWT ({error})")
    if not isinstance(header, dict) or str(header.get("alg")).lower() != "none":
        return not_yet(f'the header must say {{"alg": "none"}}, it says {header!r}')
    if signature:
        return not_yet("an alg: none token has an empty signature: it ends with '.'")
    if payload != claims:
        return not_yet("the payload must hold exactly the claims you were given")
    with BackgroundServer(create_vulnerable_app("alg_none", settings, users)) as twin:
        twin_status, twin_body = _admin_status(twin.url, token)
    with BackgroundServer(create_app(settings, users)) as real:
        real_status, real_body = _admin_status(real.url, token)
    if twin_status != 200:
        return not_yet(f"the twin answered {twin_status} {twin_body.get('error')}: {twin_body.get('message')}")
    if (real_status, real_body.get("error")) != (401, "invalid_token"):
        return not_yet(f"the series' server should refuse it with 401 invalid_token, it answered {real_status}")
    return passed("the twin let your alg: none token into /admin/users; the series' server answered 401.")


def forge_none_token(answer: Any) -> CheckResult:
    """Check ``my_forge_none_token(claims) -> str``: an unsigned ``alg: none`` token the twin accepts.

    The token goes to an ``alg_none`` twin and to ``create_app()``, each on 127.0.0.1: the twin must answer 200
    on ``GET /admin/users`` and the series' server 401 ``invalid_token``.
    """
    if not callable(answer):
        return not_yet(f"expected a function, got {type(answer).__name__}")
    try:
        return _check_none_token(answer)
    except Exception as error:  # a checker never raises, whatever happens
        return not_yet(f"the check could not finish: {describe_exception(error)}")
