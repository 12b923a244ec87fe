"""A DELIBERATELY VULNERABLE twin of the demo app, for the attack lab of notebook 05. Never deploy it.

``create_vulnerable_app(weakness)`` builds the series' app with ``app.build_app`` - the same ``/login``, user
store, routes, decorators and request limits - with one difference: the auth middleware verifies tokens in one
of the broken ways real servers have shipped. Each weakness is one small function below (``VERIFIERS``), so the
notebook can show it beside the line of ``create_app()`` that refuses the same forged token.

Safety: the twin is only built by notebook 05, its checkers and the tests. No standalone entry point (``python
-m tutorial_src…``, gunicorn) ever creates it; serve it with ``server.BackgroundServer``, which listens on
127.0.0.1 only. Its ``jku`` weakness fetches key sets from 127.0.0.1 only.

One flaw is shared by every twin (``user_from_claims``): a boolean ``is_admin`` claim in the token overrides the
user store - roles taken from the token instead of the server's own records. It is harmless while signatures
are verified (the server never issues such a claim) and fatal as soon as they are not.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import sqlite3
import tempfile
import weakref
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from yarl import URL

from ..app import build_app
from ..auth import bearer_token
from ..errors import InvalidRequest, InvalidToken, SettingsError, UnsupportedScheme
from ..keys import CURRENT_USER, SETTINGS, USERS
from ..models import User, UserStore
from ..responses import bearer_error
from ..settings import Settings
from ..store import Store
from ..tokens import REQUIRED_CLAIMS, decode_access_token
from .attacks import new_rsa_key, public_pem
from .jose import hs256_verify

#: The weak twin's HMAC secret: 39 bytes, so ``Settings`` accepts it, yet it is a line of the shipped word
#: list. Length is not strength: a secret must be random (RFC 8725 §3.5), e.g. ``secrets.token_urlsafe(32)``.
WEAK_SECRET = "our-company-jwt-secret-key-do-not-share"
#: The key id of the twins' own key when a token names none (``kid_path`` and ``kid_sql``).
DEFAULT_KID = "current"
#: The most the ``kid_path`` twin reads from a key file, in bytes.
MAX_KEY_BYTES = 4096

WEAKNESS = web.AppKey("weakness", str)
PUBLIC_KEY_PEM = web.AppKey("public_key_pem", bytes)
KEY_DIR = web.AppKey("key_dir", Path)
VERIFIED_SIGNATURES = web.AppKey("verified_signatures", set)

Verifier = Callable[[str, web.Application], Awaitable[dict[str, Any]]]


def claim_checks(settings: Settings) -> dict[str, Any]:
    """The ``jwt.decode`` arguments for ``aud``, ``iss``, leeway and required claims, as ``decode_access_token``.

    The RS256 twins pass them so that each twin has exactly one flaw.
    """
    return {
        "audience": settings.audience,
        "issuer": settings.issuer,
        "leeway": settings.leeway,
        "options": {"require": REQUIRED_CLAIMS},
    }


def unverified_claims(token: str) -> dict[str, Any]:
    """The claims of ``token`` decoded without any check (PyJWT with ``verify_signature=False``)."""
    return jwt.decode(token, options={"verify_signature": False})


def check_hs256_by_hand(token: str, key: bytes) -> dict[str, Any]:
    """The claims of an HS256 token whose signature matches ``key``; any key, even ``b""`` or a PEM.

    PyJWT 2.15 refuses empty keys and PEM keys as HMAC secrets (``InvalidKeyError``), a defence in itself, so
    the twins that need such keys check the HMAC themselves - which is how these bugs happen.

    Raises:
        jwt.InvalidSignatureError: the signature does not match.
    """
    if not hs256_verify(token, key):
        raise jwt.InvalidSignatureError("Signature verification failed")
    return unverified_claims(token)


# --- 1. signature not verified ------------------------------------------------------------------------------
async def decode_without_verifying(token: str, app: web.Application) -> dict[str, Any]:
    """Weakness ``unverified``: read the claims and trust them; the signature is never checked."""
    # The flaw: verify_signature=False turns jwt.decode into base64 decoding (and turns off exp, aud…).
    return jwt.decode(token, options={"verify_signature": False})


# --- 2. alg: none -------------------------------------------------------------------------------------------
async def trust_alg_header(token: str, app: web.Application) -> dict[str, Any]:
    """Weakness ``alg_none``: the token's own ``alg`` picks the check, and ``none`` means no check at all."""
    header = jwt.get_unverified_header(token)
    # The flaw: the attacker writes the header, so the attacker chooses "none" (or "None", "NONE").
    if str(header.get("alg")).lower() == "none":
        return unverified_claims(token)
    return decode_access_token(token, app[SETTINGS])


# --- 3. weak HMAC secret ------------------------------------------------------------------------------------
async def verify_with_guessable_secret(token: str, app: web.Application) -> dict[str, Any]:
    """Weakness ``weak_secret``: the checks are right; the key, ``WEAK_SECRET``, is in a word list."""
    # The flaw is not in this line but in app[SETTINGS].jwt_secret: 39 bytes of guessable words.
    return decode_access_token(token, app[SETTINGS])


# --- 4. algorithm confusion ---------------------------------------------------------------------------------
async def one_key_for_any_alg(token: str, app: web.Application) -> dict[str, Any]:
    """Weakness ``alg_confusion``: an RS256 server that also accepts HS256, keyed with its public key."""
    public_key = app[PUBLIC_KEY_PEM]
    if jwt.get_unverified_header(token).get("alg") == "HS256":
        # The flaw: the same key for every algorithm. With HS256 the public PEM becomes the HMAC secret,
        # and everybody has the public key.
        return check_hs256_by_hand(token, public_key)
    return jwt.decode(token, public_key, algorithms=["RS256"], **claim_checks(app[SETTINGS]))


# --- 5. jwk header injection --------------------------------------------------------------------------------
async def key_from_jwk_header(token: str, app: web.Application) -> dict[str, Any]:
    """Weakness ``jwk_header``: a token that carries a ``jwk`` header is checked with that key."""
    header = jwt.get_unverified_header(token)
    # The flaw: whoever signs the token also supplies the key that checks it.
    key = jwt.PyJWK(header["jwk"]) if "jwk" in header else app[PUBLIC_KEY_PEM]
    return jwt.decode(token, key, algorithms=["RS256"], **claim_checks(app[SETTINGS]))


# --- 6. kid path traversal and kid SQL injection ------------------------------------------------------------
async def key_file_named_by_kid(token: str, app: web.Application) -> dict[str, Any]:
    """Weakness ``kid_path``: the ``kid`` header names the key file to read from the twin's key folder."""
    kid = str(jwt.get_unverified_header(token).get("kid", DEFAULT_KID))
    # The flaw: "../" walks out of the key folder; ../../../../dev/null is an empty key the attacker knows.
    with open(app[KEY_DIR] / kid, "rb") as key_file:
        key = key_file.read(MAX_KEY_BYTES)  # a lab safety rail: /dev/zero cannot make the twin read forever
    return check_hs256_by_hand(token, key)


async def key_query_built_from_kid(token: str, app: web.Application) -> dict[str, Any]:
    """Weakness ``kid_sql``: the ``kid`` header is pasted into the SQL query that finds the key."""
    kid = str(jwt.get_unverified_header(token).get("kid", DEFAULT_KID))
    with contextlib.closing(key_database(app[SETTINGS])) as database:
        # The flaw: string formatting, not a parameter; "x' UNION SELECT 'my key" returns the attacker's key.
        row = database.execute(f"SELECT secret FROM keys WHERE kid = '{kid}'").fetchone()
    if row is None:
        raise jwt.InvalidTokenError("unknown key id")
    return check_hs256_by_hand(token, str(row[0]).encode("utf-8"))


# --- 7. jku pointing at the attacker's key set --------------------------------------------------------------
async def key_set_from_jku(token: str, app: web.Application) -> dict[str, Any]:
    """Weakness ``jku``: a token with a ``jku`` header is checked with a key downloaded from that URL."""
    header = jwt.get_unverified_header(token)
    if "jku" not in header:
        return jwt.decode(token, app[PUBLIC_KEY_PEM], algorithms=["RS256"], **claim_checks(app[SETTINGS]))
    url = URL(str(header["jku"]))
    if url.scheme != "http" or url.host != "127.0.0.1":
        # A safety rail of the lab, not a defence: the twin never fetches from another machine.
        raise jwt.InvalidTokenError("the lab twin only fetches key sets from http://127.0.0.1")
    # The flaw: the token says where to download the key that checks it.
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
        session.get(url, allow_redirects=False) as response,
    ):
        key_set = jwt.PyJWKSet.from_dict(await response.json(content_type=None))
    key = key_set[header["kid"]] if "kid" in header else key_set.keys[0]
    return jwt.decode(token, key, algorithms=["RS256"], **claim_checks(app[SETTINGS]))


# --- 8. claim tampering -------------------------------------------------------------------------------------
async def cache_by_signature(token: str, app: web.Application) -> dict[str, Any]:
    """Weakness ``claim_tampering``: verified signatures are cached, and a cached signature skips the check."""
    signature = token.rpartition(".")[2]
    seen = app[VERIFIED_SIGNATURES]
    if signature in seen:
        # The flaw: the cache key is the signature alone, not the signed header.payload, so edited claims
        # that keep a known signature are trusted without a check.
        return unverified_claims(token)
    claims = decode_access_token(token, app[SETTINGS])
    seen.add(signature)
    return claims


# --- 9. replay of expired and other-audience tokens ---------------------------------------------------------
async def skip_expiry_and_audience(token: str, app: web.Application) -> dict[str, Any]:
    """Weakness ``replay``: signature, algorithm and issuer are checked; ``exp`` and ``aud`` are not."""
    settings = app[SETTINGS]
    # The flaw: two checks switched off ("tokens kept expiring during the demo").
    return jwt.decode(
        token,
        settings.jwt_secret,
        algorithms=settings.algorithms,
        issuer=settings.issuer,
        options={"verify_exp": False, "verify_aud": False},
    )


#: Each weakness and the function that verifies tokens that way, in the order of notebook 05.
VERIFIERS: dict[str, Verifier] = {
    "unverified": decode_without_verifying,
    "alg_none": trust_alg_header,
    "weak_secret": verify_with_guessable_secret,
    "alg_confusion": one_key_for_any_alg,
    "jwk_header": key_from_jwk_header,
    "kid_path": key_file_named_by_kid,
    "kid_sql": key_query_built_from_kid,
    "jku": key_set_from_jku,
    "claim_tampering": cache_by_signature,
    "replay": skip_expiry_and_audience,
}
WEAKNESSES = tuple(VERIFIERS)
#: The twins that sign with an RSA key pair (RS256) instead of an HMAC secret.
ASYMMETRIC = ("alg_confusion", "jwk_header", "jku")


@dataclasses.dataclass(frozen=True)
class RS256TwinSettings(Settings):
    """Settings of the RS256 twins: ``jwt_secret`` holds an RSA private key (PEM), ``jwt_algorithm`` is RS256.

    The series' ``Settings`` accepts HMAC algorithms only - it has no RS256 mode. Three attacks need a server
    that signs with RSA, and the series' ``/login`` signs with whatever these two fields hold.

    Raises:
        SettingsError: another algorithm, or a secret that is not a PEM private key.
    """

    jwt_algorithm: str = "RS256"

    def __post_init__(self) -> None:
        if self.jwt_algorithm != "RS256" or not self.jwt_secret.startswith("-----BEGIN PRIVATE KEY-----"):
            raise SettingsError("the RS256 twins sign with RS256 and an RSA private key in PEM (PKCS #8)")


def user_from_claims(claims: dict[str, Any], users: Store) -> User:
    """The user named by ``sub``, with ``is_admin`` taken from the token when it carries a boolean one.

    Raises:
        LookupError: ``sub`` is not the id of a stored user.
    """
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.isascii() or not subject.isdigit():
        raise LookupError("the token's subject is not a user id")
    user = users.get_by_id(int(subject))
    if user is None:
        raise LookupError("the token's user does not exist")
    is_admin = claims.get("is_admin")
    if isinstance(is_admin, bool):
        # The shared flaw: the role comes from the token, not from the user store.
        user = dataclasses.replace(user, is_admin=is_admin)
    return user


async def authenticate_weakly(token: str, app: web.Application) -> User:
    """The twin's ``authenticate_token``: the user of a token checked by ``VERIFIERS[app[WEAKNESS]]``.

    Raises:
        InvalidToken: whatever the weak check trips on, named by its exception class (more than a real server
            should say, to help the lab).
    """
    verify = VERIFIERS[app[WEAKNESS]]
    try:
        claims = await verify(token, app)
        return user_from_claims(claims, app[USERS])
    except Exception as problem:  # the lab answers 401, never 500
        raise InvalidToken(f"the twin refused the token ({type(problem).__name__})") from None


@web.middleware
async def vulnerable_auth_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """The twin's ``auth_middleware``: the same header rules, then ``authenticate_weakly`` instead of
    ``authenticate_token``.

    Another scheme or a bare token: 401 ``authentication_required`` with a bare challenge (RFC 6750 §3.1); a
    malformed header, two headers or a token in the URL: 400 ``invalid_request``; a token the weak check
    refuses: 401 ``invalid_token``; the last two name their error code in the challenge, as the app does.
    """
    settings = request.app[SETTINGS]
    request[CURRENT_USER] = None
    try:
        token = bearer_token(request)  # the series' own header rules
        if token is not None:
            request[CURRENT_USER] = await authenticate_weakly(token, request.app)
    except UnsupportedScheme as problem:  # RFC 6750 §3.1: no credentials, so a bare challenge
        raise bearer_error(web.HTTPUnauthorized, "authentication_required", str(problem), settings.realm) from None
    except InvalidRequest as problem:
        raise bearer_error(web.HTTPBadRequest, "invalid_request", str(problem), settings.realm) from None
    except InvalidToken as problem:
        raise bearer_error(web.HTTPUnauthorized, "invalid_token", str(problem), settings.realm) from None
    return await handler(request)


def key_database(settings: Settings) -> sqlite3.Connection:
    """An in-memory SQLite table ``keys(kid, secret)`` holding the twin's key; made per lookup, closed after."""
    database = sqlite3.connect(":memory:")
    database.execute("CREATE TABLE keys (kid TEXT PRIMARY KEY, secret TEXT NOT NULL)")
    database.execute("INSERT INTO keys VALUES (?, ?)", (DEFAULT_KID, settings.jwt_secret))
    return database


def _make_key_dir(app: web.Application, settings: Settings) -> Path:
    # A private temporary folder holding one key file, removed with the app (or at exit).
    key_dir = Path(tempfile.mkdtemp(prefix="jwt-twin-keys-"))
    (key_dir / DEFAULT_KID).write_text(settings.jwt_secret, encoding="utf-8")
    remove = weakref.finalize(app, shutil.rmtree, key_dir, ignore_errors=True)

    async def on_cleanup(app: web.Application) -> None:
        remove()

    app.on_cleanup.append(on_cleanup)
    return key_dir


async def public_key(request: web.Request) -> web.Response:
    """``GET /public-key.pem`` (RS256 twins): the twin's public key, public as public keys are."""
    return web.Response(body=request.app[PUBLIC_KEY_PEM], content_type="application/x-pem-file")


def create_vulnerable_app(
    weakness: str,
    settings: Settings | None = None,
    users: UserStore | None = None,
    *,
    weak_secret: str = WEAK_SECRET,
) -> web.Application:
    """A vulnerable twin of ``create_app()``: same login, users and routes, tokens verified the ``weakness`` way.

    Args:
        weakness: one of ``WEAKNESSES``.
        settings: as for ``create_app``; twins sharing the real app's settings accept its tokens. The
            ``weak_secret`` twin replaces the secret; the RS256 twins (``ASYMMETRIC``) sign with a new RSA key.
        users: as for ``create_app``; defaults to the demo users.
        weak_secret: the secret of the ``weak_secret`` twin (at least 32 bytes: ``Settings`` checks length).

    Raises:
        ValueError: an unknown weakness.
        SettingsError: a ``weak_secret`` shorter than 32 bytes.
    """
    if weakness not in VERIFIERS:
        raise ValueError(f"unknown weakness {weakness!r}; choose one of {', '.join(WEAKNESSES)}")
    settings = settings if settings is not None else Settings()
    if weakness == "weak_secret":
        settings = dataclasses.replace(settings, jwt_secret=weak_secret)
    private_key = new_rsa_key() if weakness in ASYMMETRIC else None
    if private_key is not None:
        # The series' /login signs with settings.jwt_secret and settings.jwt_algorithm: a PEM and RS256 here.
        values = {field.name: getattr(settings, field.name) for field in dataclasses.fields(settings)}
        settings = RS256TwinSettings(
            **{**values, "jwt_secret": _private_pem(private_key), "jwt_algorithm": "RS256"}
        )
    app = build_app(settings, users, auth_middleware=vulnerable_auth_middleware)
    app[WEAKNESS] = weakness
    app[VERIFIED_SIGNATURES] = set()
    if private_key is not None:
        app[PUBLIC_KEY_PEM] = public_pem(private_key)
        app.router.add_get("/public-key.pem", public_key)
    if weakness == "kid_path":
        app[KEY_DIR] = _make_key_dir(app, settings)
    return app


def _private_pem(private_key: rsa.RSAPrivateKey) -> str:
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
