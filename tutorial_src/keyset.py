"""The issuer's signing keys: a key set (current, next, retiring), its JWKS document, and key rotation.

With a shared secret (HS256) every service that checks tokens can also mint them. With a key pair the issuer
alone holds the private key and publishes the public ones as a JSON Web Key Set (RFC 7517 §5); services pick
the key by the token's ``kid`` (RFC 7515 §4.1.4). Rotation (OIDC Core §10.1.1): publish the next key before
signing with it, sign with it once every verifier's cached copy of the set has it, and unpublish the old key
once the last token signed with it has expired.

``python -m tutorial_src.keyset DIR {init,publish-next,promote,retire} [--alg ES256]`` runs one rotation step
on a key directory; a server started with ``--keys DIR`` reloads it on SIGHUP.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import sys
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import get_default_algorithms

from .errors import InvalidToken, SettingsError

#: The algorithms an issuer may sign with here: ES256 (RFC 7518 §3.4) is taught, EdDSA (RFC 8037) and RS256
#: (RFC 7518 §3.3) are the alternatives. RFC 9864 renames EdDSA-with-Ed25519 to "Ed25519"; PyJWT 2.15 does not
#: accept that name yet (jpadilla/pyjwt#1190), so tokens say "EdDSA".
ASYMMETRIC_ALGORITHMS = ("ES256", "EdDSA", "RS256")
#: RFC 7638 §3.2: the members that make up a key's thumbprint, per key type.
THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x"), "RSA": ("e", "kty", "n")}
#: RFC 7518 §6.3.2 and §6.2.2, RFC 8037 §2: private members; a published JWK never holds one.
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey


def generate_private_key(algorithm: str) -> PrivateKey:
    """A new private key for ``algorithm``: P-256 for ES256, Ed25519 for EdDSA, 2048-bit RSA for RS256."""
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    if algorithm == "RS256":
        # RFC 7518 §3.3: 2048 bits at least.
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise SettingsError(f"the algorithm must be one of {', '.join(ASYMMETRIC_ALGORITHMS)}, not {algorithm!r}")


def algorithm_of(private_key: object) -> str:
    """The algorithm a private key signs with here (ES256 needs a P-256 key).

    Raises:
        SettingsError: another kind of key or curve.
    """
    if isinstance(private_key, ec.EllipticCurvePrivateKey) and isinstance(private_key.curve, ec.SECP256R1):
        return "ES256"
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return "EdDSA"
    if isinstance(private_key, rsa.RSAPrivateKey) and private_key.key_size >= 2048:
        return "RS256"
    raise SettingsError("a signing key must be a P-256 EC key, an Ed25519 key or an RSA key of 2048 bits or more")


def thumbprint(jwk: dict[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public JWK, base64url without padding: a stable ``kid``."""
    members = {name: jwk[name] for name in THUMBPRINT_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode("ascii")


def key_for_header(header: Mapping[str, Any], keys: Mapping[str, jwt.PyJWK]) -> jwt.PyJWK | None:
    """The trusted key a token's header names, or ``None`` when its ``kid`` is not (yet) among ``keys``.

    RFC 8725 §3.10: the header only names a key of a set the verifier already trusts; a ``jku``, ``x5u`` or
    ``jwk`` member is never followed, never used. §3.1: the algorithm is the key's, so a header whose ``alg``
    differs (``HS256`` with a public key as the secret, ``none``) is refused.

    Raises:
        InvalidToken: the header has no ``kid``, or one that is not a string, or its ``alg`` is not the key's.
    """
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise InvalidToken("the token's header names no key (kid)")
    key = keys.get(kid)
    if key is None:
        return None
    if header.get("alg") != key.algorithm_name:
        raise InvalidToken(f"the token's algorithm is not {key.algorithm_name}, the one of the key it names")
    return key


@dataclass(frozen=True, eq=False)
class SigningKey:
    """One private key with its ``kid`` and algorithm; its public half is computed once, at creation.

    Build one with ``SigningKey.generate("ES256")`` or ``SigningKey.from_pem(data)``.

    Attributes:
        private_key: the ``cryptography`` key object, parsed once (never a PEM per request).
        algorithm: ``ES256``, ``EdDSA`` or ``RS256``.
        kid: the RFC 7638 thumbprint of the public key, the same every time the key is loaded.
        public_jwk: the public JWK as published, with ``kid``, ``alg`` and ``use: sig`` (RFC 7517 §4).
    """

    private_key: PrivateKey = field(repr=False)
    algorithm: str
    kid: str
    public_jwk: dict[str, Any] = field(repr=False)

    @classmethod
    def from_private_key(cls, private_key: PrivateKey) -> SigningKey:
        """Wrap a ``cryptography`` private key."""
        algorithm = algorithm_of(private_key)
        public = get_default_algorithms()[algorithm].to_jwk(private_key.public_key(), as_dict=True)
        kid = thumbprint(public)
        return cls(private_key, algorithm, kid, {**public, "kid": kid, "alg": algorithm, "use": "sig"})

    @classmethod
    def generate(cls, algorithm: str = "ES256") -> SigningKey:
        """A new random key for ``algorithm``."""
        return cls.from_private_key(generate_private_key(algorithm))

    @classmethod
    def from_pem(cls, data: bytes) -> SigningKey:
        """A key from an unencrypted PEM private key (PKCS #8 or the traditional formats)."""
        private_key = serialization.load_pem_private_key(data, password=None)
        # load_pem_private_key may give a DSA or DH key too; from_private_key refuses what it cannot sign with.
        return cls.from_private_key(private_key)  # type: ignore[arg-type]

    def to_pem(self) -> bytes:
        """The private key as unencrypted PKCS #8 PEM, for a key directory readable by the issuer alone."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @cached_property
    def verification_key(self) -> jwt.PyJWK:
        """The public key as a ``jwt.PyJWK``: its algorithm is bound to it, whatever a token's header says."""
        return jwt.PyJWK(self.public_jwk)


@dataclass(frozen=True)
class KeySet:
    """The issuer's keys at one moment: the one it signs with, the one it will sign with, the ones it retires.

    All of them are published; a token signed with any of them verifies. An immutable value: each rotation
    step returns a new ``KeySet``, and ``KeyRing`` swaps it in at once.
    """

    current: SigningKey
    next: SigningKey | None = None
    retiring: tuple[SigningKey, ...] = ()

    @property
    def published(self) -> tuple[SigningKey, ...]:
        """Every key in the JWKS: current, next, then the retiring ones."""
        return (self.current, *(() if self.next is None else (self.next,)), *self.retiring)

    @cached_property
    def by_kid(self) -> dict[str, SigningKey]:
        """The published keys by ``kid``."""
        return {key.kid: key for key in self.published}

    @cached_property
    def verification_keys(self) -> dict[str, jwt.PyJWK]:
        """The published public keys as ``jwt.PyJWK`` by ``kid``: what ``key_for_header`` looks into."""
        return {key.kid: key.verification_key for key in self.published}

    @cached_property
    def jwks(self) -> dict[str, Any]:
        """The JWK Set document (RFC 7517 §5): ``{"keys": [public JWK, …]}``, public members only."""
        return {"keys": [dict(key.public_jwk) for key in self.published]}

    @cached_property
    def jwks_json(self) -> str:
        """``jwks`` serialised once per key set: the route sends the same text to every caller."""
        return json.dumps(self.jwks)

    def with_next(self, key: SigningKey) -> KeySet:
        """Step 1: publish ``key`` as the next one (not signing with it yet)."""
        if self.next is not None:
            raise SettingsError(f"key {self.next.kid} is already published as the next key; promote it first")
        return replace(self, next=key)

    def promoted(self) -> KeySet:
        """Step 2: sign with the next key; the current one stays published, as retiring."""
        if self.next is None:
            raise SettingsError("there is no next key to promote; publish one first")
        return KeySet(current=self.next, retiring=(*self.retiring, self.current))

    def retired(self) -> KeySet:
        """Step 3: unpublish the retiring keys."""
        return replace(self, retiring=())


class KeyRing:
    """The issuer's live key set, which a rotation replaces while the server runs.

    Readers take ``ring.keys`` once and use that snapshot; a rotation step builds a new ``KeySet`` and assigns
    it in one go, so no request ever sees half a rotation. ``directory``, when given, is where ``reload``
    reads the keys again (``load_directory``).
    """

    def __init__(self, keys: KeySet, *, directory: Path | None = None) -> None:
        self.keys = keys
        self.directory = directory
        self._lock = threading.Lock()

    @classmethod
    def generate(cls, algorithm: str = "ES256") -> KeyRing:
        """A ring with one new key, for a notebook, a test or an ephemeral server."""
        return cls(KeySet(SigningKey.generate(algorithm)))

    @classmethod
    def from_directory(cls, directory: Path) -> KeyRing:
        """A ring read from a key directory (``load_directory``), which ``reload`` reads again."""
        return cls(load_directory(directory), directory=directory)

    def _step(self, step: Callable[[KeySet], KeySet]) -> KeySet:
        with self._lock:
            self.keys = step(self.keys)
            return self.keys

    def publish_next(self, key: SigningKey | None = None) -> SigningKey:
        """Publish ``key`` (by default a new key of the current algorithm) as the next key; return it."""
        new = key if key is not None else SigningKey.generate(self.keys.current.algorithm)
        self._step(lambda keys: keys.with_next(new))
        return new

    def promote(self) -> None:
        """Sign with the next key from now on."""
        self._step(KeySet.promoted)

    def retire(self) -> None:
        """Unpublish the keys the issuer no longer signs with."""
        self._step(KeySet.retired)

    def reload(self) -> None:
        """Read the key directory again (after ``python -m tutorial_src.keyset DIR <step>``)."""
        if self.directory is None:
            raise SettingsError("this key ring was not loaded from a directory")
        # self.directory was checked above; mypy cannot carry that narrowing into the lambda.
        self._step(lambda _: load_directory(self.directory))  # type: ignore[arg-type]

    def __repr__(self) -> str:
        keys = self.keys
        return f"<KeyRing {keys.current.algorithm}: {len(keys.published)} published key(s)>"


async def rotate(
    ring: KeyRing,
    *,
    cache_lifetime: float,
    token_lifetime: float,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    on_step: Callable[[str], object] = lambda step: None,
) -> None:
    """One full rotation with no failed request (OIDC Core §10.1.1).

    1. publish the next key: verifiers fetch it with their next refresh;
    2. wait ``cache_lifetime`` (the JWKS ``max-age``): every verifier's cached set now holds the next key;
    3. sign with the next key;
    4. wait ``token_lifetime`` (the longest ``exp - iat`` plus the verifiers' leeway): every token signed
       with the old key has expired;
    5. unpublish the old key.

    ``on_step`` is told ``"published"``, ``"promoted"`` and ``"retired"`` as each step happens.
    """
    ring.publish_next()
    on_step("published")
    await sleep(cache_lifetime)
    ring.promote()
    on_step("promoted")
    await sleep(token_lifetime)
    ring.retire()
    on_step("retired")


# --- key directory -----------------------------------------------------------------------------------------
# current.pem signs; next.pem is published; retiring/*.pem are published until `retire` deletes them.
CURRENT_FILE = "current.pem"
NEXT_FILE = "next.pem"
RETIRING_DIR = "retiring"


def load_directory(directory: Path) -> KeySet:
    """The key set a directory holds: ``current.pem``, optional ``next.pem``, ``retiring/*.pem``.

    Raises:
        SettingsError: no ``current.pem``, or a file that is not a usable private key.
    """
    current_path = directory / CURRENT_FILE
    if not current_path.is_file():
        raise SettingsError(
            f"{current_path} does not exist; create it with: python -m tutorial_src.keyset {directory} init"
        )

    def load(path: Path) -> SigningKey:
        try:
            return SigningKey.from_pem(path.read_bytes())
        except (ValueError, TypeError) as error:
            raise SettingsError(f"{path} is not an unencrypted PEM private key: {error}") from None

    next_path = directory / NEXT_FILE
    retiring = tuple(load(path) for path in sorted((directory / RETIRING_DIR).glob("*.pem")))
    return KeySet(load(current_path), load(next_path) if next_path.is_file() else None, retiring)


def _write_private(path: Path, key: SigningKey) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=False)
    path.write_bytes(key.to_pem())


def directory_step(directory: Path, step: str, algorithm: str = "ES256") -> str:
    """Run one rotation step on a key directory and say what it did.

    Steps: ``init`` (a first current key), ``publish-next``, ``promote`` (the current key moves to
    ``retiring/``), ``retire`` (deletes ``retiring/``'s keys).
    """
    if step == "init":
        key = SigningKey.generate(algorithm)
        _write_private(directory / CURRENT_FILE, key)
        return f"created current key {key.kid} ({algorithm})"
    keys = load_directory(directory)
    if step == "publish-next":
        key = SigningKey.generate(keys.current.algorithm)
        keys.with_next(key)  # refuses a second next key
        _write_private(directory / NEXT_FILE, key)
        return f"published next key {key.kid}; sign with it after one JWKS cache lifetime"
    if step == "promote":
        new = keys.promoted().current  # refuses without a next key
        old = keys.current
        (directory / RETIRING_DIR).mkdir(mode=0o700, exist_ok=True)
        (directory / CURRENT_FILE).rename(directory / RETIRING_DIR / f"{old.kid}.pem")
        (directory / NEXT_FILE).rename(directory / CURRENT_FILE)
        return f"signing with {new.kid}; {old.kid} retires after the longest token lifetime"
    if step == "retire":
        for path in sorted((directory / RETIRING_DIR).glob("*.pem")):
            path.unlink()
        return f"unpublished {len(keys.retiring)} retiring key(s)"
    raise SettingsError(f"unknown step {step!r}")


def main(argv: list[str] | None = None) -> int:
    """``python -m tutorial_src.keyset DIR STEP [--alg ES256]``; then SIGHUP the server to reload."""
    parser = argparse.ArgumentParser(prog="python -m tutorial_src.keyset", description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("step", choices=["init", "publish-next", "promote", "retire"])
    parser.add_argument("--alg", choices=ASYMMETRIC_ALGORITHMS, default="ES256", help="for init (default: ES256)")
    args = parser.parse_args(argv)
    try:
        print(directory_step(args.directory, args.step, args.alg))
    except (SettingsError, FileExistsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
