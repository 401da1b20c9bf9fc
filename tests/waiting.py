"""Waiting for another process or thread: a server that must answer, work that must be done.

One helper for every readiness wait of the tests and the benchmarks: a single deadline for the
whole wait (generous, because the machines running ``make test`` are shared and often loaded),
any connection error retried (a refused connection, a read that timed out while a worker is
still importing the app), a server process that died noticed at once, and a failure that says
what was awaited and the last error seen. Servers listen on sockets bound here to port 0, so
two runs of the suite at once never pick the same port.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from collections.abc import Iterable
from typing import TypeVar

import requests

DEADLINE_SECONDS = 60.0
INTERVAL_SECONDS = 0.2
REQUEST_SECONDS = 5.0

T = TypeVar("T")


class NotReady(AssertionError):
    """What was awaited did not happen before the deadline."""


def wait_until(check: Callable[[], T], what: str, *, timeout: float = DEADLINE_SECONDS,
               interval: float = INTERVAL_SECONDS,
               processes: Iterable[subprocess.Popen[bytes]] = ()) -> T:
    """Call ``check`` until it returns a true value (returned) or the deadline passes.

    ``requests.RequestException`` and ``OSError`` from ``check`` count as "not yet". If one of
    ``processes`` exits meanwhile, waiting stops with its exit status.

    :raise NotReady: with ``what``, the time waited and the last error.
    """
    watched = list(processes)
    started = time.monotonic()
    deadline = started + timeout
    last: BaseException | None = None
    while True:
        for proc in watched:
            if proc.poll() is not None:
                raise NotReady(f"{what}: the process {proc.args!r} exited with status "
                               f"{proc.returncode} after {time.monotonic() - started:.1f} s")
        try:
            result = check()
        except (requests.RequestException, OSError) as exc:
            last = exc
        else:
            if result:
                return result
            last = None
        if time.monotonic() >= deadline:
            cause = f"; last error: {last!r}" if last is not None else ""
            raise NotReady(f"{what}: not ready after {timeout:.0f} s{cause}")
        time.sleep(interval)


def wait_for_http(url: str, what: str, *, timeout: float = DEADLINE_SECONDS,
                  processes: Iterable[subprocess.Popen[bytes]] = ()) -> requests.Response:
    """Wait until ``url`` answers a GET with a status below 500."""

    def answered() -> requests.Response | None:
        resp = requests.get(url, timeout=REQUEST_SECONDS)
        return resp if resp.status_code < 500 else None

    return wait_until(answered, what, timeout=timeout, processes=processes)


def listening_socket() -> socket.socket:
    """A TCP socket listening on 127.0.0.1 at a port the system chose, that a child process
    may inherit (gunicorn ``--bind fd://N`` with ``pass_fds``)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock
