"""Waiting for a server the tests started: an overall deadline, any connection error retried."""

from __future__ import annotations

import socket
import subprocess
import time

import requests

DEADLINE_SECONDS = 90.0


def wait_for_port(host: str, port: int, what: str, proc: subprocess.Popen[bytes] | None = None,
                  deadline: float = DEADLINE_SECONDS) -> None:
    """Until ``host:port`` accepts a connection (fails early if ``proc`` exits)."""
    end = time.monotonic() + deadline
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection((host, port), timeout=2):
                return
        except OSError:
            if time.monotonic() > end:
                raise RuntimeError(f"{what} not listening on {host}:{port} after {deadline:.0f} s") from None
            time.sleep(0.2)


def wait_for_http(url: str, what: str, proc: subprocess.Popen[bytes] | None = None,
                  deadline: float = DEADLINE_SECONDS) -> requests.Response:
    """Until ``url`` answers anything below 500 (any request error is retried)."""
    end = time.monotonic() + deadline
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before answering {url}")
        try:
            resp = requests.get(url, timeout=5)
            if resp.status_code < 500:
                return resp
        except requests.RequestException:
            pass
        if time.monotonic() > end:
            raise RuntimeError(f"{what} did not answer {url} within {deadline:.0f} s")
        time.sleep(0.3)
