"""The labs of notebook 05: each forged token goes to a live twin and to create_app(); the wrong tokens learners
forge are refused with the mistake named (and the twin's answer shown), right ones forged other ways than the
reference solve the lab, and nothing raises or reaches stderr."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable

import jwt
import pytest
from aiohttp import web
from jwt.algorithms import RSAAlgorithm

from tutorial_src import check
from tutorial_src.app import build_app
from tutorial_src.check import nb05
from tutorial_src.check._core import ASYNC_ANSWER, NOT_YET_PREFIX, PASSED_PREFIX
from tutorial_src.lab import forgeries
from tutorial_src.lab.attacks import (
    b64url_encode,
    crack_hs256,
    forge_token,
    new_rsa_key,
    public_jwk,
    read_token,
    sign_rs256,
    tamper,
)

LABS = {
    "unverified": (check.unverified_lab, forgeries.forge_unverified),
    "alg_none": (check.alg_none_lab, forgeries.forge_alg_none),
    "weak_secret": (check.weak_secret_lab, forgeries.forge_weak_secret),
    "alg_confusion": (check.alg_confusion_lab, forgeries.forge_alg_confusion),
    "jwk_header": (check.jwk_header_lab, forgeries.forge_jwk_header),
    "kid_path": (check.kid_path_lab, forgeries.forge_kid_path),
    "claim_tampering": (check.claim_tampering_lab, forgeries.forge_claim_tampering),
}


def test_checkers_are_exported():
    assert {f"{name}_lab" for name in LABS} | {"name_the_defence", "DEFENCE_CHOICES"} <= set(nb05.__all__)


def _segment(value) -> str:
    return b64url_encode(json.dumps(value).encode("utf-8"))


def _hs256(signing_input: str, key: bytes) -> str:
    return b64url_encode(hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest())


def _secret(issued, candidates):
    secret, _ = crack_hs256(issued, candidates)
    return secret


# --- right answers, written other ways than the reference -----------------------------------------------------


def unverified_with_pyjwt(claims):
    return jwt.encode(claims, "a key the twin will never check, 32+ bytes", algorithm="HS256")


def unverified_by_hand(claims):
    return f"{_segment({'alg': 'HS256'})}.{_segment(claims)}.bm90IGEgc2lnbmF0dXJl"


def none_with_pyjwt(claims):
    return jwt.encode(claims, None, algorithm="none")


def none_in_capitals(claims):
    return forge_token({"alg": "NONE"}, claims)


def weak_with_pyjwt(issued, candidates):
    _, claims, _ = read_token(issued)
    return jwt.encode({**claims, "sub": "2"}, _secret(issued, candidates), algorithm="HS256")


def weak_by_hand_as_admin_flag(issued, candidates):
    # Cracks with its own loop, keeps sub "1" and sets the is_admin claim every twin trusts.
    signing_input, _, signature = issued.rpartition(".")
    secret = next(word for word in candidates if _hs256(signing_input, word.encode()) == signature)
    header, claims, _ = read_token(issued)
    return forge_token(header, {**claims, "is_admin": True}, secret.encode())


def confusion_by_hand(issued, public_key_pem):
    _, claims, _ = read_token(issued)
    signing_input = f"{_segment({'typ': 'JWT', 'alg': 'HS256'})}.{_segment({**claims, 'sub': '2'})}"
    return f"{signing_input}.{_hs256(signing_input, public_key_pem)}"


def confusion_as_admin_flag(issued, public_key_pem):
    _, claims, _ = read_token(issued)
    return forge_token({"alg": "HS256"}, {**claims, "is_admin": True}, public_key_pem)


def jwk_with_pyjwt(claims, private_key):
    jwk = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    return jwt.encode(claims, private_key, algorithm="RS256", headers={"jwk": jwk})


def jwk_minimal(claims, private_key):
    jwk = public_jwk(private_key)
    return sign_rs256({"jwk": {"kty": "RSA", "n": jwk["n"], "e": jwk["e"]}}, claims, private_key)


def kid_absolute_path(claims):
    signing_input = f"{_segment({'alg': 'HS256', 'kid': '/dev/null'})}.{_segment(claims)}"
    return f"{signing_input}.{_hs256(signing_input, b'')}"


def kid_many_levels(claims):
    return forge_token({"alg": "HS256", "kid": "../" * 40 + "dev/null"}, claims, b"")


def tampering_as_admin_flag(seen):
    return tamper(seen, is_admin=True)


def tampering_by_hand(seen):
    header, _, signature = seen.split(".")
    _, claims, _ = read_token(seen)
    return f"{header}.{_segment({**claims, 'sub': '2'})}.{signature}"


def _seen_with(seen, claims, signature=None, padded=False):
    """``seen`` with ``claims`` merged in, its signature kept or replaced; ``padded``: '=' kept."""
    header_segment, _, old_signature = seen.split(".")
    payload = {**read_token(seen)[1], **claims}
    segment = _segment(payload)
    while padded and "=" not in segment:  # grow a claim until base64 needs padding
        payload["note"] = payload.get("note", "") + "x"
        segment = _padded_segment(payload)
    return f"{header_segment}.{segment}.{old_signature if signature is None else signature}"


RIGHT: dict[str, list[Callable[..., str]]] = {
    "unverified": [unverified_with_pyjwt, unverified_by_hand, none_with_pyjwt],
    "alg_none": [none_with_pyjwt, none_in_capitals],
    "weak_secret": [weak_with_pyjwt, weak_by_hand_as_admin_flag],
    "alg_confusion": [confusion_by_hand, confusion_as_admin_flag],
    "jwk_header": [jwk_with_pyjwt, jwk_minimal],
    "kid_path": [kid_absolute_path, kid_many_levels],
    "claim_tampering": [tampering_as_admin_flag, tampering_by_hand],
}


@pytest.mark.parametrize("lab", LABS)
def test_the_reference_solves_the_lab(lab):
    checker, reference = LABS[lab]
    result = checker(reference)
    assert result, repr(result)
    assert repr(result).startswith(f"{PASSED_PREFIX} lab solved - the {lab} twin let your token into /admin/users")
    assert "the series' server refused it: 401 invalid_token" in repr(result)
    # The reference comes in through the "stuck?" line: the verdict says so.
    assert "With the reference from tutorial_src/lab/forgeries.py" in repr(result)


@pytest.mark.parametrize(
    ("lab", "answer"),
    [(lab, answer) for lab, answers in RIGHT.items() for answer in answers],
    ids=[f"{lab}-{answer.__name__}" for lab, answers in RIGHT.items() for answer in answers],
)
def test_right_answers_written_otherwise_solve_the_lab(lab, answer):
    result = LABS[lab][0](answer)
    assert result, repr(result)
    assert "reference" not in repr(result)


# --- the wrong-answer corpus, one list per lab ------------------------------------------------------------------


def _padded_segment(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def _crash(*args):
    return 1 / 0


def _stub(*args):
    raise NotImplementedError("Hint: …")


async def _async(*args):
    return ""


COMMON = [
    (_crash, "ZeroDivisionError"),
    (_stub, "not done yet"),
    (_async, ASYNC_ANSWER),
    ("forge", "expected a function"),
]

WRONG = {
    "unverified": [
        (lambda claims: forgeries.forge_unverified(claims).encode(), "not bytes"),
        (lambda claims: "Bearer " + forgeries.forge_unverified(claims), "return the token alone"),
        (lambda claims: None, "got NoneType"),
        (lambda claims: forgeries.forge_unverified(claims).rpartition(".")[0], "three parts"),
        (lambda claims: f"{_padded_segment({'alg': 'HS256'})}.{_segment(claims)}.c2ln", "'=' in the token"),
        (lambda claims: f"{json.dumps({'alg': 'HS256'})}.{json.dumps(claims)}.sig", "base64url-encoded JSON"),
        (lambda claims: f"{_segment(claims)}.{_segment({'alg': 'HS256'})}.c2ln", "swapped"),
        (lambda claims: forgeries.forge_unverified({**claims, "sub": "1"}), "not the admin"),
        (lambda claims: forgeries.forge_unverified({**claims, "sub": 2}), "sub must be the string '2'"),
        (
            lambda claims: forgeries.forge_unverified({**claims, "sub": "1", "is_admin": "true"}),
            "is_admin must be the JSON boolean true",
        ),
        (lambda claims: forgeries.forge_unverified(claims) + "\n", "cannot go into an HTTP header"),
        *COMMON,
    ],
    "alg_none": [
        (lambda claims: forge_token({"alg": "HS256", "typ": "JWT"}, claims), 'must say "alg": "none"'),
        (lambda claims: forge_token({"alg": "nil"}, claims), 'must say "alg": "none", it says "alg": "nil"'),
        (lambda claims: forge_token({"alg": "none"}, claims)[:-1], "an unsigned token still ends with '.'"),
        (lambda claims: forge_token({"alg": "none"}, claims).encode(), "not bytes"),
        (
            lambda claims: f"{_padded_segment({'alg': 'none', 'typ': 'JWT'})}.{_segment(claims)}.",
            "'=' in the token",
        ),
        # A list header on purpose: the mistake under test.
        (lambda claims: forge_token(["alg", "none"], claims), "must each be a JSON object"),  # type: ignore[arg-type]
        (lambda claims: forge_token({"alg": "none"}, {}), "not the admin"),
        (lambda claims: forge_token({"alg": "none"}, {**claims, "sub": "1"}), "not the admin"),
        (lambda claims: forge_token({"alg": "none"}, {**claims, "sub": 2}), "sub must be the string"),
        *COMMON,
    ],
    "weak_secret": [
        (
            lambda issued, words: forge_token(
                read_token(issued)[0], read_token(issued)[1], _secret(issued, words)
            ),
            "expected bytes",
        ),
        (lambda issued, words: tamper(issued, sub="2"), "kept the issued token's signature"),
        (
            lambda issued, words: forge_token(read_token(issued)[0], {**read_token(issued)[1], "sub": "2"}, b"x"),
            "not made with the twin's secret",
        ),
        (
            lambda issued, words: forge_token(
                read_token(issued)[0],
                {**read_token(issued)[1], "sub": "2"},
                _secret(issued, words).encode("utf-16"),
            ),
            "not made with the twin's secret",
        ),
        (
            lambda issued, words: forge_token(
                read_token(issued)[0], read_token(issued)[1], _secret(issued, words).encode()
            ),
            "not the admin",
        ),
        (
            lambda issued, words: forge_token(
                read_token(issued)[0], {**read_token(issued)[1], "sub": 2}, _secret(issued, words).encode()
            ),
            "sub must be the string",
        ),
        (
            lambda issued, words: forge_token(
                read_token(issued)[0],
                {k: v for k, v in read_token(issued)[1].items() if k != "exp"} | {"sub": "2"},
                _secret(issued, words).encode(),
            ),
            "claims you were given are missing (exp)",
        ),
        (
            lambda issued, words: forge_token(
                {"alg": "none"}, {**read_token(issued)[1], "sub": "2"}, _secret(issued, words).encode()
            ),
            'keep "alg": "HS256"',
        ),
        (
            lambda issued, words: forge_token(
                # crack_hs256's (secret, tries) pair where the key goes: the mistake under test.
                read_token(issued)[0],
                {**read_token(issued)[1], "sub": "2"},
                crack_hs256(issued, words),  # type: ignore[arg-type]
            ),
            "TypeError",
        ),
        (lambda issued, words: _secret(issued, words), "three parts"),
        *COMMON,
    ],
    "alg_confusion": [
        (
            lambda issued, pem: forge_token(read_token(issued)[0], {**read_token(issued)[1], "sub": "2"}, pem),
            'must say "alg": "HS256"',
        ),
        (
            lambda issued, pem: forge_token({"alg": "hs256"}, {**read_token(issued)[1], "sub": "2"}, pem),
            "case-sensitive",
        ),
        (
            lambda issued, pem: forge_token({"alg": "HS256"}, {**read_token(issued)[1], "sub": "2"}, pem.strip()),
            "without its final newline",
        ),
        (
            lambda issued, pem: forge_token({"alg": "HS256"}, {**read_token(issued)[1], "sub": "2"}, pem + b"\n"),
            "must be the twin's public key",
        ),
        (
            lambda issued, pem: forge_token({"alg": "HS256"}, {**read_token(issued)[1], "sub": "2"}, pem.decode()),
            "expected bytes",
        ),
        (
            lambda issued, pem: jwt.encode({**read_token(issued)[1], "sub": "2"}, pem, algorithm="HS256"),
            "InvalidKeyError",
        ),
        (
            lambda issued, pem: sign_rs256({}, {**read_token(issued)[1], "sub": "2"}, new_rsa_key()),
            'must say "alg": "HS256"',
        ),
        (lambda issued, pem: forge_token({"alg": "HS256"}, read_token(issued)[1], pem), "not the admin"),
        (lambda issued, pem: tamper(issued, sub="2"), 'must say "alg": "HS256"'),
        (lambda issued, pem: forgeries.forge_alg_confusion(issued, pem).encode(), "not bytes"),
        *COMMON,
    ],
    "jwk_header": [
        (lambda claims, key: sign_rs256({}, claims, key), "carries no jwk"),
        (lambda claims, key: sign_rs256({"jwk": json.dumps(public_jwk(key))}, claims, key), "do not json.dumps"),
        (
            lambda claims, key: sign_rs256({"jwk": RSAAlgorithm.to_jwk(key, as_dict=True)}, claims, key),
            "carries the private key",
        ),
        (
            lambda claims, key: sign_rs256({"jwk": public_jwk(new_rsa_key())}, claims, key),
            "not the public half of the key that signed",
        ),
        (
            lambda claims, key: forge_token({"alg": "HS256", "jwk": public_jwk(key)}, claims, b"k" * 32),
            "sign with RS256",
        ),
        (
            lambda claims, key: jwt.encode(claims, key, algorithm="RS512", headers={"jwk": public_jwk(key)}),
            "sign with RS256",
        ),
        (lambda claims, key: forgeries.forge_jwk_header({**claims, "sub": "1"}, key), "not the admin"),
        (
            lambda claims, key: forgeries.forge_jwk_header({k: v for k, v in claims.items() if k != "exp"}, key),
            "claims you were given are missing (exp)",
        ),
        (lambda claims, key: forgeries.forge_jwk_header({**claims, "aud": "x"}, key), "InvalidAudienceError"),
        (lambda claims, key: forgeries.forge_jwk_header(claims, key).encode(), "not bytes"),
        *COMMON,
    ],
    "kid_path": [
        (lambda claims: forge_token({"alg": "HS256"}, claims, b""), "needs a kid"),
        (lambda claims: forge_token({"alg": "HS256"}, {**claims, "kid": "/dev/null"}, b""), "header parameter"),
        (lambda claims: forge_token({"alg": "HS256", "kid": "../dev/null"}, claims, b""), "use more ../"),
        (lambda claims: forge_token({"alg": "HS256", "kid": "dev/null"}, claims, b""), "use more ../"),
        (lambda claims: forge_token({"alg": "HS256", "kid": "../" * 9 + "dev/null"}, claims), "empty key b''"),
        (lambda claims: forge_token({"alg": "HS256", "kid": "../" * 9 + "dev/null"}, claims, b"null"), "empty"),
        (
            lambda claims: jwt.encode(claims, b"", algorithm="HS256", headers={"kid": "../" * 9 + "dev/null"}),
            "InvalidKeyError",
        ),
        (lambda claims: forge_token({"alg": "HS256", "kid": "/etc/hostname"}, claims, b""), "does not lead to"),
        (lambda claims: forge_token({"alg": "none", "kid": "/dev/null"}, claims), 'keep "alg": "HS256"'),
        (lambda claims: forgeries.forge_kid_path({**claims, "sub": "1"}), "not the admin"),
        *COMMON,
    ],
    "claim_tampering": [
        (
            lambda seen: forge_token(read_token(seen)[0], {**read_token(seen)[1], "sub": "2"}, b"k" * 32),
            "keep the signature of the token you were given",
        ),
        (lambda seen: forge_token({"alg": "none"}, {**read_token(seen)[1], "sub": "2"}), "keep the signature"),
        (lambda seen: _seen_with(seen, {"sub": "2"}, signature=seen.split(".")[2].lower()), "exactly"),
        (lambda seen: seen, "not the admin"),
        (lambda seen: tamper(seen, sub=2), "sub must be the string"),
        (lambda seen: tamper(seen, is_admin="true"), "is_admin must be the JSON boolean true"),
        (lambda seen: _seen_with(seen, {"sub": "2"}, padded=True), "'=' in the token"),
        (lambda seen: tamper(seen, sub="2").rpartition(".")[0], "three parts"),
        (lambda seen: tamper(seen, sub="2").encode(), "not bytes"),
        (lambda seen: f"Bearer {tamper(seen, sub='2')}", "return the token alone"),
        *COMMON,
    ],
}


@pytest.mark.parametrize("lab", LABS)
def test_every_lab_has_a_corpus_of_at_least_eight_wrong_and_two_right_answers(lab):
    own = [entry for entry in WRONG[lab] if entry not in COMMON]
    assert len(own) >= 8
    assert len(RIGHT[lab]) >= 2


@pytest.mark.parametrize(
    ("lab", "answer", "mistake"),
    [(lab, answer, mistake) for lab, rows in WRONG.items() for answer, mistake in rows],
    ids=[f"{lab}-{number}" for lab, rows in WRONG.items() for number in range(len(rows))],
)
def test_wrong_answers_are_refused_with_the_mistake_named(lab, answer, mistake, capfd):
    result = LABS[lab][0](answer)
    assert not result
    assert repr(result).startswith(NOT_YET_PREFIX), repr(result)
    assert mistake in repr(result), repr(result)
    assert "127.0.0.1:" not in repr(result)  # never a port
    assert capfd.readouterr().err == ""


def test_an_unsolved_lab_shows_what_the_twin_answered():
    result = check.alg_none_lab(lambda claims: forge_token({"alg": "HS256"}, claims))
    assert (
        "The alg_none twin answered 401 invalid_token: the twin refused the token (InvalidSignatureError)"
        in repr(result)
    )
    result = check.unverified_lab(lambda claims: forgeries.forge_unverified({**claims, "sub": "1"}))
    assert "The unverified twin answered 403 insufficient_scope" in repr(result)


# --- the runner: a real app that accepts, a twin that crashes, a server that does not start --------------------


def test_a_real_app_that_accepts_the_token_is_reported(monkeypatch):
    monkeypatch.setattr(
        nb05, "create_app", lambda settings, users: nb05.create_vulnerable_app("alg_none", settings, users)
    )
    result = check.alg_none_lab(forgeries.forge_alg_none)
    assert not result and "the series' server should answer 401, it answered 200" in repr(result)


def test_a_crashing_twin_is_summarised_from_its_log_not_printed(monkeypatch, capfd):
    @web.middleware
    async def broken_middleware(request, handler):
        raise RuntimeError("the twin broke")

    monkeypatch.setattr(
        nb05,
        "create_vulnerable_app",
        lambda weakness, settings, users: build_app(settings, users, auth_middleware=broken_middleware),
    )
    result = check.unverified_lab(forgeries.forge_unverified)
    assert not result
    assert "the twin failed on your token: 500 internal_error" in repr(result)
    assert "server log: unhandled error in GET /admin/users" in repr(result)
    assert capfd.readouterr().err == ""


def test_the_lab_never_raises(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no server today")

    monkeypatch.setattr(nb05, "BackgroundServer", broken)
    result = check.kid_path_lab(forgeries.forge_kid_path)
    assert not result and "could not finish" in repr(result) and "RuntimeError" in repr(result)


def test_the_labs_leave_the_loggers_as_they_found_them():
    loggers = [__import__("logging").getLogger(name) for name in ("aiohttp", "tutorial_src")]
    before = [(logger.propagate, list(logger.handlers)) for logger in loggers]
    check.unverified_lab(forgeries.forge_unverified)
    assert [(logger.propagate, list(logger.handlers)) for logger in loggers] == before


# --- name the defence ------------------------------------------------------------------------------------------


def not_implemented_defences():
    raise NotImplementedError("Hint: …")


REFERENCE_DEFENCES = {
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


def test_name_the_defence_accepts_the_reference_in_any_case():
    assert check.name_the_defence(REFERENCE_DEFENCES)
    assert check.name_the_defence({k: f" {v.lower()} " for k, v in REFERENCE_DEFENCES.items()})
    assert set(REFERENCE_DEFENCES.values()) == set(check.DEFENCE_CHOICES)
    assert check.name_the_defence(lambda: REFERENCE_DEFENCES)


@pytest.mark.parametrize(
    ("answers", "problem"),
    [
        (["F"], "expected a dict"),
        ({}, "no letter for 'unverified_signature'"),
        ({**REFERENCE_DEFENCES, "jku": ""}, "no letter for 'jku'"),
        ({**REFERENCE_DEFENCES, "alg_none": "H"}, "'alg_none': 'H' is not its defence"),
        ({**REFERENCE_DEFENCES, "replay": 1}, "'replay': 1 is not its defence"),
        ({**REFERENCE_DEFENCES, "jwk_injection": "E"}, "the token carried the key that checked it"),
        (not_implemented_defences, "not done yet"),
        (lambda: {"a": "A"}["x"], "KeyError"),
        (lambda: ["D"], "expected a dict"),
    ],
)
def test_name_the_defence_reports_wrong_answers(answers, problem):
    result = check.name_the_defence(answers)
    assert not result and problem in repr(result)


def test_answers_that_are_not_a_json_object_are_still_described():
    async def text(request):
        return web.Response(text="plain words", status=502)

    async def json_list(request):
        return web.json_response(["not", "an", "object"], status=401)

    app = web.Application()
    app.router.add_get("/text/admin/users", text)
    app.router.add_get("/list/admin/users", json_list)
    with nb05.BackgroundServer(app) as server:
        assert str(nb05._get_admin_users(f"{server.url}/text", "t")) == "502 : plain words"
        assert str(nb05._get_admin_users(f"{server.url}/list", "t")) == "401 : "


def test_a_server_that_stops_answering_is_reported_without_its_port(monkeypatch):
    def refused(*args, **kwargs):
        raise nb05.requests.ConnectionError("HTTPConnectionPool(host='127.0.0.1', port=41234): refused")

    monkeypatch.setattr(nb05.requests, "get", refused)
    result = check.unverified_lab(forgeries.forge_unverified)
    assert not result and "did not answer your token (ConnectionError)" in repr(result)
    monkeypatch.setattr(nb05.requests, "post", refused)
    result = check.weak_secret_lab(forgeries.forge_weak_secret)
    assert not result and "could not finish" in repr(result)
    assert "41234" not in repr(result) and "port=<port>" in repr(result)
