"""tutorial_src.login: ``POST /login`` against ``create_app()``, one test per row of the contract.

| request                                                    | answer                                          |
|------------------------------------------------------------|-------------------------------------------------|
| JSON or form with a valid email and password               | 200 token, token_type, expires_in; no-store      |
| unknown email / wrong password                             | 401 invalid_credentials, identical answers       |
| a field missing, or not a string                           | 400 invalid_request naming the field             |
| JSON content type with empty, invalid, non-object body     | 400 invalid_request                              |
| text/plain, no content type                                 | 415 unsupported_media_type                       |
| a body over the size limit                                 | 413 request_too_large                            |
| GET /login; an unknown path                                | 405 with Allow / 404                             |

Every error answer is JSON with exactly the keys ``error`` and ``message``.
"""

from __future__ import annotations

import gzip
import json

import pytest
from aiohttp import FormData, hdrs
from conftest import ALICE

from tutorial_src.tokens import decode_access_token

JSON = {"Content-Type": "application/json"}


async def assert_error(response, status: int, code: str) -> dict:
    """The response is a JSON error with this status and code; returns the body."""
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    body = await response.json()
    assert set(body) == {"error", "message"}
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body


async def assert_token(response, settings) -> dict:
    assert response.status == 200, await response.text()
    assert response.content_type == "application/json"
    assert response.headers[hdrs.CACHE_CONTROL] == "no-store"
    body = await response.json()
    # create_app's /login is notebook 07's: a refresh token too (tests/test_sessions.py); 01's login has none.
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == settings.access_token_ttl
    assert decode_access_token(body["access_token"], settings)["sub"] == "1"
    return body


# --- 200 ----------------------------------------------------------------------------------------------------


async def test_json_login(client, settings):
    await assert_token(await client.post("/login", json={"email": ALICE[0], "password": ALICE[1]}), settings)


async def test_urlencoded_form_login(client, settings):
    response = await client.post("/login", data={"email": ALICE[0], "password": ALICE[1]})
    assert response.request_info.headers[hdrs.CONTENT_TYPE] == "application/x-www-form-urlencoded"
    await assert_token(response, settings)


async def test_multipart_form_login(client, settings):
    form = FormData({"email": ALICE[0], "password": ALICE[1]}, default_to_multipart=True)
    response = await client.post("/login", data=form)
    assert response.request_info.headers[hdrs.CONTENT_TYPE].startswith("multipart/form-data")
    await assert_token(response, settings)


async def test_email_is_case_insensitive(client, settings):
    response = await client.post("/login", json={"email": "ALICE@Example.com", "password": ALICE[1]})
    await assert_token(response, settings)


async def test_json_with_a_charset_parameter(client, settings):
    body = json.dumps({"email": ALICE[0], "password": ALICE[1]}).encode()
    response = await client.post("/login", data=body, headers={"Content-Type": "application/json; charset=utf-8"})
    await assert_token(response, settings)


async def test_gzip_encoded_json_is_refused_without_inflating(client):
    # Request bodies are never decompressed (tutorial_src.abuse): a gzip bomb costs nothing to refuse.
    body = gzip.compress(json.dumps({"email": ALICE[0], "password": ALICE[1]}).encode())
    response = await client.post("/login", data=body, headers={**JSON, "Content-Encoding": "gzip"})
    await assert_error(response, 415, "unsupported_media_type")
    assert response.headers["Accept-Encoding"] == "identity"


async def test_extra_fields_are_ignored(client, settings):
    response = await client.post("/login", json={"email": ALICE[0], "password": ALICE[1], "remember": True})
    await assert_token(response, settings)


# --- 401 ----------------------------------------------------------------------------------------------------


async def test_unknown_email_and_wrong_password_get_identical_answers(client):
    unknown = await client.post("/login", json={"email": "nobody@example.com", "password": ALICE[1]})
    wrong = await client.post("/login", json={"email": ALICE[0], "password": "wrong password"})
    for response in (unknown, wrong):
        await assert_error(response, 401, "invalid_credentials")
    assert await unknown.read() == await wrong.read()

    def comparable(response):
        return sorted((name, value) for name, value in response.headers.items() if name != hdrs.DATE)

    assert comparable(unknown) == comparable(wrong)
    assert unknown.headers[hdrs.WWW_AUTHENTICATE] == 'Bearer realm="jwt-tutorial"'


async def test_wrong_password_in_a_form(client):
    response = await client.post("/login", data={"email": ALICE[0], "password": "nope"})
    await assert_error(response, 401, "invalid_credentials")


async def test_empty_strings_are_wrong_credentials(client):
    await assert_error(await client.post("/login", json={"email": "", "password": ""}), 401, "invalid_credentials")


async def test_password_with_a_nul_character_is_just_wrong(client):
    response = await client.post("/login", json={"email": ALICE[0], "password": "a\x00b"})
    await assert_error(response, 401, "invalid_credentials")


# --- 400: fields --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        ({"password": "pw"}, "email", "is missing"),
        ({"email": ALICE[0]}, "password", "is missing"),
        ({}, "email", "is missing"),
        ({"email": 42, "password": "pw"}, "email", "must be a string"),
        ({"email": ALICE[0], "password": 42}, "password", "must be a string"),
        ({"email": {"$ne": ""}, "password": "pw"}, "email", "must be a string"),
        ({"email": ALICE[0], "password": ["pw"]}, "password", "must be a string"),
        ({"email": None, "password": "pw"}, "email", "must be a string"),
        ({"email": ALICE[0], "password": None}, "password", "must be a string"),
        ({"email": ALICE[0], "password": True}, "password", "must be a string"),
    ],
    ids=[
        "email-missing",
        "password-missing",
        "both-missing",
        "email-number",
        "password-number",
        "email-object",
        "password-array",
        "email-null",
        "password-null",
        "password-bool",
    ],
)
async def test_json_field_missing_or_not_a_string(client, body, field, problem):
    response = await client.post("/login", json=body)
    error = await assert_error(response, 400, "invalid_request")
    assert error["message"] == f"the field '{field}' {problem}"


async def test_form_field_missing(client):
    error = await assert_error(await client.post("/login", data={"email": ALICE[0]}), 400, "invalid_request")
    assert "'password'" in error["message"]


async def test_multipart_file_instead_of_a_text_field(client):
    form = FormData({"email": ALICE[0]})
    form.add_field("password", b"pw", filename="password.txt", content_type="text/plain")
    error = await assert_error(await client.post("/login", data=form), 400, "invalid_request")
    assert error["message"] == "the field 'password' must be a string"


async def test_lone_surrogate_in_json_is_a_wrong_password(client):
    # Valid JSON syntax, but "\ud800" is no Unicode text; hashing it crashed argon2 (a 500 before). No stored
    # password can equal it, so it is simply wrong: the same 401 as any wrong password.
    body = b'{"email": "alice@example.com", "password": "\\ud800"}'
    await assert_error(await client.post("/login", data=body, headers=JSON), 401, "invalid_credentials")


# --- 400: the JSON itself -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"not json", b"{'email': 'a'}", b"\xef\xbb\xbf{}", b"[" * 10000, b'{"a":' * 3000],
    ids=["empty", "truncated", "text", "single-quotes", "bom", "nested-arrays-10000", "nested-objects-3000"],
)
async def test_invalid_json(client, body):
    error = await assert_error(await client.post("/login", data=body, headers=JSON), 400, "invalid_request")
    assert error["message"] == "the body is not valid JSON"


@pytest.mark.parametrize("body", [b"[]", b'["alice@example.com", "pw"]', b'"text"', b"42", b"null", b"true"])
async def test_json_that_is_not_an_object(client, body):
    error = await assert_error(await client.post("/login", data=body, headers=JSON), 400, "invalid_request")
    assert "must be an object" in error["message"]


async def test_non_utf8_bytes_in_json(client):
    body = b'{"email": "\xff\xfe", "password": "pw"}'
    error = await assert_error(await client.post("/login", data=body, headers=JSON), 400, "invalid_request")
    assert error["message"] == "the body is not valid JSON"


async def test_broken_content_encoding(client):
    headers = {**JSON, "Content-Encoding": "gzip"}
    response = await client.post("/login", data=b"not gzip", headers=headers)
    await assert_error(response, 415, "unsupported_media_type")  # was a 500 (RequestPayloadError), then a 400


# --- 400: the form itself -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"no boundary parameter"),
        ("multipart/form-data; boundary=XX", b"no parts at all"),
        ("multipart/form-data; boundary=XX", b"--XX\r\nContent-Type: text/plain\r\n\r\nv\r\n--XX--\r\n"),
        ("application/x-www-form-urlencoded", b"email=\xff\xfe&password=pw"),
    ],
    ids=["no-boundary", "no-parts", "part-without-name", "non-utf8"],
)
async def test_malformed_form(client, content_type, body):
    response = await client.post("/login", data=body, headers={"Content-Type": content_type})
    error = await assert_error(response, 400, "invalid_request")
    assert error["message"] == "the form body is malformed"


def _multipart(*parts: bytes) -> bytes:
    return b"".join(b"--XX\r\n" + part + b"\r\n" for part in parts) + b"--XX--\r\n"


_EMAIL_PART = b'Content-Disposition: form-data; name="email"'
_PASSWORD_PART = b'Content-Disposition: form-data; name="password"\r\n\r\npw'


@pytest.mark.parametrize(
    "body",
    [
        # aiohttp raises RuntimeError for these two...
        _multipart(_EMAIL_PART + b"\r\nContent-Transfer-Encoding: bogus\r\n\r\na", _PASSWORD_PART),
        _multipart(b'Content-Disposition: form-data; name="_charset_"\r\n\r\n' + b"x" * 40, _PASSWORD_PART),
        # ...and its HTTP parser errors (BadHttpMessage, InvalidHeader, LineTooLong) for broken part headers.
        _multipart(_EMAIL_PART + b"".join(b"\r\nX-%d: y" % i for i in range(200)) + b"\r\n\r\na", _PASSWORD_PART),
        _multipart(_EMAIL_PART + b"\r\nno colon here\r\n\r\na", _PASSWORD_PART),
        _multipart(_EMAIL_PART + b"\r\nX-Long: " + b"y" * 10_000 + b"\r\n\r\na", _PASSWORD_PART),
    ],
    ids=[
        "unknown-transfer-encoding",
        "charset-field-too-long",
        "too-many-part-headers",
        "part-header-without-colon",
        "part-header-too-long",
    ],
)
async def test_multipart_parts_aiohttp_cannot_parse_are_400_not_500(client, body):
    headers = {"Content-Type": "multipart/form-data; boundary=XX"}
    response = await client.post("/login", data=body, headers=headers)
    error = await assert_error(response, 400, "invalid_request")
    assert error["message"] == "the form body is malformed"


# --- 415 ----------------------------------------------------------------------------------------------------


async def test_text_plain_is_unsupported(client):
    body = json.dumps({"email": ALICE[0], "password": ALICE[1]})
    response = await client.post("/login", data=body, headers={"Content-Type": "text/plain"})
    await assert_error(response, 415, "unsupported_media_type")


async def test_no_content_type_is_unsupported(client):
    body = json.dumps({"email": ALICE[0], "password": ALICE[1]}).encode()
    response = await client.post("/login", data=body, skip_auto_headers=[hdrs.CONTENT_TYPE])
    assert hdrs.CONTENT_TYPE not in response.request_info.headers
    await assert_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
@pytest.mark.parametrize("charset", ["no-such", "base64", "rot13"])
async def test_unknown_charset_is_a_bad_request(client, content_type, charset):
    # Before: LookupError from bytes.decode, a 500. base64 and rot13 are codecs, but no text encodings.
    headers = {"Content-Type": f"{content_type}; charset={charset}"}
    response = await client.post("/login", data=b"email=a&password=b", headers=headers)
    await assert_error(response, 400, "invalid_request")


async def test_json_in_utf16_with_its_charset(client, settings):
    body = json.dumps({"email": ALICE[0], "password": ALICE[1]}).encode("utf-16")
    response = await client.post("/login", data=body, headers={"Content-Type": "application/json; charset=utf-16"})
    await assert_token(response, settings)


# --- 413 ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
async def test_body_over_the_size_limit(client, settings, content_type):
    body = b"x" * (settings.max_body_size + 1)
    response = await client.post("/login", data=body, headers={"Content-Type": content_type})
    error = await assert_error(response, 413, "request_too_large")
    assert str(settings.max_body_size) in error["message"]


async def test_multipart_over_the_size_limit(client, settings):
    form = FormData({"email": "x" * (settings.max_body_size + 1), "password": "pw"}, default_to_multipart=True)
    await assert_error(await client.post("/login", data=form), 413, "request_too_large")


async def test_body_of_exactly_the_size_limit_is_read(client, settings):
    padding = settings.max_body_size - len(json.dumps({"email": ALICE[0], "password": ALICE[1], "p": ""}))
    body = json.dumps({"email": ALICE[0], "password": ALICE[1], "p": "x" * padding}).encode()
    assert len(body) == settings.max_body_size
    await assert_token(await client.post("/login", data=body, headers=JSON), settings)


# --- 405 / 404 ----------------------------------------------------------------------------------------------


async def test_get_login_is_method_not_allowed(client):
    response = await client.get("/login")
    error = await assert_error(response, 405, "method_not_allowed")
    assert response.headers[hdrs.ALLOW] == "POST"
    assert "POST" in error["message"]


async def test_unknown_path_is_not_found(client):
    error = await assert_error(await client.get("/no-such-page"), 404, "not_found")
    assert "/no-such-page" in error["message"]


async def test_post_to_an_unknown_path_is_not_found(client):
    response = await client.post("/logon", json={"email": ALICE[0], "password": ALICE[1]})
    await assert_error(response, 404, "not_found")
