"""Exercise checkers: ``from tutorial_src import check`` then ``check.<exercise>(answer)`` in a notebook.

Each notebook's checkers live in their own module (``nb01`` … ``nb09``) and are re-exported here.
"""

from ._core import NOT_YET_PREFIX, PASSED_PREFIX, CheckResult
from .nb01 import decode_payload, login_lab
from .nb02 import (
    MALFORMED_HEADERS,
    OTHER_SCHEME_HEADERS,
    WELL_FORMED_HEADERS,
    auth_middleware_lab,
    load_user,
    parse_bearer,
)
from .nb03 import admin_required_lab, login_required_lab, owner_or_admin_decorator
from .nb04 import hs256_signature, hs256_verification, missing_claims
from .nb05 import (
    DEFENCE_CHOICES,
    alg_confusion_lab,
    alg_none_lab,
    claim_tampering_lab,
    jwk_header_lab,
    kid_path_lab,
    name_the_defence,
    unverified_lab,
    weak_secret_lab,
)
from .nb06 import HIT_CHECK_MENU, bounded_put, checks_on_hit, token_cache_lab
from .nb07 import CONCURRENT_REFRESHES, consume_lab, logout_lab, refresh_lab
from .nb08 import csrf_check_lab, csrf_lab, record_requests, refresh_cookie_lab, xss_lab
from .nb09 import key_for_header, should_refetch

__all__ = [
    "CONCURRENT_REFRESHES",
    "DEFENCE_CHOICES",
    "HIT_CHECK_MENU",
    "MALFORMED_HEADERS",
    "NOT_YET_PREFIX",
    "OTHER_SCHEME_HEADERS",
    "PASSED_PREFIX",
    "WELL_FORMED_HEADERS",
    "CheckResult",
    "admin_required_lab",
    "alg_confusion_lab",
    "alg_none_lab",
    "auth_middleware_lab",
    "bounded_put",
    "checks_on_hit",
    "claim_tampering_lab",
    "consume_lab",
    "csrf_check_lab",
    "csrf_lab",
    "decode_payload",
    "hs256_signature",
    "hs256_verification",
    "jwk_header_lab",
    "key_for_header",
    "kid_path_lab",
    "load_user",
    "login_lab",
    "login_required_lab",
    "logout_lab",
    "missing_claims",
    "name_the_defence",
    "owner_or_admin_decorator",
    "parse_bearer",
    "record_requests",
    "refresh_cookie_lab",
    "refresh_lab",
    "should_refetch",
    "token_cache_lab",
    "unverified_lab",
    "weak_secret_lab",
    "xss_lab",
]
