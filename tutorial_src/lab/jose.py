"""A JWS signature by hand: base64url and HMAC-SHA-256 with the standard library only.

This module is what notebook 04 shows, so that a learner sees every byte that goes into an HS256 token; the
token display (``display.py``) and the attacker's toolkit of notebook 05 (``attacks.py``) build on it. The
server never uses it: it signs and verifies with PyJWT (``tokens.py``). The unit tests check both against
each other and against the example of RFC 7515 Appendix A.1 (the same token as RFC 7519 §3.1).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

__all__ = ["b64url_decode", "b64url_encode", "hs256_sign", "hs256_verify", "jws_signing_input"]


def b64url_encode(data: bytes) -> str:
    """Base64url without ``=`` padding (RFC 7515 §2 and Appendix C): ``b"\\xfb\\xff"`` -> ``"-_8"``.

    The URL-safe alphabet replaces ``+`` and ``/`` by ``-`` and ``_``; the padding is dropped because the
    length of a segment already says how many bytes it holds.
    """
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(segment: str) -> bytes:
    """Decode one base64url segment without padding: the ``=`` padding is put back first (RFC 7515 Appendix C)."""
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def jws_signing_input(header: bytes, payload: bytes) -> bytes:
    """The octets that get signed: ``ASCII(BASE64URL(header) || '.' || BASE64URL(payload))`` (RFC 7515 §5.1).

    Args:
        header: the exact UTF-8 octets of the JOSE header (whitespace and line breaks included).
        payload: the exact octets of the payload, for a JWT the UTF-8 JSON of the claims set.
    """
    return f"{b64url_encode(header)}.{b64url_encode(payload)}".encode("ascii")


def hs256_sign(signing_input: bytes, key: bytes) -> str:
    """The HS256 signature of ``signing_input``: base64url(HMAC-SHA-256(key, signing_input)), 43 characters.

    Source: RFC 7518 §3.2 (HMAC with SHA-2), RFC 2104 (HMAC) through Python's ``hmac`` module.
    """
    return b64url_encode(hmac.new(key, signing_input, hashlib.sha256).digest())


def hs256_verify(token: str, key: bytes) -> bool:
    """Whether ``token`` is a compact JWS whose header says ``"alg": "HS256"`` and whose signature matches ``key``.

    Checks nothing else (no claims). The header must name HS256 exactly: the verifier, not the token, chooses
    the algorithm, and ``alg`` values are case-sensitive (RFC 8725 §3.1, RFC 7515 §4.1.1). The signature is
    compared as text, so a padded one (``…=``) is refused (RFC 7515 §2), and in constant time
    (``hmac.compare_digest``), so the time it takes does not reveal how many leading characters of a forged
    signature were right. A token that is not three ASCII segments with a JSON object as header is ``False``.

    Raises:
        TypeError: ``token`` is not a ``str`` or ``key`` is not bytes - a bug of the caller, not a bad token.
    """
    segments = token.split(".")
    if len(segments) != 3 or not token.isascii():
        return False
    header_segment, payload_segment, signature = segments
    try:
        header = json.loads(b64url_decode(header_segment))
    except ValueError:  # not base64url, not UTF-8 or not JSON: binascii.Error and the others are ValueErrors
        return False
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        return False
    expected = hs256_sign(f"{header_segment}.{payload_segment}".encode("ascii"), key)
    return hmac.compare_digest(expected, signature)
