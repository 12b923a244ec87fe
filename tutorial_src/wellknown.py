"""What an issuer that signs with a private key publishes: its JWK Set and a discovery document.

``GET /.well-known/jwks.json``: the public keys (RFC 7517 §5), with ``Cache-Control: public, max-age=…`` so
verifiers know how long they may keep them (the wait of a rotation's second step, ``keyset.rotate``).
``GET /.well-known/openid-configuration``: ``issuer`` and ``jwks_uri`` (OpenID Connect Discovery 1.0 §3, §4).
"""

from __future__ import annotations

from aiohttp import web

from .keys import SETTINGS
from .routes import public_route

JWKS_PATH = "/.well-known/jwks.json"
DISCOVERY_PATH = "/.well-known/openid-configuration"
#: RFC 7517 §8.5: the media type of a JWK Set.
JWKS_CONTENT_TYPE = "application/jwk-set+json"


async def jwks(request: web.Request) -> web.Response:
    """``GET /.well-known/jwks.json``: ``{"keys": [public JWK, …]}``, the current, next and retiring keys."""
    settings = request.app[SETTINGS]
    assert settings.signing_keys is not None  # setup_wellknown adds the route only then
    return web.Response(
        text=settings.signing_keys.keys.jwks_json,
        content_type=JWKS_CONTENT_TYPE,
        headers={"Cache-Control": f"public, max-age={settings.jwks_max_age}"},
    )


async def openid_configuration(request: web.Request) -> web.Response:
    """``GET /.well-known/openid-configuration``: ``{"issuer": …, "jwks_uri": …}``.

    Only the two members a token verifier reads; OIDC Discovery §3 requires more of an OpenID Provider, which
    this app is not. ``jwks_uri`` is built from the address the request came to.
    """
    settings = request.app[SETTINGS]
    return web.json_response(
        {"issuer": settings.issuer, "jwks_uri": str(request.url.origin().with_path(JWKS_PATH))},
        headers={"Cache-Control": f"public, max-age={settings.jwks_max_age}"},
    )


def setup_wellknown(app: web.Application) -> None:
    """Add both routes when the app signs with a key ring; with a shared secret there is nothing to publish."""
    if app[SETTINGS].signing_keys is not None:
        app.router.add_get(JWKS_PATH, public_route(jwks))
        app.router.add_get(DISCOVERY_PATH, public_route(openid_configuration))
