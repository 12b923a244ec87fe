"""The demo users every ``create_app()`` starts with, the same in every process.

Each gunicorn worker builds its own store, so the accounts must come out identical everywhere: fixed emails,
passwords and order (ids 1 and 2). The passwords are public on purpose - this is a demo.
"""

from __future__ import annotations

from .models import UserStore
from .settings import Settings

DEMO_USERS: list[tuple[str, str, bool]] = [
    # (email, password, is_admin)
    ("alice@example.com", "correct horse battery staple", False),
    ("admin@example.com", "admin password of the demo", True),
]


def demo_user_store(settings: Settings) -> UserStore:
    """A store holding ``DEMO_USERS``: alice (id 1, not an admin) and admin (id 2, an admin)."""
    users = UserStore.from_settings(settings)
    for email, password, is_admin in DEMO_USERS:
        users.create(email, password, is_admin=is_admin)
    return users
