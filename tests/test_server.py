"""tutorial_src.lab.server: the background server of the notebooks - one per process, nothing left behind."""

from __future__ import annotations

import socket
import threading

import pytest
import requests
from aiohttp import web
from conftest import ALICE

from tutorial_src.app import create_app
from tutorial_src.errors import ServerError
from tutorial_src.lab.server import BackgroundServer, start_server, stop_server

# A guard against hanging forever, never a measurement: every wait below ends as soon as its event happens.
TIMEOUT = 10


def server_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "tutorial-server"]


@pytest.fixture(autouse=True)
def no_server_left():
    yield
    stop_server()
    assert server_threads() == []


@pytest.fixture
def make_app(settings, users):
    return lambda: create_app(settings, users)


def port_is_free(port: int, *, reuse_address: bool = False) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        if reuse_address:
            # What every server sets; it still refuses a port that something listens on.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


# --- one server per process ---------------------------------------------------------------------------------


def test_three_starts_leave_exactly_one_server_thread(make_app):
    first = start_server(make_app())
    second = start_server(make_app())
    third = start_server(make_app())
    assert len(server_threads()) == 1
    assert not first.running and not second.running and third.running
    assert requests.get(third.url + "/", timeout=TIMEOUT).status_code == 200


def test_starting_the_served_app_again_returns_the_running_server(app):
    # Re-running the notebook cell `server = start_server(app)` must not fail.
    server = start_server(app)
    assert start_server(app) is server
    assert server.running and len(server_threads()) == 1


def test_a_stopped_app_cannot_be_served_again_and_the_running_server_survives(make_app):
    old_app = make_app()
    start_server(old_app)
    running = start_server(make_app())
    with pytest.raises(ServerError, match=r"already served once.*create_app"):
        start_server(old_app)
    assert running.running
    assert requests.get(running.url + "/", timeout=TIMEOUT).status_code == 200


def test_stop_server_twice_is_fine(app):
    start_server(app)
    stop_server()
    stop_server()
    assert server_threads() == []


def test_stop_server_without_a_server_is_fine():
    stop_server()


def test_stop_twice_is_fine(app):
    server = start_server(app)
    server.stop()
    server.stop()
    assert not server.running


# --- nothing left behind ------------------------------------------------------------------------------------


def test_after_stop_no_thread_remains_and_the_port_is_free(app):
    server = start_server(app)
    port = server.port
    assert not port_is_free(port, reuse_address=True)  # the check can see a listening socket
    stop_server()
    assert server_threads() == []
    assert port_is_free(port)


def test_after_requests_the_listening_socket_is_closed_too(app):
    server = start_server(app)
    port = server.port
    with requests.Session() as session:  # keeps a connection open across stop()
        assert session.get(server.url + "/", timeout=TIMEOUT).status_code == 200
        server.stop()
    assert server_threads() == []
    # Closed connections may linger in TIME_WAIT; SO_REUSEADDR ignores those but not a listener.
    assert port_is_free(port, reuse_address=True)


# --- the object ---------------------------------------------------------------------------------------------


def test_context_manager(app):
    with BackgroundServer(app) as server:
        assert server.running
        assert len(server_threads()) == 1
        assert requests.get(server.url + "/", timeout=TIMEOUT).json()["user"] is None
    assert not server.running
    assert server_threads() == []


def test_repr_has_no_port(app):
    server = start_server(app)
    port = str(server.port)
    assert repr(server) == "<BackgroundServer on 127.0.0.1, running>"
    assert port not in repr(server) and port not in str(server)
    server.stop()
    assert repr(server) == "<BackgroundServer on 127.0.0.1, stopped>"


def test_url_before_start_raises(app):
    server = BackgroundServer(app)
    with pytest.raises(ServerError, match="not running"):
        _ = server.url  # the property raises


def test_url_after_stop_raises(app):
    server = start_server(app)
    assert server.url.startswith("http://127.0.0.1:")
    assert not server.url.endswith("/")
    stop_server()
    with pytest.raises(ServerError, match="not running"):
        _ = server.url  # the property raises


def test_server_error_is_a_runtime_error():
    assert issubclass(ServerError, RuntimeError)


# --- failures to start --------------------------------------------------------------------------------------


def test_app_whose_startup_raises_gives_a_clear_server_error():
    async def broken_startup(app):
        raise RuntimeError("database unreachable")

    app = web.Application()
    app.on_startup.append(broken_startup)
    with pytest.raises(ServerError) as caught:
        start_server(app)
    assert str(caught.value) == "the server could not start: database unreachable"
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert server_threads() == []


def test_failed_listen_still_cleans_up_the_app(monkeypatch):
    # The app started (on_startup ran) but the socket could not listen: its on_cleanup must run too.
    async def cannot_listen(self):
        raise OSError("address not available")

    monkeypatch.setattr(web.TCPSite, "start", cannot_listen)
    cleaned = []

    async def on_cleanup(app):
        cleaned.append(True)

    app = web.Application()
    app.on_cleanup.append(on_cleanup)
    with pytest.raises(ServerError, match="could not start: address not available"):
        start_server(app)
    assert cleaned == [True]
    assert server_threads() == []


def test_start_that_times_out_leaves_no_thread_behind():
    gate = threading.Event()
    cleaned = threading.Event()

    async def blocked_startup(app):
        gate.wait(TIMEOUT)  # blocks the server's loop until the test opens the gate

    async def on_cleanup(app):
        cleaned.set()

    app = web.Application()
    app.on_startup.append(blocked_startup)
    app.on_cleanup.append(on_cleanup)
    server = BackgroundServer(app, timeout=0.2)
    with pytest.raises(ServerError, match=r"did not start within 0\.2 s"):
        server.start()
    [thread] = server_threads()
    gate.set()
    thread.join(TIMEOUT)
    assert not thread.is_alive()  # it noticed start() gave up, cleaned up and ended
    assert cleaned.is_set()
    assert not server.running
    with pytest.raises(ServerError):
        _ = server.url  # the property raises


# --- real HTTP ----------------------------------------------------------------------------------------------


def test_real_http_with_requests(app):
    server = start_server(app)
    credentials = {"email": ALICE[0], "password": ALICE[1]}
    response = requests.post(server.url + "/login", json=credentials, timeout=TIMEOUT)
    assert response.status_code == 200
    token = response.json()["access_token"]
    me = requests.get(server.url + "/get-user", headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)
    assert me.status_code == 200
    assert me.json()["user"] == "User id=1: <alice@example.com, is_admin=False>"
    anonymous = requests.get(server.url + "/get-user", timeout=TIMEOUT)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "authentication_required"
