"""keyset: signing keys, the key set and its JWKS, rotation steps, the key directory and its command."""

from __future__ import annotations

import json
import stat

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tutorial_src.errors import InvalidToken, SettingsError
from tutorial_src.keyset import (
    ASYMMETRIC_ALGORITHMS,
    PRIVATE_MEMBERS,
    KeyRing,
    KeySet,
    SigningKey,
    directory_step,
    key_for_header,
    load_directory,
    main,
    rotate,
    thumbprint,
)


@pytest.fixture(scope="module")
def keys():
    return {algorithm: SigningKey.generate(algorithm) for algorithm in ASYMMETRIC_ALGORITHMS}


@pytest.mark.parametrize("algorithm", ASYMMETRIC_ALGORITHMS)
def test_a_key_signs_what_its_public_jwk_alone_verifies(keys, algorithm):
    key = keys[algorithm]
    token = jwt.encode({"sub": "1"}, key.private_key, algorithm=algorithm, headers={"kid": key.kid})
    public = jwt.PyJWK(json.loads(json.dumps(key.public_jwk)))
    assert jwt.decode(token, public, algorithms=[algorithm]) == {"sub": "1"}
    assert jwt.get_unverified_header(token)["kid"] == key.kid


@pytest.mark.parametrize("algorithm", ASYMMETRIC_ALGORITHMS)
def test_the_public_jwk_has_no_private_member_and_says_kid_alg_use(keys, algorithm):
    jwk = keys[algorithm].public_jwk
    assert not PRIVATE_MEMBERS & jwk.keys()
    assert (jwk["kid"], jwk["alg"], jwk["use"]) == (keys[algorithm].kid, algorithm, "sig")


def test_the_kid_is_the_rfc7638_thumbprint_and_survives_a_pem_round_trip(keys):
    key = keys["ES256"]
    assert SigningKey.from_pem(key.to_pem()).kid == key.kid
    # RFC 7638 §3: only the required members, in lexicographic order, no whitespace.
    jwk = key.public_jwk
    assert key.kid == thumbprint({"y": jwk["y"], "x": jwk["x"], "kty": "EC", "crv": "P-256", "extra": 1})
    assert SigningKey.generate("ES256").kid != key.kid


def test_the_key_repr_shows_no_private_key(keys):
    assert "private" not in repr(keys["ES256"])


@pytest.mark.parametrize(
    "private_key",
    [ec.generate_private_key(ec.SECP384R1()), rsa.generate_private_key(public_exponent=65537, key_size=1024)],
    ids=["P-384", "RSA-1024"],
)
def test_other_curves_and_short_rsa_keys_are_refused(private_key):
    with pytest.raises(SettingsError, match="P-256 EC key"):
        SigningKey.from_private_key(private_key)


@pytest.mark.parametrize("algorithm", ["HS256", "none", "Ed25519", "ES384"])
def test_generate_refuses_other_algorithms(algorithm):
    with pytest.raises(SettingsError, match="must be one of ES256, EdDSA, RS256"):
        SigningKey.generate(algorithm)


def test_pyjwt_does_not_accept_the_rfc9864_name_ed25519_yet(keys):
    # pyjwt#1190: when this starts to pass, tokens may say "Ed25519" (RFC 9864 deprecates "EdDSA").
    with pytest.raises(NotImplementedError):
        jwt.encode({}, keys["EdDSA"].private_key, algorithm="Ed25519")


def test_a_key_set_publishes_current_next_and_retiring_keys_in_turn(keys):
    first, second = SigningKey.generate(), SigningKey.generate()
    step0 = KeySet(first)
    step1 = step0.with_next(second)
    step2 = step1.promoted()
    step3 = step2.retired()
    assert [key.kid for key in step0.published] == [first.kid]
    assert [key.kid for key in step1.published] == [first.kid, second.kid]
    assert (step2.current, step2.next, step2.retiring) == (second, None, (first,))
    assert [jwk["kid"] for jwk in step2.jwks["keys"]] == [second.kid, first.kid]
    assert step3.published == (second,)
    assert json.loads(step1.jwks_json) == step1.jwks
    assert set(step1.verification_keys) == {first.kid, second.kid}


def test_steps_out_of_order_are_refused():
    keys = KeySet(SigningKey.generate())
    with pytest.raises(SettingsError, match="no next key"):
        keys.promoted()
    with pytest.raises(SettingsError, match="already published"):
        keys.with_next(SigningKey.generate()).with_next(SigningKey.generate())


# --- key_for_header --------------------------------------------------------------------------------------------


def test_key_for_header_finds_the_key_by_kid_with_its_algorithm(keys):
    table = {key.kid: key.verification_key for key in keys.values()}
    for algorithm, key in keys.items():
        assert key_for_header({"alg": algorithm, "kid": key.kid}, table) is table[key.kid]
    assert key_for_header({"alg": "ES256", "kid": "unknown"}, table) is None


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ({"alg": "HS256"}, "names no key"),
        ({"alg": "ES256", "kid": 1}, "names no key"),
        ({"alg": "ES256", "kid": ["a"]}, "names no key"),
        ({"alg": "HS256", "kid": "{es}"}, "algorithm is not ES256"),
        ({"alg": "none", "kid": "{es}"}, "algorithm is not ES256"),
        ({"alg": "RS256", "kid": "{es}"}, "algorithm is not ES256"),
        ({"kid": "{es}"}, "algorithm is not ES256"),
    ],
)
def test_key_for_header_refuses_a_missing_kid_and_a_confused_algorithm(keys, header, message):
    es = keys["ES256"]
    header = {
        name: value.replace("{es}", es.kid) if isinstance(value, str) else value for name, value in header.items()
    }
    with pytest.raises(InvalidToken, match=message):
        key_for_header(header, {es.kid: es.verification_key})


# --- KeyRing and rotate ------------------------------------------------------------------------------


def test_a_ring_rotates_step_by_step():
    ring = KeyRing.generate("EdDSA")
    first = ring.keys.current
    second = ring.publish_next()
    assert second.algorithm == "EdDSA"
    assert ring.keys.current is first
    ring.promote()
    assert ring.keys.current is second and ring.keys.retiring == (first,)
    ring.retire()
    assert ring.keys.published == (second,)
    assert "EdDSA: 1 published key(s)" in repr(ring)
    with pytest.raises(SettingsError, match="not loaded from a directory"):
        ring.reload()


async def test_rotate_waits_one_cache_lifetime_then_the_token_lifetime():
    ring = KeyRing.generate()
    first = ring.keys.current
    log: list[object] = []

    async def sleep(seconds: float) -> None:
        log.append((seconds, [key.kid for key in ring.keys.published], ring.keys.current.kid))

    await rotate(ring, cache_lifetime=300, token_lifetime=910, sleep=sleep, on_step=log.append)
    second = ring.keys.current
    assert log == [
        "published",
        (300, [first.kid, second.kid], first.kid),
        "promoted",
        (910, [second.kid, first.kid], second.kid),
        "retired",
    ]
    assert ring.keys.published == (second,)


# --- key directory ------------------------------------------------------------------------------------------


def test_a_directory_goes_through_a_rotation_and_a_ring_reloads_it(tmp_path, capsys):
    assert main([str(tmp_path), "init", "--alg", "ES256"]) == 0
    assert stat.S_IMODE((tmp_path / "current.pem").stat().st_mode) == 0o600
    ring = KeyRing.from_directory(tmp_path)
    first = ring.keys.current
    assert main([str(tmp_path), "publish-next"]) == 0
    ring.reload()
    second = ring.keys.next
    assert second is not None and ring.keys.current.kid == first.kid
    assert main([str(tmp_path), "promote"]) == 0
    ring.reload()
    assert (ring.keys.current.kid, [key.kid for key in ring.keys.retiring]) == (second.kid, [first.kid])
    assert main([str(tmp_path), "retire"]) == 0
    ring.reload()
    assert [key.kid for key in ring.keys.published] == [second.kid]
    out = capsys.readouterr().out
    assert f"created current key {first.kid} (ES256)" in out
    assert "unpublished 1 retiring key(s)" in out


def test_the_command_says_what_is_wrong_and_fails(tmp_path, capsys):
    assert main([str(tmp_path), "promote"]) == 1
    assert "current.pem does not exist" in capsys.readouterr().err
    directory_step(tmp_path, "init")
    assert main([str(tmp_path), "promote"]) == 1
    assert "no next key" in capsys.readouterr().err
    assert main([str(tmp_path), "init"]) == 1  # never overwrites a key
    (tmp_path / "next.pem").write_text("not a key")
    with pytest.raises(SettingsError, match=r"next\.pem is not an unencrypted PEM private key"):
        load_directory(tmp_path)
    with pytest.raises(SettingsError, match="unknown step"):
        (tmp_path / "next.pem").unlink()
        directory_step(tmp_path, "rotate-everything")
