"""The README's deployment: gunicorn with two aiohttp workers sharing ``JWT_SECRET``.

Each worker is its own process with its own ``create_app()``: a token one worker signs must verify in the
other, which holds only if both read the same secret. The test logs in 20 times and calls ``/get-user`` with
each token, each request on a new connection so that either worker may answer; every call must succeed.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
import requests
from test_main import free_port, wait_until_ready

from tutorial_src.demo import DEMO_USERS

pytest.importorskip("gunicorn")
if sys.platform == "win32":  # pragma: no cover - gunicorn is POSIX only
    pytest.skip("gunicorn runs on POSIX systems only", allow_module_level=True)

SHARED_SECRET = "a-shared-secret-for-both-workers-0123456789"
READY_TIMEOUT = 120  # seconds: two workers each import aiohttp and hash the demo passwords


@contextlib.contextmanager
def two_workers(tmp_path, env: dict[str, str], options: list[str]) -> Iterator[str]:
    """The README's command (gunicorn, two aiohttp workers) on loopback and a free port, with ``env`` on top of
    this process's environment and gunicorn ``options``; yields the base URL. No traceback may reach its log."""
    port = free_port()
    # XDG_RUNTIME_DIR: gunicorn >= 25.1 puts its control socket there (else in ~/.gunicorn, shared by every run).
    env = {**os.environ, "JWT_SECRET": SHARED_SECRET, "XDG_RUNTIME_DIR": str(tmp_path), **env}
    log = (tmp_path / "gunicorn.log").open("w+")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "tutorial_src.app:create_app()",
            "--worker-class",
            "aiohttp.GunicornWebWorker",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--graceful-timeout",
            "10",
            *options,
        ],
        stdout=log,
        stderr=log,
        env=env,
    )
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/", process, timeout=READY_TIMEOUT)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.seek(0)
        output = log.read()
        log.close()
        assert "Traceback" not in output, output


@pytest.fixture
def gunicorn_url(tmp_path):
    with two_workers(tmp_path, {}, []) as url:
        yield url


def test_tokens_work_whichever_worker_answers(gunicorn_url):
    email, password, _ = DEMO_USERS[0]
    for _ in range(20):
        # requests.post/get without a Session: a new connection each time, so either worker may take it.
        login = requests.post(f"{gunicorn_url}/login", json={"email": email, "password": password}, timeout=60)
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        response = requests.get(
            f"{gunicorn_url}/get-user", headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
        assert response.status_code == 200, response.text
        assert response.json()["user"] == "User id=1: <alice@example.com, is_admin=False>"


# --- two workers sharing JWT_TUTORIAL_DB: a logout through one reaches the other within the poll's bound --------

#: How long the test waits for both workers to refuse a token logged out (Settings.revocation_poll is 0.5 s;
#: this is a bound for a loaded machine, not a timing assertion).
REVOCATION_BOUND = 60.0


@pytest.fixture
def shared_db_gunicorn(tmp_path):
    access_log = tmp_path / "access.log"
    env = {"JWT_TUTORIAL_DB": str(tmp_path / "shared.db")}
    # aiohttp's access log format: %P is the pid of the worker that answered.
    options = ["--access-logfile", str(access_log), "--access-logformat", "%P %s %r"]
    with two_workers(tmp_path, env, options) as url:
        yield url, access_log


def answered_by(url: str, token: str, access_log) -> tuple[str, int]:
    """GET /get-user with ``token`` on a new connection: (pid of the worker that answered, status)."""
    probe = uuid.uuid4().hex  # names this request's line in the access log
    response = requests.get(
        f"{url}/get-user", params={"probe": probe}, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the worker writes its line just after answering
        for line in access_log.read_text().splitlines():
            if probe in line:
                pid, status, _ = line.split(" ", 2)
                assert int(status) == response.status_code
                return pid, response.status_code
        time.sleep(0.01)
    raise AssertionError("no access log line for the request")


def test_a_logout_through_one_worker_is_refused_by_both(shared_db_gunicorn):
    url, access_log = shared_db_gunicorn
    email, password, _ = DEMO_USERS[0]
    login = requests.post(f"{url}/login", json={"email": email, "password": password}, timeout=60)
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    accepted: set[str] = set()
    for _ in range(200):  # until both workers have accepted the token (and cached it)
        pid, status = answered_by(url, token, access_log)
        assert status == 200
        accepted.add(pid)
        if len(accepted) == 2:
            break
    assert len(accepted) == 2, "one worker answered every request"

    logout = requests.post(f"{url}/logout", headers={"Authorization": f"Bearer {token}"}, timeout=60)
    assert logout.status_code == 204
    refused: set[str] = set()
    deadline = time.monotonic() + REVOCATION_BOUND
    while refused != accepted and time.monotonic() < deadline:
        pid, status = answered_by(url, token, access_log)
        if status == 401:
            refused.add(pid)
        else:  # the other worker, before its next poll
            assert status == 200 and pid not in refused
    assert refused == accepted
    assert {answered_by(url, token, access_log)[1] for _ in range(20)} == {401}
