"""Checkers for the exercises of notebook 05 (attacks): forge tokens that open the twins, name each defence.

Each ``*_lab`` checker runs a lab the way PortSwigger's Web Security Academy does: it starts a vulnerable twin
(``lab.vulnerable``) and the series' server (``create_app``) on 127.0.0.1, gives the learner's ``forge_…``
function what an attacker has (claims, an issued token, a public key…), and sends the token it returns to both
with ``GET /admin/users``. The lab is solved when the twin answers 200 (the admin list) and the series' server
401; otherwise the verdict names the likely mistake and shows what the twin answered. A checker never raises,
never shows a port, and keeps the servers' error logs out of the notebook (they are summarised instead).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import requests

from ..app import create_app
from ..demo import demo_user_store
from ..lab.attacks import b64url_encode, load_wordlist, new_rsa_key, read_token
from ..lab.server import BackgroundServer
from ..lab.vulnerable import WEAK_SECRET, create_vulnerable_app
from ..settings import Settings, fast_test_settings
from ._core import CheckResult, call_answer, describe_exception, not_yet, passed, safe_repr

__all__ = [
    "DEFENCE_CHOICES",
    "alg_confusion_lab",
    "alg_none_lab",
    "claim_tampering_lab",
    "jwk_header_lab",
    "kid_path_lab",
    "name_the_defence",
    "unverified_lab",
    "weak_secret_lab",
]

#: The id (``sub``) of the demo admin, whom every forged token must name.
ADMIN_ID = "2"
_PORT = re.compile(r"(127\.0\.0\.1:|port=)\d+")
ALICE = {"email": "alice@example.com", "password": "correct horse battery staple"}

# --- the lab runner ------------------------------------------------------------------------------------------
# notebook 05 only; W1's shared request battery (check/_lab.py, notebooks 01/03) may absorb it at merge.


@dataclasses.dataclass(frozen=True)
class Answer:
    """What a server answered to ``GET /admin/users``: the status, the JSON body's ``error`` and ``message``."""

    status: int
    error: str
    message: str
    users: int = 0

    def __str__(self) -> str:
        if self.status == 200:
            return f"200 with the list of {self.users} users"
        return f"{self.status} {self.error}: {self.message}"


@dataclasses.dataclass
class Lab:
    """One lab run: the settings, users and base URLs of the twin and the series' server, and what the twin
    issued or published that the attacker may use."""

    weakness: str
    settings: Settings
    twin_url: str
    real_url: str
    extras: dict[str, Any] = dataclasses.field(default_factory=dict)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def _captured_server_logs() -> Iterator[list[logging.LogRecord]]:
    """Error logs of aiohttp and of the app collected in a list instead of reaching the notebook's stderr."""
    handler = _Records()
    loggers = [logging.getLogger(name) for name in ("aiohttp", "tutorial_src")]
    saved = [(logger, logger.propagate) for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.propagate = False
    try:
        yield handler.records
    finally:
        for logger, propagate in saved:
            logger.removeHandler(handler)
            logger.propagate = propagate


def _get_admin_users(base_url: str, token: str) -> Answer:
    response = requests.get(f"{base_url}/admin/users", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    try:
        body = response.json()
    except ValueError:
        body = {"message": response.text[:200]}
    if not isinstance(body, dict):
        body = {}
    return Answer(
        response.status_code,
        str(body.get("error", "")),
        str(body.get("message", "")),
        len(body.get("users", [])) if isinstance(body.get("users"), list) else 0,
    )


def admin_claims(settings: Settings, now: float | None = None) -> dict[str, Any]:
    """The claims of a token the series' server would issue to the admin now: what an attacker wants to send."""
    issued = int(time.time() if now is None else now)
    return {
        "sub": ADMIN_ID,
        "iat": issued,
        "exp": issued + settings.access_token_ttl,
        "iss": settings.issuer,
        "aud": settings.audience,
        "jti": uuid.uuid4().hex,
    }


def _login_at(base_url: str) -> str:
    response = requests.post(f"{base_url}/login", json=ALICE, timeout=10)
    return str(response.json()["access_token"])


def _type_problem(token: Any) -> str | None:
    if isinstance(token, (bytes, bytearray)):
        return "return the token as text (str), not bytes: .decode('ascii') - it goes into an HTTP header"
    if not isinstance(token, str):
        return f"expected the token as a str, got {type(token).__name__}"
    if token.startswith("Bearer "):
        return "return the token alone; the checker adds 'Bearer ' to the Authorization header itself"
    return None


def _shape_problem(token: str) -> str | None:
    """The mistake in how the token is put together, if it is not a compact JWS of JSON parts."""
    parts = token.split(".")
    if len(parts) != 3:
        return (
            f"a compact JWT has three parts separated by '.', this one has {len(parts)} "
            "(an unsigned token still ends with '.', its signature empty)"
        )
    if "=" in token:
        return "'=' in the token: JWS drops the base64 padding (RFC 7515 §2) - b64url_encode does"
    if any(character in "+/" for character in token):
        return "'+' or '/' in the token: JWS uses base64url ('-' and '_'), not the standard base64 alphabet"
    try:
        header, claims, _ = read_token(token)
    except ValueError as error:
        return (
            f"the header and the payload must each be base64url-encoded JSON: json.dumps, .encode(), then "
            f"b64url_encode ({error})"
        )
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return "the header and the payload must each be a JSON object (a dict)"
    if "alg" not in header and "alg" in claims:
        return "header and payload are swapped: the header (with alg) comes first"
    return None


def _claims_problem(claims: dict[str, Any], given: dict[str, Any] | None) -> str | None:
    subject = claims.get("sub")
    if subject == int(ADMIN_ID):
        return f"sub must be the string {ADMIN_ID!r}, not the number {ADMIN_ID}: the twin looks up a user id text"
    is_admin = claims.get("is_admin")
    if (
        not isinstance(is_admin, bool)
        and isinstance(is_admin, (str, int))
        and str(is_admin).lower() in ("true", "1")
    ):
        return "is_admin must be the JSON boolean true, not a string or a number"
    if subject != ADMIN_ID and claims.get("is_admin") is not True:
        return f"the token names user {safe_repr(subject)}, not the admin: sub must be {ADMIN_ID!r}"
    if given is not None:
        lost = sorted(set(given) - set(claims))
        if lost:
            return f"claims you were given are missing ({', '.join(lost)}): the twin requires them - keep them all"
    return None


@dataclasses.dataclass(frozen=True)
class _Exercise:
    weakness: str
    #: what the learner's function gets, computed once the twin runs
    arguments: Callable[[Lab], tuple[Any, ...]]
    #: the lab-specific mistake in a token the twin refused (the shape and claims are checked by the runner)
    diagnose: Callable[[str, dict[str, Any], dict[str, Any], Lab], str | None]
    #: the claims the token should keep, if the exercise hands them over
    given_claims: Callable[[Lab], dict[str, Any] | None] = lambda lab: lab.extras.get("claims")


def _run(exercise: _Exercise, answer: Any) -> CheckResult:
    if not callable(answer):
        return not_yet(f"expected a function, got {type(answer).__name__}")
    try:
        with _captured_server_logs() as logs:
            return _run_servers(exercise, answer, logs)
    except Exception as error:  # a checker never raises, whatever happens
        # An error of requests names the URL; a notebook's output never shows a port.
        return not_yet(_PORT.sub(r"\1<port>", f"the check could not finish: {describe_exception(error)}"))


def _run_servers(exercise: _Exercise, answer: Any, logs: list[logging.LogRecord]) -> CheckResult:
    settings = fast_test_settings()
    users = demo_user_store(settings)
    twin_app = create_vulnerable_app(exercise.weakness, settings, users)
    with BackgroundServer(twin_app) as twin, BackgroundServer(create_app(settings, users)) as real:
        lab = Lab(exercise.weakness, settings, twin.url, real.url)
        arguments = exercise.arguments(lab)
        token, verdict = call_answer(answer, *arguments)
        if verdict is not None:
            return verdict
        problem = _type_problem(token)
        if problem is not None:
            return not_yet(problem)
        try:
            twin_answer = _get_admin_users(twin.url, token)
            real_answer = _get_admin_users(real.url, token)
        except (requests.exceptions.InvalidHeader, ValueError) as error:
            return not_yet(f"the token cannot go into an HTTP header ({type(error).__name__}): {error}")
        except requests.RequestException as error:
            return not_yet(
                f"the lab's servers did not answer your token ({type(error).__name__}); run the check again"
            )
    if twin_answer.status >= 500 or real_answer.status >= 500:
        crash = logs[0].getMessage() if logs else "no log"
        return not_yet(f"the twin failed on your token: {twin_answer} (server log: {crash})")
    if twin_answer.status != 200:
        diagnosis = _shape_problem(token)
        if diagnosis is None:
            header, claims, _ = read_token(token)
            if twin_answer.status == 403:
                diagnosis = _claims_problem(claims, None)
            diagnosis = diagnosis or exercise.diagnose(token, header, claims, lab)
            diagnosis = diagnosis or _claims_problem(claims, exercise.given_claims(lab))
        lead = f"{diagnosis}. " if diagnosis else ""
        return not_yet(f"{lead}The {exercise.weakness} twin answered {twin_answer}")
    if real_answer.status != 401:
        return not_yet(f"the twin let it in, but the series' server should answer 401, it answered {real_answer}")
    reference = getattr(answer, "__module__", None) == "tutorial_src.lab.forgeries"
    return passed(
        f"lab solved - the {exercise.weakness} twin let your token into /admin/users ({twin_answer}); "
        f"the series' server refused it: {real_answer}."
        + (
            " (With the reference from tutorial_src/lab/forgeries.py: come back and forge your own.)"
            if reference
            else ""
        )
    )


def _hmac_signature(token: str, key: bytes) -> str:
    signing_input = token.rpartition(".")[0]
    return b64url_encode(hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest())


def _given_admin_claims(lab: Lab) -> tuple[Any, ...]:
    lab.extras["claims"] = admin_claims(lab.settings)
    return (dict(lab.extras["claims"]),)


# --- 1. signature not verified -------------------------------------------------------------------------------


def _diagnose_unverified(token: str, header: dict[str, Any], claims: dict[str, Any], lab: Lab) -> str | None:
    return None  # this twin refuses only badly shaped tokens and claims, which the runner names


_UNVERIFIED = _Exercise("unverified", _given_admin_claims, _diagnose_unverified)


def unverified_lab(answer: Any) -> CheckResult:
    """Check ``forge_unverified(claims) -> str``: a token the ``unverified`` twin takes for the admin's."""
    return _run(_UNVERIFIED, answer)


# --- 2. alg: none --------------------------------------------------------------------------------------------


def _diagnose_alg_none(token: str, header: dict[str, Any], claims: dict[str, Any], lab: Lab) -> str | None:
    if str(header.get("alg")).lower() != "none":
        return f'the header must say "alg": "none", it says "alg": {json.dumps(header.get("alg"))}'
    return None


_ALG_NONE = _Exercise("alg_none", _given_admin_claims, _diagnose_alg_none)


def alg_none_lab(answer: Any) -> CheckResult:
    """Check ``forge_alg_none(claims) -> str``: an unsigned ``alg: none`` token the ``alg_none`` twin accepts."""
    return _run(_ALG_NONE, answer)


# --- 3. weak secret ------------------------------------------------------------------------------------------


def _weak_secret_arguments(lab: Lab) -> tuple[Any, ...]:
    lab.extras["issued"] = issued = _login_at(lab.twin_url)
    lab.extras["claims"] = read_token(issued)[1]
    return issued, load_wordlist()


def _diagnose_weak_secret(token: str, header: dict[str, Any], claims: dict[str, Any], lab: Lab) -> str | None:
    if header.get("alg") != "HS256":
        return (
            f'keep "alg": "HS256" - the twin verifies HS256 only; the header says {json.dumps(header.get("alg"))}'
        )
    signature = token.rpartition(".")[2]
    if signature == lab.extras["issued"].rpartition(".")[2]:
        return "you kept the issued token's signature: after changing the claims, sign again with the secret"
    if not hmac.compare_digest(signature, _hmac_signature(token, WEAK_SECRET.encode())):
        return (
            "the signature is not made with the twin's secret: find it among the candidates (crack_hs256), "
            "then sign with it as bytes"
        )
    return None


_WEAK_SECRET = _Exercise("weak_secret", _weak_secret_arguments, _diagnose_weak_secret)


def weak_secret_lab(answer: Any) -> CheckResult:
    """Check ``forge_weak_secret(issued, candidates) -> str``: the admin's token, signed with the cracked key."""
    return _run(_WEAK_SECRET, answer)


# --- 4. algorithm confusion ----------------------------------------------------------------------------------


def _alg_confusion_arguments(lab: Lab) -> tuple[Any, ...]:
    lab.extras["issued"] = issued = _login_at(lab.twin_url)
    lab.extras["claims"] = read_token(issued)[1]
    lab.extras["pem"] = pem = requests.get(f"{lab.twin_url}/public-key.pem", timeout=10).content
    return issued, pem


def _diagnose_alg_confusion(token: str, header: dict[str, Any], claims: dict[str, Any], lab: Lab) -> str | None:
    alg = header.get("alg")
    if alg != "HS256":
        if str(alg).upper() == "HS256":
            return (
                'alg values are case-sensitive (RFC 7515 §4.1.1): the twin takes its HMAC branch for "HS256" only'
            )
        return f'the header must say "alg": "HS256", so that the twin checks an HMAC; it says {json.dumps(alg)}'
    pem: bytes = lab.extras["pem"]
    signature = token.rpartition(".")[2]
    if hmac.compare_digest(signature, _hmac_signature(token, pem.strip())):
        return "you signed with the PEM without its final newline: use the bytes exactly as the twin serves them"
    if not hmac.compare_digest(signature, _hmac_signature(token, pem)):
        return (
            "the HMAC secret must be the twin's public key: the PEM bytes exactly as /public-key.pem serves them"
        )
    return None


_ALG_CONFUSION = _Exercise("alg_confusion", _alg_confusion_arguments, _diagnose_alg_confusion)


def alg_confusion_lab(answer: Any) -> CheckResult:
    """Check ``forge_alg_confusion(issued, public_key_pem) -> str``: the admin's claims, HS256 with the PEM."""
    return _run(_ALG_CONFUSION, answer)


# --- 5. jwk header injection ---------------------------------------------------------------------------------


def _jwk_header_arguments(lab: Lab) -> tuple[Any, ...]:
    return (*_given_admin_claims(lab), new_rsa_key())


def _diagnose_jwk_header(token: str, header: dict[str, Any], claims: dict[str, Any], lab: Lab) -> str | None:
    jwk = header.get("jwk")
    if jwk is None:
        return "the header carries no jwk: put the public half of your key there (public_jwk)"
    if not isinstance(jwk, dict):
        return f"the jwk header must be a JSON object (a dict), not a {type(jwk).__name__}: do not json.dumps it"
    if "d" in jwk:
        return "your jwk carries the private key (member d): publish only the public half, public_jwk(key)"
    if header.get("alg") != "RS256":
        return (
            f"sign with RS256: this twin verifies RS256 only, and the header says {json.dumps(header.get('alg'))}"
        )
    try:
        jwt.PyJWS().decode_complete(token, jwt.PyJWK(jwk), algorithms=["RS256"])
    except jwt.PyJWTError:
        return "the jwk is not the public half of the key that signed the token: sign with the key you were given"
    return None


_JWK_HEADER = _Exercise("jwk_header", _jwk_header_arguments, _diagnose_jwk_header)


def jwk_header_lab(answer: Any) -> CheckResult:
    """Check ``forge_jwk_header(claims, private_key) -> str``: an RS256 token that carries its own ``jwk``."""
    return _run(_JWK_HEADER, answer)


# --- 6. kid path traversal -----------------------------------------------------------------------------------


def _diagnose_kid_path(token: str, header: dict[str, Any], claims: dict[str, Any], lab: Lab) -> str | None:
    if "kid" not in header:
        if "kid" in claims:
            return "kid is a header parameter (RFC 7515 §4.1.4), not a claim: put it in the header"
        return "the header needs a kid that names a file whose content you know"
    if header.get("alg") != "HS256":
        return f'keep "alg": "HS256": this twin checks an HMAC; the header says {json.dumps(header.get("alg"))}'
    kid = str(header["kid"])
    if not kid.endswith("dev/null"):
        return f"the kid {safe_repr(kid)} does not lead to /dev/null, the one file whose content (none) you know"
    if kid.count("../") < 2 and not kid.startswith("/"):
        return "the key folder is two levels below / (a temporary folder): use more ../ - extra ones stop at /"
    if token.endswith("."):
        return "sign with the empty key b'' - the content of /dev/null - instead of leaving the signature empty"
    if not hmac.compare_digest(token.rpartition(".")[2], _hmac_signature(token, b"")):
        return "the signature must be the HMAC with the content of /dev/null, which is empty: key b''"
    return None


_KID_PATH = _Exercise("kid_path", _given_admin_claims, _diagnose_kid_path)


def kid_path_lab(answer: Any) -> CheckResult:
    """Check ``forge_kid_path(claims) -> str``: a token whose ``kid`` makes the twin read an empty key file."""
    return _run(_KID_PATH, answer)


# --- 7. claim tampering -------------------------------------------------------------------------------------


def _claim_tampering_arguments(lab: Lab) -> tuple[Any, ...]:
    lab.extras["seen"] = seen = _login_at(lab.twin_url)
    lab.extras["claims"] = read_token(seen)[1]
    # Alice uses her token once, so the twin verifies it and remembers its signature.
    requests.get(f"{lab.twin_url}/get-user", headers={"Authorization": f"Bearer {seen}"}, timeout=10)
    return (seen,)


def _diagnose_claim_tampering(token: str, header: dict[str, Any], claims: dict[str, Any], lab: Lab) -> str | None:
    if token.rpartition(".")[2] != lab.extras["seen"].rpartition(".")[2]:
        return (
            "keep the signature of the token you were given, exactly: the twin skips the check for a signature "
            "it has verified before, whatever the claims say, and checks every other one"
        )
    return None


_CLAIM_TAMPERING = _Exercise("claim_tampering", _claim_tampering_arguments, _diagnose_claim_tampering)


def claim_tampering_lab(answer: Any) -> CheckResult:
    """Check ``forge_claim_tampering(seen) -> str``: edited claims under a signature the twin has seen."""
    return _run(_CLAIM_TAMPERING, answer)


# --- name the defence ----------------------------------------------------------------------------------------

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
