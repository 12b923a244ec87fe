"""Log hygiene: no log line carries a bearer token, a refresh token, a password or a URL's ``access_token``.

Tokens reach log lines by two roads: the access log writes the request line, query string included; and
aiohttp's HTTP parser, refusing a malformed header, logs a traceback whose message repeats the raw header.
``ScrubbingFilter`` rewrites every record of the loggers that carry them (``SCRUBBED_LOGGERS``) before any
handler formats it: the message with its arguments, the traceback and the ``extra`` fields the access log adds.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"

#: Names whose values are credentials, in a query string, a form, JSON or a Python repr.
SECRET_NAMES = r"(?:access_token|refresh_token|id_token|token|password|client_secret|authorization)"

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # "Bearer <token>" anywhere (an Authorization header echoed by a parser error, a challenge): up to a quote,
    # whitespace, comma or semicolon, so an escaped illegal byte (\x01) inside the token is taken too.
    (re.compile(r"(?i)\b(bearer\s+)[^\s\"',;]+"), rf"\1{REDACTED}"),
    # A JWS/JWE in compact form: its first segment is base64url JSON, which always starts with "eyJ".
    (re.compile(r"\beyJ[A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_\-]*){1,4}"), REDACTED),
    # "name": "value" and 'name': 'value' (JSON, repr of a dict or of headers).
    (
        re.compile(rf"(?i)([\"']{SECRET_NAMES}[\"']\s*:\s*)(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')"),
        rf"\1'{REDACTED}'",
    ),
    # name=value in a query string or a form body.
    (re.compile(rf"(?i)\b({SECRET_NAMES}=)[^&\s\"']*"), rf"\1{REDACTED}"),
    # A header line "Authorization: <scheme> <credentials>" of any scheme.
    (re.compile(r"(?i)\b(authorization:\s*)[^\r\n\"']+"), rf"\1{REDACTED}"),
]


def scrub(text: str) -> str:
    """``text`` with every credential replaced by ``[redacted]``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


# The attributes every LogRecord has; the others are the `extra` of the call (the access log adds its fields).
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class ScrubbingFilter(logging.Filter):
    """Rewrite a record so that no credential survives, whichever handler and formatter emit it.

    The message is formatted with its arguments and scrubbed; a traceback is formatted here and scrubbed into
    ``exc_text``, which ``logging.Formatter`` prints instead of formatting ``exc_info`` again (``exc_info`` stays
    for code that inspects the exception); string ``extra`` fields are scrubbed, and those in a dict too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = scrub(record.getMessage()), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        for name, value in list(vars(record).items()):
            if name in _RECORD_ATTRIBUTES:
                continue
            if isinstance(value, str):
                setattr(record, name, scrub(value))
            elif isinstance(value, dict):
                setattr(record, name, {key: scrub(v) if isinstance(v, str) else v for key, v in value.items()})
        return True


#: aiohttp's access and server (parser error) logs, its web log, asyncio's, gunicorn's two, and this package's
#: error log. A logger's filters see only the records logged on that very logger, hence the full names.
SCRUBBED_LOGGERS = (
    "aiohttp.access",
    "aiohttp.server",
    "aiohttp.web",
    "aiohttp.internal",
    "asyncio",
    "gunicorn.access",
    "gunicorn.error",
    "tutorial_src.middleware",
    "tutorial_src.abuse",
)

_FILTER = ScrubbingFilter()


def install_log_scrubbing() -> None:
    """Put the scrubbing filter on every logger of ``SCRUBBED_LOGGERS`` (once; calling again changes nothing)."""
    for name in SCRUBBED_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
