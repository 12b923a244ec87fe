"""Checkers for the exercises of notebook 09 (one issuer, many services: the resource service's key lookup)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jwt

from ..errors import InvalidToken
from ..keyset import SigningKey
from ._core import Case, CheckResult, describe_exception, returns, run_cases, safe_repr

__all__ = ["key_for_header", "should_refetch"]


@functools.cache
def _keys() -> dict[str, SigningKey]:
    # Made once per process: RSA key generation takes a moment, and the cases only need *some* keys.
    return {
        "old": SigningKey.generate("ES256"),
        "new": SigningKey.generate("ES256"),
        "ed": SigningKey.generate("EdDSA"),
        "rs": SigningKey.generate("RS256"),
        "stranger": SigningKey.generate("ES256"),
    }


def _found(expected: jwt.PyJWK, why: str) -> Callable[[Any, BaseException | None], str | None]:
    def expect(value: Any, error: BaseException | None) -> str | None:
        if error is not None:
            return f"{why}; expected that key, but it raised {describe_exception(error)}"
        if value is None:
            return f"{why}; expected that key, got None"
        if value is not expected:
            return f"{why}; return the PyJWK object of `keys` itself, not {safe_repr(value)}"
        return None

    return expect


def _unknown(why: str) -> Callable[[Any, BaseException | None], str | None]:
    def expect(value: Any, error: BaseException | None) -> str | None:
        if error is not None:
            return f"{why}; return None (the caller may refetch), but it raised {describe_exception(error)}"
        if value is not None:
            return f"{why}; expected None, got {safe_repr(value)}"
        return None

    return expect


def _refused(why: str) -> Callable[[Any, BaseException | None], str | None]:
    def expect(value: Any, error: BaseException | None) -> str | None:
        if error is None:
            return f"{why}; expected InvalidToken to be raised, but it returned {safe_repr(value)}"
        if not isinstance(error, InvalidToken):
            return f"{why}; raise InvalidToken (a 401), not {describe_exception(error)}"
        return None

    return expect


def key_for_header(answer: Callable[..., Any]) -> CheckResult:
    """Check ``answer(header, keys)``: the ``jwt.PyJWK`` of ``keys`` (a dict by kid) that the token's header
    names, ``None`` for an unknown ``kid``, ``InvalidToken`` for no kid or an ``alg`` that is not the key's."""
    keys = _keys()
    old, new, ed, rs, stranger = (keys[name] for name in ("old", "new", "ed", "rs", "stranger"))
    published = {key.kid: key.verification_key for key in (old, new, ed, rs)}
    after_rotation = {key.kid: key.verification_key for key in (new, ed, rs)}
    evil_jwk = stranger.public_jwk
    cases = [
        Case("an ES256 token with a published kid", ({"alg": "ES256", "kid": old.kid}, published),
             _found(published[old.kid], "the kid is published and the alg is its key's")),
        Case("an EdDSA token with the kid of the EdDSA key", ({"alg": "EdDSA", "kid": ed.kid}, published),
             _found(published[ed.kid], "each key has its own algorithm: compare with that key's algorithm_name")),
        Case("an RS256 token with the kid of the RSA key", ({"alg": "RS256", "kid": rs.kid}, published),
             _found(published[rs.kid], "each key has its own algorithm: compare with that key's algorithm_name")),
        Case("a token of the next key, published before signing with it", ({"alg": "ES256", "kid": new.kid},
             after_rotation), _found(after_rotation[new.kid], "a rotated-in key is found by its kid")),
        Case("an unknown kid", ({"alg": "ES256", "kid": stranger.kid}, published),
             _unknown("an unknown kid may be a key published since the last fetch")),
        Case("the kid of a key retired by a rotation", ({"alg": "ES256", "kid": old.kid}, after_rotation),
             _unknown("a retired key is just an unknown kid now")),
        Case("alg HS256 with an ES256 key's kid (algorithm confusion)", ({"alg": "HS256", "kid": old.kid},
             published), _refused("the public key would become an HMAC secret anyone can use")),
        Case("alg none with a published kid", ({"alg": "none", "kid": old.kid}, published),
             _refused("'none' means no signature at all")),
        Case("alg RS256 with the EdDSA key's kid", ({"alg": "RS256", "kid": ed.kid}, published),
             _refused("the alg must be the one of the key the kid names")),
        Case("alg 'es256' (lower case)", ({"alg": "es256", "kid": old.kid}, published),
             _refused("algorithm names are case-sensitive (RFC 7515 §4.1.1): compare exactly")),
        Case("a header without alg", ({"kid": old.kid}, published), _refused("a header must say its alg")),
        Case("a header without kid", ({"alg": "ES256"}, published),
             _refused("no kid names no key: never fall back to some key of the set")),
        Case("a kid that is a number", ({"alg": "ES256", "kid": 0}, published),
             _refused("a kid is a string (RFC 7515 §4.1.4)")),
        Case("a kid that is a list", ({"alg": "ES256", "kid": [old.kid]}, published),
             _refused("a kid is a string (RFC 7515 §4.1.4); check its type before the lookup")),
        Case("a header that brings its own key in 'jwk'", ({"alg": "ES256", "kid": stranger.kid, "jwk": evil_jwk},
             published), _unknown("never use a key the token brings (RFC 8725 §3.10): only the trusted set")),
        Case("a header with a 'jku' URL", ({"alg": "ES256", "kid": old.kid, "jku": "http://127.0.0.1:9/jwks.json"},
             published), _found(published[old.kid], "never follow jku (RFC 8725 §3.10): look the kid up in keys")),
    ]  # fmt: skip
    return run_cases(answer, cases, "the key is found by its kid only, with its own algorithm, never the token's.")


def should_refetch(answer: Callable[..., Any]) -> CheckResult:
    """Check ``answer(kid_known, stale, now, last_fetch, cooldown)``: fetch the key set again only when the kid
    is unknown or the set is stale, and never within ``cooldown`` seconds of the last attempt."""
    cases = [
        Case("a known kid, a fresh set", (True, False, 100.0, 99.0, 5.0),
             returns_bool(False, "a known kid in a fresh set never fetches: that would be one fetch per request")),
        Case("a known kid, a fresh set, the cooldown over", (True, False, 100.0, 50.0, 5.0),
             returns_bool(False, "the cooldown only limits fetches; a known kid in a fresh set needs none")),
        Case("nothing fetched yet (last_fetch is None)", (False, True, 100.0, None, 5.0),
             returns_bool(True, "with no set at all, fetch (last_fetch is None, not a number)")),
        Case("an unknown kid, the cooldown over", (False, False, 100.0, 90.0, 5.0),
             returns_bool(True, "an unknown kid may be a key published since: fetch")),
        Case("an unknown kid, exactly one cooldown later", (False, False, 100.0, 95.0, 5.0),
             returns_bool(True, "once `cooldown` seconds have passed (>=) a fetch is allowed again")),
        Case("an unknown kid within the cooldown", (False, False, 100.0, 96.0, 5.0),
             returns_bool(False, "made-up kids must not make the service flood the issuer: wait")),
        Case("a stale set, the cooldown over", (True, True, 100.0, 40.0, 5.0),
             returns_bool(True, "a stale set is fetched again, even for a known kid")),
        Case("a stale set within the cooldown (the last fetch just failed)", (True, True, 100.0, 99.0, 5.0),
             returns_bool(False, "while the issuer is down, a stale set serves on: one attempt per cooldown")),
    ]  # fmt: skip
    return run_cases(answer, cases, "one fetch per cooldown at most, and none while the kid is known and fresh.")


def returns_bool(expected: bool, why: str) -> Callable[[Any, BaseException | None], str | None]:
    """An expectation: the answer returns the bool ``expected``; the hint says ``why``."""
    plain = returns(expected)

    def expect(value: Any, error: BaseException | None) -> str | None:
        problem = plain(value, error)
        return None if problem is None else f"{why} ({problem})"

    return expect
