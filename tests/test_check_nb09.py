"""The checkers of notebook 09 accept right answers written differently and refuse plausible wrong ones,
naming the mistake; they never raise."""

from __future__ import annotations

import jwt
import pytest

from tutorial_src import check
from tutorial_src.check import NOT_YET_PREFIX, PASSED_PREFIX
from tutorial_src.errors import InvalidToken
from tutorial_src.keyset import key_for_header as reference_key_for_header
from tutorial_src.resource import should_refetch as reference_should_refetch


def passes(result) -> bool:
    assert repr(result).startswith(PASSED_PREFIX if result else NOT_YET_PREFIX)
    return bool(result)


# --- key_for_header ------------------------------------------------------------------------------------------


def lookup_with_try(header, keys):
    kid = header.get("kid")
    if type(kid) is not str:
        raise InvalidToken("no kid")
    try:
        key = keys[kid]
    except KeyError:
        return None
    if key.algorithm_name != header.get("alg"):
        raise InvalidToken("wrong alg")
    return key


def lookup_with_match(header, keys):
    match header:
        case {"kid": str(kid)}:
            pass
        case _:
            raise InvalidToken("the header names no key")
    if kid not in keys:
        return None
    if header.get("alg") == keys[kid].algorithm_name:
        return keys[kid]
    raise InvalidToken("the algorithm is not the key's")


@pytest.mark.parametrize("answer", [reference_key_for_header, lookup_with_try, lookup_with_match])
def test_key_for_header_accepts_right_answers(answer):
    assert passes(check.key_for_header(answer))


def ignores_alg(header, keys):
    if not isinstance(header.get("kid"), str):
        raise InvalidToken("no kid")
    return keys.get(header["kid"])


def raises_on_unknown_kid(header, keys):
    key = ignores_alg(header, keys)
    if key is None:
        raise InvalidToken("unknown kid")
    if key.algorithm_name != header.get("alg"):
        raise InvalidToken("wrong alg")
    return key


def none_on_wrong_alg(header, keys):
    key = ignores_alg(header, keys)
    return key if key is not None and key.algorithm_name == header.get("alg") else None


def first_key_without_kid(header, keys):
    if "kid" not in header:
        return next(iter(keys.values()))
    return reference_key_for_header(header, keys)


def indexes_the_dict(header, keys):
    key = keys[header["kid"]]
    if key.algorithm_name != header.get("alg"):
        raise InvalidToken("wrong alg")
    return key


def case_insensitive_alg(header, keys):
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise InvalidToken("no kid")
    key = keys.get(kid)
    if key is not None and key.algorithm_name.lower() != str(header.get("alg")).lower():
        raise InvalidToken("wrong alg")
    return key


def trusts_embedded_jwk(header, keys):
    if "jwk" in header:
        return jwt.PyJWK(header["jwk"])
    return reference_key_for_header(header, keys)


def pins_one_global_algorithm(header, keys):
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise InvalidToken("no kid")
    if header.get("alg") != "ES256":
        raise InvalidToken("only ES256")
    return keys.get(kid)


def no_type_check_on_kid(header, keys):
    if "kid" not in header:
        raise InvalidToken("no kid")
    key = keys.get(header["kid"])  # a list kid: TypeError, unhashable
    if key is not None and key.algorithm_name != header.get("alg"):
        raise InvalidToken("wrong alg")
    return key


def returns_the_jwk_data(header, keys):
    key = reference_key_for_header(header, keys)
    return None if key is None else dict(key._jwk_data)


def raises_value_error(header, keys):
    try:
        return reference_key_for_header(header, keys)
    except InvalidToken as error:
        raise ValueError(str(error)) from None


async def async_lookup(header, keys):
    return reference_key_for_header(header, keys)


def stub(header, keys):
    raise NotImplementedError("look the kid up in keys")


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (ignores_alg, "alg HS256 with an ES256 key's kid (algorithm confusion): the public key would become"),
        (raises_on_unknown_kid, "an unknown kid: an unknown kid may be a key published since the last fetch"),
        (none_on_wrong_alg, "expected InvalidToken to be raised, but it returned None"),
        (first_key_without_kid, "no kid names no key: never fall back"),
        (indexes_the_dict, "but it raised KeyError"),
        (case_insensitive_alg, "algorithm names are case-sensitive"),
        (trusts_embedded_jwk, "never use a key the token brings (RFC 8725 §3.10)"),
        (pins_one_global_algorithm, "each key has its own algorithm"),
        (no_type_check_on_kid, "a kid that is a number: a kid is a string"),
        (returns_the_jwk_data, "return the PyJWK object of `keys` itself"),
        (raises_value_error, "raise InvalidToken (a 401), not ValueError"),
        (async_lookup, "write a plain `def`"),
        (stub, "not done yet"),
        ("not a function", "expected a function"),
    ],
)
def test_key_for_header_refuses_wrong_answers_and_names_the_mistake(answer, says):
    result = check.key_for_header(answer)
    assert not passes(result)
    assert says in repr(result)


# --- should_refetch -----------------------------------------------------------------------------------------


def refetch_spelled_out(kid_known, stale, now, last_fetch, cooldown):
    needed = stale or not kid_known
    allowed = True if last_fetch is None else (now - last_fetch) >= cooldown
    return bool(needed and allowed)


@pytest.mark.parametrize("answer", [reference_should_refetch, refetch_spelled_out])
def test_should_refetch_accepts_right_answers(answer):
    assert passes(check.should_refetch(answer))


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (lambda known, stale, now, last, cooldown: True, "a known kid in a fresh set never fetches"),
        (lambda known, stale, now, last, cooldown: not known or stale, "made-up kids must not make the service"),
        (
            lambda known, stale, now, last, cooldown: not known and (last is None or now - last >= cooldown),
            "a stale set is fetched again",
        ),
        (
            lambda known, stale, now, last, cooldown: (not known or stale) and now - last >= cooldown,
            "with no set at all, fetch",
        ),
        (
            lambda known, stale, now, last, cooldown: (
                (not known or stale) and (last is None or now - last > cooldown)
            ),
            "once `cooldown` seconds have passed (>=)",
        ),
        (
            lambda known, stale, now, last, cooldown: last is None or now - last >= cooldown,
            "the cooldown only limits fetches",
        ),
        (
            lambda known, stale, now, last, cooldown: (
                stale or (not known and (last is None or now - last >= cooldown))
            ),
            "while the issuer is down, a stale set serves on",
        ),
        (lambda known, stale, now, last, cooldown: int(not known or stale), "expected False, got 0"),
        (lambda known, stale, now, last, cooldown: None, "expected False, got None"),
    ],
)
def test_should_refetch_refuses_wrong_answers_and_names_the_mistake(answer, says):
    result = check.should_refetch(answer)
    assert not passes(result)
    assert says in repr(result)
