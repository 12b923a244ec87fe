"""tutorial_src.responses: the JSON error shape and the ``WWW-Authenticate: Bearer`` challenge (RFC 6750 §3)."""

from __future__ import annotations

import json

import pytest
from aiohttp import hdrs, web

from tutorial_src.responses import (
    BEARER_ERROR_CODES,
    DEFAULT_ERROR_CODES,
    bearer_challenge,
    bearer_error,
    error_body,
    json_error,
)

# --- bearer_challenge ---------------------------------------------------------------------------------------


def test_bare_challenge_has_only_the_realm():
    # RFC 6750 §3.1: a request without credentials gets no error code.
    assert bearer_challenge("jwt-tutorial") == 'Bearer realm="jwt-tutorial"'


def test_challenge_with_an_error_code():
    assert bearer_challenge("r", "invalid_token") == 'Bearer realm="r", error="invalid_token"'


def test_challenge_with_error_and_description():
    assert (
        bearer_challenge("r", "invalid_token", "the token has expired")
        == 'Bearer realm="r", error="invalid_token", error_description="the token has expired"'
    )


def test_insufficient_scope_challenge():
    assert bearer_challenge("r", "insufficient_scope", "admins only") == (
        'Bearer realm="r", error="insufficient_scope", error_description="admins only"'
    )


@pytest.mark.parametrize(
    ("description", "sent"),
    [
        ('say "hi"', "say hi"),
        ("back\\slash", "backslash"),
        ("café ☕", "caf "),
        ("tab\there\nnewline\x7f", "tabherenewline"),
        ("", ""),
    ],
    ids=["quotes", "backslash", "non-ascii", "controls", "empty"],
)
def test_description_keeps_only_printable_ascii_without_quote_or_backslash(description, sent):
    # RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E.
    assert bearer_challenge("r", "invalid_request", description).endswith(f'error_description="{sent}"')


def test_stripped_description_cannot_break_out_of_the_quoted_string():
    value = bearer_challenge("r", "invalid_token", 'x", error="none')
    assert value == 'Bearer realm="r", error="invalid_token", error_description="x, error=none"'
    assert value.count('"') == 6


def test_every_challenge_is_a_valid_header_value():
    # aiohttp refuses header values with CR or LF; the challenge must never carry one.
    value = bearer_challenge("r", "invalid_request", "line one\r\nSet-Cookie: evil=1")
    assert "\r" not in value and "\n" not in value
    web.Response(headers={hdrs.WWW_AUTHENTICATE: value})


# --- json_error and error_body ------------------------------------------------------------------------------


def test_error_body():
    assert error_body("invalid_request", "email is missing") == {
        "error": "invalid_request",
        "message": "email is missing",
    }


def test_json_error_is_the_http_exception_with_a_json_body():
    error = json_error(web.HTTPBadRequest, "invalid_request", "the field 'email' is missing")
    assert isinstance(error, web.HTTPBadRequest)
    assert error.status == 400
    assert error.content_type == "application/json"
    assert json.loads(error.text) == {"error": "invalid_request", "message": "the field 'email' is missing"}


def test_json_error_carries_headers():
    challenge = bearer_challenge("r", "invalid_token", "expired")
    headers = {hdrs.WWW_AUTHENTICATE: challenge}
    error = json_error(web.HTTPUnauthorized, "invalid_token", "expired", headers=headers)
    assert error.status == 401
    assert error.headers[hdrs.WWW_AUTHENTICATE] == challenge
    assert error.content_type == "application/json"


def test_json_error_escapes_the_message_as_json():
    error = json_error(web.HTTPBadRequest, "invalid_request", 'a "quoted" \\ message ☕')
    assert json.loads(error.text)["message"] == 'a "quoted" \\ message ☕'


def test_default_codes_cover_the_statuses_the_app_sends():
    assert {400, 401, 403, 404, 405, 413, 415, 500} <= set(DEFAULT_ERROR_CODES)
    assert DEFAULT_ERROR_CODES[400] == "invalid_request"  # RFC 6750 §3.1
    assert DEFAULT_ERROR_CODES[500] == "internal_error"


# --- bearer_error ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(BEARER_ERROR_CODES))
def test_bearer_error_names_an_rfc_6750_error_in_the_challenge(code):
    error = bearer_error(web.HTTPUnauthorized, code, 'say "hi"', "jwt-tutorial")
    assert error.status == 401
    assert error.content_type == "application/json"
    assert error.headers[hdrs.WWW_AUTHENTICATE] == (
        f'Bearer realm="jwt-tutorial", error="{code}", error_description="say hi"'
    )
    assert json.loads(error.text) == {"error": code, "message": 'say "hi"'}


@pytest.mark.parametrize("code", ["authentication_required", "invalid_credentials"])
def test_bearer_error_keeps_other_codes_out_of_the_challenge(code):
    # RFC 6750 §3.1: no error code in the challenge of a request that carried no token (§6.2 registers three).
    error = bearer_error(web.HTTPUnauthorized, code, "log in", "r")
    assert error.headers[hdrs.WWW_AUTHENTICATE] == 'Bearer realm="r"'
    assert json.loads(error.text) == {"error": code, "message": "log in"}
