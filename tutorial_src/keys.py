"""Typed keys for what the app and each request carry (aiohttp's ``web.AppKey`` / ``web.RequestKey``).

A typed key instead of a string key, or an attribute set on the request, lets a type checker see what
``app[SETTINGS]`` holds, and two libraries can never clash on the same name
(https://docs.aiohttp.org/en/stable/web_advanced.html#application-s-config).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from .models import User
from .settings import Settings
from .store import Store

if TYPE_CHECKING:  # token_cache imports this module
    from .token_cache import TokenCache

#: The app's ``Settings``.
SETTINGS = web.AppKey("settings", Settings)
#: The app's store (``store.Store``): users, sessions and revocations; ``models.UserStore`` keeps them in memory,
#: ``sqlite_store.SQLiteStore`` in a file.
USERS = web.AppKey("users", Store)
#: The app's own verified-token cache (notebook 06), when the app builder adds that layer.
TOKEN_CACHE: web.AppKey[TokenCache] = web.AppKey("token_cache")
#: The user the auth middleware found for this request, or ``None`` when the request is anonymous.
CURRENT_USER = web.RequestKey[User | None]("current_user")
