"""The tokens that set pyproject.toml's PyJWT floor: older releases raise on them, and the app answered 500.

PyJWT 2.11-2.13 let ``RecursionError`` out of a header nested deeper than the JSON parser's recursion limit (a
3.2 KB token, no key needed); 2.14 still did for such a payload (which needs the key). ``make test-lowest`` runs
these against the lowest allowed versions, so a floor that stops holding fails here. aiohttp's floor is held by
the hostile corpus's ``get-user-trailing-space`` case (3.14.0-3.14.3 kept the space that ends a header value).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from conftest import TEST_SECRET

#: Deeper than CPython's default recursion limit (1000), so ``json.loads`` raises ``RecursionError``.
DEPTH = 1200


def _segment(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _signed(header: bytes, payload: bytes) -> str:
    # By hand: PyJWT's encoder takes claims as a dict, and this payload is a list nested 1200 deep.
    signing_input = f"{_segment(header)}.{_segment(payload)}"
    signature = hmac.new(TEST_SECRET.encode(), signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_segment(signature)}"


NESTED = b"[" * DEPTH + b"]" * DEPTH
HS256 = b'{"alg":"HS256","typ":"JWT"}'
TOKENS = {
    "nested-header-unsigned": f"{_segment(NESTED)}.{_segment(b'{}')}.{_segment(b'x' * 32)}",
    "nested-payload-signed": _signed(HS256, NESTED),
}


def test_the_nested_header_token_is_the_size_the_issue_measured():
    assert 3000 < len(TOKENS["nested-header-unsigned"]) < 3400


@pytest.mark.parametrize("name", sorted(TOKENS))
async def test_a_token_older_pyjwt_raises_on_is_a_json_401(client, name):
    response = await client.get("/get-user", headers={"Authorization": f"Bearer {TOKENS[name]}"})
    assert response.status == 401, await response.text()
    assert (await response.json())["error"] == "invalid_token"
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")
