"""tutorial_src.middleware: ``error_middleware`` turns every failure into the JSON error shape."""

from __future__ import annotations

import json
import logging

import pytest
from aiohttp import hdrs, web

from tutorial_src.logs import install_log_scrubbing
from tutorial_src.middleware import error_middleware
from tutorial_src.responses import json_error

SECRET_DETAIL = "password=hunter2 in /srv/app/secret.py"


async def crash(request):
    raise RuntimeError(SECRET_DETAIL)


async def json_teapot(request):
    raise json_error(web.HTTPConflict, "already_there", "it exists", headers={"X-Extra": "kept"})


async def plain_forbidden(request):
    raise web.HTTPForbidden(headers={"X-Extra": "kept"})


async def plain_unprocessable(request):
    raise web.HTTPUnprocessableEntity()


async def plain_server_error(request):
    raise web.HTTPInternalServerError()


async def plain_too_large(request):
    raise web.HTTPRequestEntityTooLarge(max_size=10, actual_size=20)


async def redirect(request):
    raise web.HTTPFound("/elsewhere")


async def no_content(request):
    raise web.HTTPNoContent()


async def ok(request):
    return web.json_response({"fine": True}, headers={"X-Extra": "kept"})


@web.middleware
async def crashing_middleware(request, handler):
    if request.path == "/inner-crash":
        raise ValueError(SECRET_DETAIL)
    return await handler(request)


@pytest.fixture
async def client(aiohttp_client):
    app = web.Application(middlewares=[error_middleware, crashing_middleware])
    for path, handler in {
        "/crash": crash,
        "/json-error": json_teapot,
        "/forbidden": plain_forbidden,
        "/unprocessable": plain_unprocessable,
        "/server-error": plain_server_error,
        "/too-large": plain_too_large,
        "/redirect": redirect,
        "/no-content": no_content,
        "/ok": ok,
        "/inner-crash": ok,
    }.items():
        app.router.add_get(path, handler)
    return await aiohttp_client(app)


async def error_of(response) -> dict:
    assert response.content_type == "application/json"
    body = await response.json()
    assert set(body) == {"error", "message"}
    return body


# --- unexpected exceptions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/crash", "/inner-crash"])
async def test_unexpected_exception_is_a_500_that_reveals_nothing(client, caplog, path):
    with caplog.at_level(logging.ERROR, logger="tutorial_src.middleware"):
        response = await client.get(path)
    assert response.status == 500
    body = await error_of(response)
    assert body["error"] == "internal_error"
    text = await response.text()
    for leak in ("Traceback", "Error", SECRET_DETAIL, "hunter2", ".py"):
        assert leak not in text


async def test_unexpected_exception_is_logged_with_its_traceback(client, caplog):
    install_log_scrubbing()  # as create_app does (tutorial_src.logs): the detail is logged, not the password in it
    with caplog.at_level(logging.ERROR, logger="tutorial_src.middleware"):
        await client.get("/crash")
    [record] = [r for r in caplog.records if r.name == "tutorial_src.middleware"]
    assert record.levelno == logging.ERROR
    assert record.getMessage() == "unhandled error in GET /crash"
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError
    # The detail goes to the server log, not to the client; the password in it is scrubbed.
    assert "RuntimeError: password=[redacted] in /srv/app/secret.py" in caplog.text
    assert "hunter2" not in caplog.text


# --- HTTP exceptions ----------------------------------------------------------------------------------------


async def test_json_http_exception_passes_through_unchanged(client):
    response = await client.get("/json-error")
    assert response.status == 409
    assert await response.json() == {"error": "already_there", "message": "it exists"}
    assert response.headers["X-Extra"] == "kept"


async def test_plain_http_exception_becomes_json_and_keeps_its_headers(client):
    response = await client.get("/forbidden")
    assert response.status == 403
    assert await error_of(response) == {"error": "forbidden", "message": "Forbidden"}
    assert response.headers["X-Extra"] == "kept"


async def test_status_without_a_known_code_is_http_error(client):
    response = await client.get("/unprocessable")
    assert response.status == 422
    assert await error_of(response) == {"error": "http_error", "message": "Unprocessable Entity"}


async def test_plain_500_becomes_internal_error(client):
    response = await client.get("/server-error")
    assert response.status == 500
    assert (await error_of(response))["error"] == "internal_error"


async def test_413_keeps_aiohttps_explanation(client):
    response = await client.get("/too-large")
    assert response.status == 413
    body = await error_of(response)
    assert body["error"] == "request_too_large"
    assert body["message"] == "Maximum request body size 10 exceeded."


async def test_no_route_is_a_json_404(client):
    response = await client.get("/missing")
    assert response.status == 404
    assert await error_of(response) == {"error": "not_found", "message": "there is no route for /missing"}


async def test_wrong_method_is_a_json_405_with_allow(client):
    response = await client.post("/ok")
    assert response.status == 405
    assert response.headers[hdrs.ALLOW] == "GET,HEAD"
    body = await error_of(response)
    assert body == {"error": "method_not_allowed", "message": "POST is not allowed on /ok; allowed: GET,HEAD"}


# --- what is not an error passes through --------------------------------------------------------------------


async def test_redirect_passes_through(client):
    response = await client.get("/redirect", allow_redirects=False)
    assert response.status == 302
    assert response.headers[hdrs.LOCATION] == "/elsewhere"
    assert response.content_type != "application/json"


async def test_2xx_http_exception_passes_through(client):
    response = await client.get("/no-content")
    assert response.status == 204
    assert await response.read() == b""


async def test_normal_response_is_untouched(client):
    response = await client.get("/ok")
    assert response.status == 200
    assert json.loads(await response.text()) == {"fine": True}
    assert response.headers["X-Extra"] == "kept"
