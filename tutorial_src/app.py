"""The application factory: ``create_app(settings, users)`` builds the whole demo app."""

from __future__ import annotations

from aiohttp import web

from .auth import auth_middleware
from .demo import demo_user_store
from .keys import SETTINGS, USERS
from .middleware import error_middleware
from .models import UserStore
from .routes import setup_routes
from .settings import Settings
from .wellknown import setup_wellknown


def create_app(settings: Settings | None = None, users: UserStore | None = None) -> web.Application:
    """The demo app, ready to serve.

    Args:
        settings: defaults to ``Settings()`` (``JWT_SECRET`` from the environment, else a random secret).
        users: defaults to the demo users of ``demo.DEMO_USERS``.

    Middleware order matters: ``error_middleware`` runs first (outermost) so it turns the auth middleware's
    errors into JSON too; ``auth_middleware`` runs before every handler so each one can read ``CURRENT_USER``.
    """
    settings = settings if settings is not None else Settings()
    app = web.Application(
        middlewares=[error_middleware, auth_middleware],
        client_max_size=settings.max_body_size,
        # aiohttp refuses header lines over 8190 bytes before any middleware runs, with a plain-text 400;
        # a larger limit lets the auth middleware refuse long tokens itself, in JSON with a challenge.
        handler_args={"max_field_size": 2 * settings.max_token_length + 1024},
    )
    app[SETTINGS] = settings
    app[USERS] = users if users is not None else demo_user_store(settings)
    setup_routes(app)
    setup_wellknown(app)
    return app
