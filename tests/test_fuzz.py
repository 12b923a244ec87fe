"""Property-based tests (Hypothesis): random bytes, headers, JSON bodies and tokens never produce a 5xx.

Every answer of ``create_app()`` is below 500 and, when it is an error, JSON ``{"error", "message"}``. The
examples are derandomized so CI is reproducible; ``HYPOTHESIS_EXPLORE=1`` runs more, random examples locally.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import jwt
import pytest
from conftest import TEST_SECRET
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tutorial_src.lab.attacks import forge_token

EXPLORE = os.environ.get("HYPOTHESIS_EXPLORE") == "1"
FUZZ = settings(
    max_examples=500 if EXPLORE else 40,
    deadline=None,
    derandomize=not EXPLORE,
    database=None,
    # One app and client serve every example; the app keeps no state a request could change.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

ROUTES = ["/", "/login", "/get-user", "/admin/users", "/nope"]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]
CONTENT_TYPES = [
    None,
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=latin-1",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=fuzz",
    "multipart/form-data",
    "text/plain",
]
# Visible ASCII, space and tab: what a header value may hold (RFC 9110 §5.5), minus obs-text.
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.just("\t"), max_size=300)
HEADER_NAME = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,15}", fullmatch=True).filter(
    # Framing headers would break the HTTP message itself, not the app.
    lambda name: (
        name.lower()
        not in {"content-length", "transfer-encoding", "host", "connection", "expect", "upgrade", "content-type"}
    )
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20,
)
CLAIMS = st.dictionaries(
    st.sampled_from(["sub", "iat", "exp", "nbf", "iss", "aud", "jti", "is_admin"]) | st.text(max_size=8),
    JSON_VALUES,
    max_size=8,
)


async def assert_json_answer_below_500(response) -> None:
    assert response.status < 500, await response.text()
    if response.status >= 400:
        assert response.content_type == "application/json"
        assert set(await response.json()) == {"error", "message"}


def _headers(content_type: str | None, extra: Sequence[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    headers = list(extra)
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    return headers


@FUZZ
@given(
    body=st.binary(max_size=2048),
    content_type=st.sampled_from(CONTENT_TYPES),
    method=st.sampled_from(METHODS),
    route=st.sampled_from(ROUTES),
)
async def test_random_bytes_bodies(client, body, content_type, method, route):
    response = await client.request(
        method, route, data=body, headers=_headers(content_type), skip_auto_headers=["Content-Type"]
    )
    await assert_json_answer_below_500(response)


@FUZZ
@given(
    value=HEADER_TEXT,
    route=st.sampled_from(ROUTES),
    prefix=st.sampled_from(["", "Bearer ", "bearer ", "Basic "]),
    extra=st.lists(st.tuples(HEADER_NAME, HEADER_TEXT), max_size=4),
)
async def test_random_header_values(client, value, route, prefix, extra):
    headers = [*extra, ("Authorization", prefix + value)]
    response = await client.get(route, headers=headers)
    await assert_json_answer_below_500(response)


@FUZZ
@given(body=JSON_VALUES, content_type=st.sampled_from(CONTENT_TYPES[1:4]))
async def test_random_json_bodies(client, body, content_type):
    data = json.dumps(body).encode("utf-8")
    response = await client.post("/login", data=data, headers=_headers(content_type))
    await assert_json_answer_below_500(response)
    assert response.status in {400, 401}


@FUZZ
@given(email=JSON_VALUES, password=JSON_VALUES)
async def test_random_credentials(client, email, password):
    response = await client.post("/login", json={"email": email, "password": password})
    await assert_json_answer_below_500(response)
    assert response.status in {400, 401}


@FUZZ
@given(
    header=st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=5),
    claims=CLAIMS,
    key=st.sampled_from([None, b"", TEST_SECRET.encode(), b"another key"]),
    route=st.sampled_from(ROUTES[2:4]),
)
async def test_random_tokens(client, header, claims, key, route):
    header = {"alg": "HS256", **header} if key else header
    token = forge_token(header, claims, key)
    response = await client.get(route, headers={"Authorization": f"Bearer {token}"})
    await assert_json_answer_below_500(response)
    assert response.status in {200, 400, 401, 403}


@FUZZ
@given(claims=CLAIMS)
async def test_random_claims_signed_with_the_right_secret(client, claims):
    # The hardest case for the server: the signature is right, so every claim reaches the checks.
    token = jwt.api_jws.encode(json.dumps(claims).encode(), TEST_SECRET, algorithm="HS256")
    response = await client.get("/get-user", headers={"Authorization": f"Bearer {token}"})
    await assert_json_answer_below_500(response)
    assert response.status in {200, 401}


@pytest.mark.parametrize("route", ROUTES)
async def test_fuzz_helpers_accept_a_plain_request(client, route):
    await assert_json_answer_below_500(await client.get(route))
