"""The journey of bench/locustfile.py against several web nodes (run by bench/cluster.py).

Each user talks to one node (round-robin over ``MEDREG_CLUSTER_NODES``) from an address of its
own (``X-Forwarded-For``, the nodes trust one proxy hop: the rate limits count per person, in
Redis). A request whose connection fails or that gets a 5xx answer is sent once more to the next
node, as a browser does when the person reloads behind a load balancer, and the user stays there.
Every acknowledged submission (a redirect after a posted form) is written to
``MEDREG_CLUSTER_ACKS`` with its idempotency token; every retry to ``MEDREG_CLUSTER_RETRIES``.
``MEDREG_CLUSTER_SATURATE=1`` drops the think times (throughput phases).
"""

from __future__ import annotations

import itertools
import json
import os
import threading
from typing import Any

from locust import constant
from locust.clients import HttpSession
from requests import RequestException
from requests import Response
from requests import Session

import bench.locustfile as journey

NODES = os.environ["MEDREG_CLUSTER_NODES"].split(",")
ACKS = os.environ["MEDREG_CLUSTER_ACKS"]
RETRIES = os.environ["MEDREG_CLUSTER_RETRIES"]
SATURATE = os.environ.get("MEDREG_CLUSTER_SATURATE") == "1"
journey._next_physician = itertools.count(int(os.environ.get("MEDREG_CLUSTER_FIRST", "0")))
_users = itertools.count()
_addresses = itertools.count(1)
_lock = threading.Lock()


def _append(path: str, row: dict[str, Any]) -> None:
    with _lock, open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _address() -> str:
    n = next(_addresses)
    return f"10.{os.getpid() % 250}.{n // 250 % 250}.{n % 250 + 1}"


class FailoverSession(HttpSession):
    """locust's client, with the one retry on the next node a reloading browser makes."""

    def __init__(self, node: int, *args: Any, **kwargs: Any) -> None:
        super().__init__(NODES[node], *args, **kwargs)
        self.node = node
        self.trust_env = False
        self.headers["X-Forwarded-For"] = _address()

    def _send_request_safe_mode(self, method: str, url: str, **kwargs: Any) -> Response:
        try:
            resp = Session.request(self, method, url, **kwargs)
            failed = f"{resp.status_code}" if resp.status_code >= 500 else ""
        except RequestException as exc:
            failed = type(exc).__name__
        if failed:
            old = NODES[self.node]
            self.node = (self.node + 1) % len(NODES)
            self.base_url = NODES[self.node]
            url = url.replace(old, self.base_url, 1)
            resp = super()._send_request_safe_mode(method, url, **kwargs)
            _append(RETRIES, {"method": method, "path": url[len(self.base_url):], "error": failed,
                              "from": old, "to": self.base_url, "then": getattr(resp, "status_code", None)})
        data = kwargs.get("data")
        if method == "POST" and isinstance(data, dict) and data.get("submit_token"):
            self._acknowledged(url, data["submit_token"], resp)
        return resp

    def _acknowledged(self, url: str, token: str, resp: Any) -> None:
        """Log the submission if the person was told it succeeded: the application's page, or
        the inbox saying 已办理完成 (a colleague may have decided the task first)."""
        location = resp.headers.get("Location", "") if getattr(resp, "status_code", 0) == 302 else ""
        if not location or "/login" in location:
            return
        if "/physician/applications/" not in location:
            try:
                page = Session.request(self, "GET", self.base_url + location if location.startswith("/") else location)
            except RequestException:
                return  # the node died meanwhile: the person never saw the answer
            if "已办理完成" not in page.text:
                return
        _append(ACKS, {"path": url[len(self.base_url):], "token": token, "location": location})

    def new_address(self) -> None:
        """Another person (another browser) from now on."""
        self.headers["X-Forwarded-For"] = _address()


def _cluster_client(user: Any) -> None:
    user.client = FailoverSession(next(_users) % len(NODES), request_event=user.environment.events.request,
                                  user=user, pool_manager=user.pool_manager)


class Physician(journey.Physician):
    host = NODES[0]
    wait_time = constant(0) if SATURATE else journey.Physician.wait_time

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _cluster_client(self)

    def apply(self) -> None:
        self.client.new_address()
        super().apply()

    tasks = [apply]


class Institution(journey.Institution):
    host = NODES[0]
    wait_time = constant(0) if SATURATE else journey.Institution.wait_time

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _cluster_client(self)


class Commission(journey.Commission):
    host = NODES[0]
    wait_time = constant(0) if SATURATE else journey.Commission.wait_time

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _cluster_client(self)
