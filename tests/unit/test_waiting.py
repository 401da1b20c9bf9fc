"""The readiness wait every server test uses (tests/waiting.py): one deadline, every
connection error retried, a dead server process noticed, a message that says what failed."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests

from tests import waiting
from tests.waiting import NotReady
from tests.waiting import listening_socket
from tests.waiting import wait_for_http
from tests.waiting import wait_until


@contextmanager
def slow_server(answers_after: float) -> Iterator[str]:
    """A server that accepts connections at once but answers only after ``answers_after``
    seconds, like gunicorn whose workers are still importing the app on a loaded machine."""
    listener = listening_socket()
    listener.settimeout(0.1)
    ready_at = time.monotonic() + answers_after
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _addr = listener.accept()
            except TimeoutError:
                continue
            if time.monotonic() < ready_at:
                held.append(conn)  # accepted, never answered
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/login"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()


def _wait_before_issue_10(url: str) -> None:
    """The wait of tests/failures/test_failures.py before issue 10 #16, for comparison."""
    for _ in range(100):
        try:
            requests.get(url, timeout=2)
            break
        except requests.ConnectionError:
            time.sleep(0.2)


def test_a_server_that_accepts_before_it_answers_is_waited_for(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with slow_server(answers_after=2.5) as url, pytest.raises(requests.ReadTimeout):
        _wait_before_issue_10(url)  # how `make test` failed on a loaded machine
    monkeypatch.setattr(waiting, "REQUEST_SECONDS", 1.0)
    with slow_server(answers_after=2.5) as url:
        assert wait_for_http(url, "the slow server").text == "ok"


def test_a_server_that_is_not_listening_yet_is_waited_for() -> None:
    with listening_socket() as probe:
        port = probe.getsockname()[1]  # closed again: connections are refused for now
    url = f"http://127.0.0.1:{port}/login"
    started: list[threading.Thread] = []
    late = threading.Timer(1.0, lambda: started.append(_answer_once(port)))
    late.start()
    try:
        assert wait_for_http(url, "the late server").text == "ok"
    finally:
        late.cancel()
        for t in started:
            t.join(timeout=5)


def _answer_once(port: int) -> threading.Thread:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(8)

    def serve() -> None:
        with sock:
            conn, _addr = sock.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_a_server_process_that_dies_ends_the_wait_at_once() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(3)"])
    with listening_socket() as probe:
        port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(NotReady, match="gunicorn serving the sign-in page: the process .* exited with status 3"):
        wait_for_http(f"http://127.0.0.1:{port}/login", "gunicorn serving the sign-in page",
                      processes=[proc])
    assert time.monotonic() - started < 10


def test_the_deadline_is_for_the_whole_wait_and_names_the_last_error() -> None:
    calls: list[float] = []

    def refused() -> bool:
        calls.append(time.monotonic())
        raise ConnectionRefusedError(111, "Connection refused")

    started = time.monotonic()
    with pytest.raises(NotReady, match=r"the SMTP server: not ready after 1 s; last error: "
                                       r"ConnectionRefusedError"):
        wait_until(refused, "the SMTP server", timeout=1.0, interval=0.1)
    assert 1.0 <= time.monotonic() - started < 5 and len(calls) >= 5
