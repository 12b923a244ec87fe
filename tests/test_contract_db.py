"""Notebook 07's contract against a real ``python -m tutorial_src --db <file>`` process: the README's session
("Sessions that end"), 20 concurrent refreshes of one token, a replayed token, a restart on the same file, a
locked database and a file that is no database."""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
from test_main import free_port, wait_until_ready

from tutorial_src.demo import DEMO_USERS

SECRET = "a-secret-that-outlives-the-process-0123456789"
BOB = {"email": "bob@example.com", "password": "a long passphrase of my own"}
NEW_PASSWORD = "another passphrase, longer"


class Server:
    """``python -m tutorial_src --db path`` on a free port; ``stop`` with Ctrl+C, as a user would."""

    def __init__(self, db: Path, log: Path) -> None:
        self.db = db
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log.open("a")
        env = {**os.environ, "JWT_SECRET": SECRET, "PYTHONUNBUFFERED": "1"}
        env.pop("JWT_TUTORIAL_DB", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tutorial_src", "--db", str(db), "--port", str(self.port)],
            stdout=self.log,
            stderr=self.log,
            env=env,
        )
        wait_until_ready(self.url + "/", self.process)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()

    def post(self, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.post(self.url + path, headers=headers, timeout=30, **kwargs)

    def get_user(self, token: str) -> requests.Response:
        return requests.get(self.url + "/get-user", headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def refresh(self, refresh_token: str) -> requests.Response:
        return self.post("/refresh", json={"refresh_token": refresh_token})

    def log_in(self, email: str = BOB["email"], password: str = BOB["password"]) -> dict:
        response = self.post("/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "contract.db"


@pytest.fixture
def server(db, tmp_path):
    server = Server(db, tmp_path / "server.log")
    yield server
    server.stop()


def test_the_readme_session(server, tmp_path):
    log = (tmp_path / "server.log").read_text()
    assert f"Database: {server.db} (SQLite; users and sessions survive a restart)" in log
    weak = server.post("/register", json={"email": BOB["email"], "password": "hunter2"})
    assert (weak.status_code, weak.text) == (
        400,
        '{"error": "weak_password", "message": "a password needs at least 15 characters, this one has 7 '
        '(NIST SP 800-63B-4 \\u00a73.1.1.2)"}',
    )
    created = server.post("/register", json=BOB)
    assert (created.status_code, created.text) == (201, '{"id": 3, "email": "bob@example.com"}')
    taken = server.post("/register", json=BOB)
    assert (taken.status_code, taken.json()["error"]) == (409, "email_taken")

    tokens = server.log_in()
    assert list(tokens) == ["access_token", "token_type", "expires_in", "refresh_token"]
    refreshed = server.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 200
    token, refresh = refreshed.json()["access_token"], refreshed.json()["refresh_token"]
    assert refresh != tokens["refresh_token"]

    as_bearer = server.get_user(refresh)
    assert (as_bearer.status_code, as_bearer.json()["error"]) == (401, "invalid_token")
    access_as_refresh = server.refresh(token)
    assert access_as_refresh.text == (
        '{"error": "invalid_grant", "message": "the refresh token is unknown, expired or revoked; log in again"}'
    )
    assert access_as_refresh.status_code == 400

    other = server.log_in()
    body = {"current_password": BOB["password"], "new_password": NEW_PASSWORD}
    assert server.post("/password", token, json=body).status_code == 204
    assert server.get_user(other["access_token"]).status_code == 401  # every other session ended
    assert server.get_user(token).status_code == 200

    assert server.post("/logout", token).status_code == 204
    assert server.get_user(token).text == '{"error": "invalid_token", "message": "the token has been revoked"}'
    assert server.refresh(refresh).status_code == 400

    first, second = server.log_in(password=NEW_PASSWORD), server.log_in(password=NEW_PASSWORD)
    assert server.post("/logout-all", second["access_token"]).status_code == 204
    for tokens in (first, second):
        assert server.get_user(tokens["access_token"]).status_code == 401
        assert server.refresh(tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_20_concurrent_refreshes_of_one_token_yield_at_most_one_new_token(server):
    email, password, _ = DEMO_USERS[0]
    token = server.log_in(email, password)["refresh_token"]
    start = threading.Barrier(20)

    def refresh() -> requests.Response:
        start.wait()
        return server.refresh(token)

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: refresh(), range(20)))
    successors = {answer.json()["refresh_token"] for answer in answers if answer.status_code == 200}
    assert len(successors) == 1
    assert all(answer.json()["error"] == "invalid_grant" for answer in answers if answer.status_code != 200)


def test_a_replayed_token_revokes_the_family(server):
    email, password, _ = DEMO_USERS[0]
    first = server.log_in(email, password)
    second = server.refresh(first["refresh_token"]).json()
    third = server.refresh(second["refresh_token"]).json()
    assert server.get_user(third["access_token"]).status_code == 200
    # The first token again: its successor is spent, so this is a copy in other hands, grace or not.
    replay = server.refresh(first["refresh_token"])
    assert replay.status_code == 400 and "revoked" in replay.json()["message"]
    assert server.get_user(third["access_token"]).status_code == 401  # right after
    assert server.refresh(third["refresh_token"]).status_code == 400


def test_a_restart_on_the_same_file_keeps_users_and_refresh_tokens(db, tmp_path):
    server = Server(db, tmp_path / "first.log")
    try:
        assert server.post("/register", json=BOB).status_code == 201
        tokens = server.log_in()
    finally:
        server.stop()
    server = Server(db, tmp_path / "second.log")
    try:
        assert server.get_user(tokens["access_token"]).status_code == 200  # same JWT_SECRET, same user
        refreshed = server.refresh(tokens["refresh_token"])
        assert refreshed.status_code == 200, refreshed.text
        assert server.log_in()["token_type"] == "Bearer"
        assert server.post("/register", json=BOB).status_code == 409
    finally:
        server.stop()
    with contextlib.closing(sqlite3.connect(db)) as connection:  # the demo users were created once
        emails = [email for (email,) in connection.execute("SELECT email FROM users ORDER BY id")]
    assert emails == [email for email, _, _ in DEMO_USERS] + [BOB["email"]]


def test_a_locked_database_is_503_json_never_500(server, db):
    email, password, _ = DEMO_USERS[0]
    tokens = server.log_in(email, password)
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as holder:
        holder.execute("BEGIN IMMEDIATE")
        try:
            answers = [
                server.post("/register", json=BOB),
                server.refresh(tokens["refresh_token"]),
                server.post("/logout", tokens["access_token"]),
            ]
        finally:
            holder.execute("ROLLBACK")
    for answer in answers:
        assert answer.status_code == 503 and answer.headers["Content-Type"].startswith("application/json")
        assert answer.json()["error"] == "temporarily_unavailable" and answer.headers["Retry-After"] == "1"
    assert server.get_user(tokens["access_token"]).status_code == 401  # the failed logout denied it anyway


def test_a_file_that_is_no_database_stops_the_server_with_a_message(tmp_path):
    db = tmp_path / "notes.txt"
    db.write_text("not a database " * 100)
    env = {**os.environ, "JWT_SECRET": SECRET}
    done = subprocess.run(
        [sys.executable, "-m", "tutorial_src", "--db", str(db), "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 1
    assert f"error: the database {db} cannot be used: file is not a database" in done.stderr
    assert "Traceback" not in done.stderr
