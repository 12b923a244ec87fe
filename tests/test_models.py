"""tutorial_src.models: ``User`` and ``UserStore`` (hashing, look-ups, and authentication that leaks nothing)."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import argon2
import pytest
from argon2 import PasswordHasher
from conftest import ALICE

from tutorial_src.errors import InvalidCredentials, UserExists
from tutorial_src.models import User, UserStore
from tutorial_src.passwords import password_hasher


class CountingHasher(PasswordHasher):
    """A real argon2 hasher that records every ``verify`` call: ``(hash, password)``."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.verified: list[tuple[str, str]] = []

    def verify(self, hash, password):
        self.verified.append((hash, password))
        return super().verify(hash, password)


@pytest.fixture
def hasher(settings) -> CountingHasher:
    base = password_hasher(settings)
    return CountingHasher(time_cost=base.time_cost, memory_cost=base.memory_cost, parallelism=base.parallelism)


@pytest.fixture
def store(hasher) -> UserStore:
    store = UserStore(hasher)
    store.create(*ALICE)
    return store


# --- User ---------------------------------------------------------------------------------------------------


def test_user_str_is_the_articles_format():
    user = User(id=1, email="alice@example.com", password_hash="$argon2id$…")
    assert str(user) == "User id=1: <alice@example.com, is_admin=False>"
    admin = dataclasses.replace(user, id=2, is_admin=True)
    assert str(admin) == "User id=2: <alice@example.com, is_admin=True>"


def test_public_dict_has_no_password_hash():
    user = User(id=1, email="alice@example.com", password_hash="$argon2id$…")
    assert user.to_public_dict() == {"id": 1, "email": "alice@example.com", "is_admin": False}


def test_user_is_frozen():
    user = User(id=1, email="alice@example.com", password_hash="h")
    with pytest.raises(dataclasses.FrozenInstanceError):
        user.is_admin = True


# --- UserStore: creating and finding ------------------------------------------------------------------------


def test_create_assigns_ids_from_one(users):
    assert [user.id for user in users.all()] == [1, 2]
    assert [user.email for user in users.all()] == ["alice@example.com", "admin@example.com"]
    assert [user.is_admin for user in users.all()] == [False, True]
    assert len(users) == 2


def test_create_lowercases_and_strips_the_email(settings):
    store = UserStore.from_settings(settings)
    user = store.create("  Bob@Example.COM ", "pw")
    assert user.email == "bob@example.com"


def test_get_by_id(users):
    assert users.get_by_id(1).email == "alice@example.com"
    assert users.get_by_id(99) is None


@pytest.mark.parametrize(
    "email", ["alice@example.com", "ALICE@EXAMPLE.COM", "Alice@Example.com", " alice@example.com "]
)
def test_get_by_email_is_case_insensitive(users, email):
    assert users.get_by_email(email).id == 1


def test_get_by_email_unknown(users):
    assert users.get_by_email("nobody@example.com") is None


def test_create_refuses_an_existing_email_in_any_case(users):
    with pytest.raises(UserExists, match=r"alice@example\.com"):
        users.create("ALICE@example.com", "another password")
    assert len(users) == 2


def test_delete(users):
    assert users.delete(1) is True
    assert users.get_by_id(1) is None
    assert users.get_by_email("alice@example.com") is None
    assert users.delete(1) is False
    assert [user.id for user in users.all()] == [2]


def test_ids_are_never_reused_after_delete(users):
    # A token issued to a deleted user must not start working for whoever registers next.
    users.delete(2)
    assert users.create("carol@example.com", "pw").id == 3


def test_all_is_in_id_order(settings):
    store = UserStore.from_settings(settings)
    for name in ("c", "a", "b"):
        store.create(f"{name}@example.com", "pw")
    assert [user.id for user in store.all()] == [1, 2, 3]


def test_concurrent_creates_get_unique_ids(settings):
    store = UserStore.from_settings(settings)
    with ThreadPoolExecutor(max_workers=4) as pool:
        created = list(pool.map(lambda n: store.create(f"user{n}@example.com", "pw"), range(20)))
    assert sorted(user.id for user in created) == list(range(1, 21))


def test_concurrent_creates_of_one_email_make_one_user(settings):
    store = UserStore.from_settings(settings)

    def attempt(_):
        try:
            return store.create("same@example.com", "pw")
        except UserExists:
            return None

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(attempt, range(8)))
    assert sum(result is not None for result in results) == 1
    assert len(store) == 1


def test_get_by_email_is_safe_while_another_thread_adds_a_user(settings):
    # "Safe to use from several threads": get_by_email (so every login) iterated over the users without the
    # lock, and a create in another thread meanwhile raised "dictionary changed size during iteration".
    import threading

    store = UserStore.from_settings(settings)
    writer = threading.Thread(target=store.create, args=("bob@example.com", "pw"))

    class AddsAUserWhenCompared(str):
        __hash__ = str.__hash__

        def __eq__(self, other):
            if not writer.is_alive() and writer.ident is None:
                writer.start()
                writer.join(timeout=0.5)  # with the lock held by the lookup, the create waits until it ends
            return str.__eq__(self, other)

    store._by_id[99] = User(id=99, email=AddsAUserWhenCompared("alice@example.com"), password_hash="x")
    assert store.get_by_email("nobody@example.com") is None
    writer.join(timeout=5)
    assert store.get_by_email("bob@example.com") is not None


# --- passwords are stored as argon2id hashes ----------------------------------------------------------------


def test_passwords_are_stored_as_argon2id_hashes(users, settings):
    user = users.get_by_id(1)
    assert user.password_hash.startswith("$argon2id$")
    assert ALICE[1] not in user.password_hash
    params = argon2.extract_parameters(user.password_hash)
    assert params.type is argon2.Type.ID
    assert (params.time_cost, params.memory_cost, params.parallelism) == (
        settings.argon2_time_cost,
        settings.argon2_memory_cost,
        settings.argon2_parallelism,
    )
    assert PasswordHasher().verify(user.password_hash, ALICE[1])


def test_the_same_password_gets_a_different_hash_each_time(settings):
    store = UserStore.from_settings(settings)
    a = store.create("a@example.com", "same password")
    b = store.create("b@example.com", "same password")
    assert a.password_hash != b.password_hash  # a random salt per hash


# --- authenticate -------------------------------------------------------------------------------------------


def test_authenticate_returns_the_user(users):
    assert users.authenticate(*ALICE).id == 1
    assert users.authenticate("ALICE@example.com", ALICE[1]).id == 1


def test_unknown_email_and_wrong_password_raise_the_same_error(store):
    with pytest.raises(InvalidCredentials) as unknown:
        store.authenticate("nobody@example.com", ALICE[1])
    with pytest.raises(InvalidCredentials) as wrong:
        store.authenticate(ALICE[0], "wrong password")
    assert type(unknown.value) is type(wrong.value)
    assert str(unknown.value) == str(wrong.value) == "invalid email or password"
    # Neither error chains to the argon2 exception that would tell the two apart.
    assert unknown.value.__cause__ is None and wrong.value.__cause__ is None
    assert unknown.value.__suppress_context__ and wrong.value.__suppress_context__


def test_unknown_email_and_wrong_password_cost_the_same_hashing_work(store, hasher):
    # One argon2 verification each, against hashes with identical cost parameters: the same work, so the
    # response time does not say whether the email has an account. Counted, not timed.
    hasher.verified.clear()
    with pytest.raises(InvalidCredentials):
        store.authenticate("nobody@example.com", "a password")
    unknown_calls = list(hasher.verified)
    hasher.verified.clear()
    with pytest.raises(InvalidCredentials):
        store.authenticate(ALICE[0], "a password")
    wrong_calls = list(hasher.verified)

    assert len(unknown_calls) == len(wrong_calls) == 1
    unknown_hash, wrong_hash = unknown_calls[0][0], wrong_calls[0][0]
    assert argon2.extract_parameters(unknown_hash) == argon2.extract_parameters(wrong_hash)
    assert wrong_hash == store.get_by_email(ALICE[0]).password_hash


def test_successful_login_costs_one_verification_too(store, hasher):
    hasher.verified.clear()
    store.authenticate(*ALICE)
    assert len(hasher.verified) == 1


def test_unknown_email_with_the_dummy_password_is_still_refused(store):
    # The unknown-email path verifies against a dummy hash; guessing its password must not log anyone in.
    with pytest.raises(InvalidCredentials):
        store.authenticate("nobody@example.com", "not-a-real-password")


def test_deleted_user_cannot_authenticate(users):
    users.delete(1)
    with pytest.raises(InvalidCredentials):
        users.authenticate(*ALICE)


def test_an_invalid_stored_hash_is_refused_not_crashed(settings):
    store = UserStore.from_settings(settings)
    user = store.create("broken@example.com", "pw")
    store._by_id[user.id] = dataclasses.replace(user, password_hash="not an argon2 hash")
    with pytest.raises(InvalidCredentials):
        store.authenticate("broken@example.com", "pw")
