"""Shared fixtures: cheap settings, a user store with alice (id 1) and an admin (id 2), the app and a client."""

from __future__ import annotations

import pytest

from tutorial_src.app import create_app
from tutorial_src.models import UserStore
from tutorial_src.settings import Settings, fast_test_settings

TEST_SECRET = "test-secret-that-is-at-least-32-bytes-long"
ALICE = ("alice@example.com", "alice password")
ADMIN = ("admin@example.com", "admin password")


@pytest.fixture
def settings() -> Settings:
    return fast_test_settings(jwt_secret=TEST_SECRET)


@pytest.fixture
def users(settings: Settings) -> UserStore:
    store = UserStore.from_settings(settings)
    store.create(*ALICE)
    store.create(*ADMIN, is_admin=True)
    return store


@pytest.fixture
def app(settings, users):
    return create_app(settings, users)


@pytest.fixture
async def client(aiohttp_client, app):
    return await aiohttp_client(app)


@pytest.fixture
def dead_proxy_env(monkeypatch):
    """Every proxy variable points at a dead proxy (port 9, where nothing listens) and nothing is exempt.

    A request sent through it fails with ``ProxyError``; monkeypatch puts every variable back afterwards.
    """
    from tutorial_src.lab.server import stop_server
    from tutorial_src.lab.setupcheck import DEAD_PROXY, PROXY_VARIABLES

    for name in PROXY_VARIABLES:
        monkeypatch.setenv(name, DEAD_PROXY)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    yield
    stop_server()
