"""The application builder: ``build_app`` makes every app of the series, ``create_app`` the demo app."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from . import auth, decorators, sessions
from .abuse import ignore_stale_credentials, server_options, setup_abuse_limits
from .demo import demo_user_store
from .keys import SETTINGS, TOKEN_CACHE, USERS
from .middleware import error_middleware
from .revocation import store_lifetime
from .routes import Guard, setup_routes
from .settings import Settings
from .sqlite_store import SQLiteStore
from .store import Store
from .token_cache import add_token_cache
from .wellknown import setup_wellknown


def build_app(
    settings: Settings | None = None,
    users: Store | None = None,
    *,
    auth_middleware: Middleware = auth.auth_middleware,
    login_handler: Handler = sessions.login_with_refresh_token,
    refresh_handler: Handler = sessions.refresh,
    logout_handler: Handler = sessions.logout,
    login_required: Guard = decorators.login_required,
    admin_required: Guard = decorators.admin_required,
    token_cache: bool = False,
) -> web.Application:
    """The demo app built from the given parts; the defaults are the package's own.

    A notebook passes the middleware, login handler or decorators it has just written, so the server it starts
    runs its own code on every route; the vulnerable twins of notebook 05 pass their weak auth middleware. All
    of them get the same limits, state and routes as ``create_app()``.

    Args:
        settings: defaults to ``Settings()`` (``JWT_SECRET`` from the environment, else a random secret).
        users: the store (``store.Store``); defaults to the demo users of ``demo.DEMO_USERS`` in memory.
        auth_middleware: puts ``CURRENT_USER`` on each request.
        login_handler: ``POST /login``.
        refresh_handler: ``POST /refresh`` (notebook 07).
        logout_handler: ``POST /logout`` (notebook 07), behind ``login_required``.
        login_required: guards ``GET /get-user``.
        admin_required: guards ``GET /admin/users``.
        token_cache: put a verified-token cache of the app's own in front of the auth middleware (notebook 06).

    Middleware order matters: ``error_middleware`` runs first (outermost) so it turns the auth middleware's
    errors into JSON too; the auth middleware runs before every handler so each one can read ``CURRENT_USER``.

    The store opens at the app's start and closes at its cleanup; meanwhile a task of the app reads what other
    processes revoke (``revocation.store_lifetime``). The app's settings carry the store's denylist
    (``Settings.revocations``), which every token check consults.
    """
    settings = settings if settings is not None else Settings()
    store = users if users is not None else demo_user_store(settings)
    if settings.revocations is not store.revocations:
        settings = dataclasses.replace(settings, revocations=store.revocations)
    app = web.Application(
        middlewares=[error_middleware, ignore_stale_credentials],
        client_max_size=settings.max_body_size,
        # aiohttp refuses header lines over 8190 bytes before any middleware runs, with a plain-text 400;
        # a larger limit lets the auth middleware refuse long tokens itself, in JSON with a challenge.
        handler_args={"max_field_size": 2 * settings.max_token_length + 1024, **server_options(settings)},
    )
    app.middlewares.append(add_token_cache(app, auth_middleware) if token_cache else auth_middleware)
    if token_cache:
        # A cached verdict skips the token check: any new revocation (or a stale denylist) empties the cache.
        store.revocations.on_change(app[TOKEN_CACHE].clear)
    app[SETTINGS] = settings
    app[USERS] = store
    app.cleanup_ctx.append(store_lifetime(store, settings))
    setup_routes(
        app,
        login_handler=login_handler,
        login_required=login_required,
        admin_required=admin_required,
        refresh_handler=refresh_handler,
        logout_handler=logout_handler,
    )
    setup_wellknown(app)
    setup_abuse_limits(app)
    return app


#: The environment variable naming the database file of ``create_app()`` (gunicorn's workers read it).
DB_ENVIRONMENT_VARIABLE = "JWT_TUTORIAL_DB"


def create_app(
    settings: Settings | None = None, users: Store | None = None, *, token_cache: bool = True
) -> web.Application:
    """The demo app, ready to serve: ``build_app`` with the package's middleware, handlers and decorators, and
    the verified-token cache of notebook 06 (``token_cache=False`` leaves it out).

    Without ``users``, the store is the SQLite file ``JWT_TUTORIAL_DB`` names when it is set (the demo users
    created in it once), else the demo users in memory.
    """
    settings = settings if settings is not None else Settings()
    if users is None and os.environ.get(DB_ENVIRONMENT_VARIABLE):
        users = database_store(Path(os.environ[DB_ENVIRONMENT_VARIABLE]), settings)
    return build_app(settings, users, token_cache=token_cache)


def database_store(path: Path, settings: Settings) -> SQLiteStore:
    """The SQLite store in ``path``, with the demo users created in it once."""
    return SQLiteStore(path, settings, demo_users=True)
