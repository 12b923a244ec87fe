"""The README's deployment: gunicorn with two aiohttp workers sharing ``JWT_SECRET``.

Each worker is its own process with its own ``create_app()``: a token one worker signs must verify in the
other, which holds only if both read the same secret. The test logs in 20 times and calls ``/get-user`` with
each token, each request on a new connection so that either worker may answer; every call must succeed.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests
from test_main import free_port, wait_until_ready

from tutorial_src.demo import DEMO_USERS

pytest.importorskip("gunicorn")
if sys.platform == "win32":  # pragma: no cover - gunicorn is POSIX only
    pytest.skip("gunicorn runs on POSIX systems only", allow_module_level=True)

SHARED_SECRET = "a-shared-secret-for-both-workers-0123456789"
READY_TIMEOUT = 120  # seconds: two workers each import aiohttp and hash the demo passwords


@pytest.fixture
def gunicorn_url(tmp_path):
    port = free_port()
    # XDG_RUNTIME_DIR: gunicorn >= 25.1 puts its control socket there (else in ~/.gunicorn, shared by every run).
    env = {**os.environ, "JWT_SECRET": SHARED_SECRET, "XDG_RUNTIME_DIR": str(tmp_path)}
    log = (tmp_path / "gunicorn.log").open("w+")
    # The README's command, on loopback and a free port.
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
