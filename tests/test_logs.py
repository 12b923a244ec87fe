"""tutorial_src.logs: every kind of credential is scrubbed from log records, whatever carries it."""

from __future__ import annotations

import logging

import pytest

from tutorial_src.logs import REDACTED, SCRUBBED_LOGGERS, ScrubbingFilter, install_log_scrubbing, scrub

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
OPAQUE = "rt_8f14e45fceea167a5a36dedd4bea2543"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"Authorization: Bearer {TOKEN}", TOKEN),
        (f"b'Authorization: Bearer {TOKEN}\\x01abc'", "abc"),  # a parser error repeats the raw header
        (f"Bearer {OPAQUE}", OPAQUE),
        (f"bearer {OPAQUE}, realm", OPAQUE),
        (f"token in the middle {TOKEN} of a line", TOKEN),
        (f"GET /get-user?access_token={OPAQUE}&x=1 HTTP/1.1", OPAQUE),
        (f"GET /refresh?refresh_token={OPAQUE} HTTP/1.1", OPAQUE),
        ("email=a%40b.c&password=hunter2", "hunter2"),
        ('{"email": "a@b.c", "password": "correct horse battery staple"}', "horse"),
        ('{"password": "with \\" a quote"}', "quote"),
        ("{'refresh_token': 'opaque value'}", "opaque"),
        ('"client_secret":"s3cr3t"', "s3cr3t"),
        ("Authorization: Basic YWxpY2U6cGFzc3dvcmQ=", "YWxpY2U6cGFzc3dvcmQ="),
    ],
)
def test_scrub_removes_the_credential(text, secret):
    scrubbed = scrub(text)
    assert secret not in scrubbed
    assert REDACTED in scrubbed


@pytest.mark.parametrize(
    "text",
    [
        '127.0.0.1 [01/Dec/2026:14:27:25 +0000] "GET / HTTP/1.1" 200 222 "-" "python-requests/2.34.2"',
        "invalid email or password",
        "POST /login: the client closed the connection before the answer",
        "the password field is missing",
    ],
)
def test_scrub_leaves_ordinary_lines_alone(text):
    assert scrub(text) == text


def _record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord({"name": "aiohttp.access", "msg": msg, "args": args, "levelno": logging.INFO})
    for name, value in extra.items():
        setattr(record, name, value)
    return record


def test_the_filter_scrubs_message_arguments_and_extra_fields():
    record = _record(
        '"%s" %s',
        f"GET /?access_token={TOKEN} HTTP/1.1",
        200,
        first_request_line=f"GET /?access_token={TOKEN} HTTP/1.1",
        request_header={"Authorization": f"Bearer {TOKEN}", "Count": 3},
    )
    assert ScrubbingFilter().filter(record) is True
    text = logging.Formatter("%(message)s %(first_request_line)s %(request_header)s").format(record)
    assert TOKEN not in text
    assert "200" in text and "'Count': 3" in text


def test_the_filter_scrubs_the_traceback_and_keeps_the_exception():
    try:
        raise ValueError(f"bad header b'Authorization: Bearer {TOKEN}'")
    except ValueError as error:
        record = logging.makeLogRecord({"msg": "Error handling request", "exc_info": (ValueError, error, None)})
        record.exc_info = (type(error), error, error.__traceback__)
    ScrubbingFilter().filter(record)
    text = logging.Formatter().format(record)
    assert "Error handling request" in text and "ValueError" in text
    assert TOKEN not in text
    assert record.exc_info is not None  # code that inspects the exception still can


def test_the_filter_scrubs_stack_info():
    record = _record("stack")
    record.stack_info = f"Stack (most recent call last): password={OPAQUE}"
    ScrubbingFilter().filter(record)
    assert OPAQUE not in record.stack_info


def test_install_puts_one_filter_on_each_logger_however_often_it_runs():
    install_log_scrubbing()
    install_log_scrubbing()
    for name in SCRUBBED_LOGGERS:
        filters = [f for f in logging.getLogger(name).filters if isinstance(f, ScrubbingFilter)]
        assert len(filters) == 1, name


def test_a_scrubbed_logger_emits_no_token(caplog):
    install_log_scrubbing()
    with caplog.at_level(logging.INFO, logger="aiohttp.server"):
        logging.getLogger("aiohttp.server").info("header %s", f"Authorization: Bearer {TOKEN}")
    assert TOKEN not in caplog.text
    assert "header Authorization: [redacted]" in caplog.text
