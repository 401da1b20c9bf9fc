"""A thin HTTP client for benchmarks: one kept-alive connection per person, cookies, forms, files
and JSON, on the standard library's ``http.client``.

``requests`` spends about 2 ms of Python per call on this machine's cores (its adapters, hooks,
cookie jar and header merging), which is more than a third of what our server spends on a
page and is paid by both sides of a comparison alike, so it narrows every ratio towards 1.
A browser's network stack is native code and costs next to nothing. This client keeps what a
browser does (one connection kept alive, cookies set and deleted by the server, redirects of a
GET followed) and costs about 0.3 ms a call. It has the subset of ``requests.Session`` the
benchmarks use, so a benchmark can run with either (``side_by_side.py --client``).
"""

from __future__ import annotations

import http.client
import json as jsonlib
import select
import time
from email.message import Message
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode
from urllib.parse import urljoin
from urllib.parse import urlsplit

from urllib3.filepost import encode_multipart_formdata

IDLE_SECONDS = 1.5  # a connection idle longer is opened again (gunicorn closes idle ones after 2 s by default)


class Response:
    """What a call returned (the names of ``requests.Response``)."""

    def __init__(self, status: int, headers: Message, content: bytes, url: str) -> None:
        self.status_code = status
        self.headers = headers
        self.content = content
        self.url = url

    @property
    def text(self) -> str:
        charset = self.headers.get_content_charset() or "utf-8"
        return self.content.decode(charset, errors="replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content)


class Session:
    """One person's client: a kept-alive connection to one server and its cookies."""

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}
        self.cookies: dict[str, str] = {}
        self._conn: http.client.HTTPConnection | None = None
        self._host: tuple[str, int] | None = None
        self._last = 0.0
        self._served = False  # the current connection has answered a request

    # --- requests.Session's calls ------------------------------------------------------------
    def get(self, url: str, allow_redirects: bool = True, timeout: float = 60, **kw: Any) -> Response:
        resp = self.request("GET", url, timeout=timeout, **kw)
        hops = 0
        while allow_redirects and resp.status_code in (301, 302, 303, 307, 308) and hops < 5:
            url = urljoin(url, resp.headers["Location"])  # relative to this hop
            resp = self.request("GET", url, timeout=timeout)
            hops += 1
        return resp

    def post(self, url: str, allow_redirects: bool = False, **kw: Any) -> Response:
        resp = self.request("POST", url, **kw)
        if allow_redirects and resp.status_code in (301, 302, 303):
            return self.get(urljoin(url, resp.headers["Location"]))
        return resp

    def put(self, url: str, **kw: Any) -> Response:
        return self.request("PUT", url, **kw)

    def request(self, method: str, url: str, data: dict[str, Any] | None = None,
                files: dict[str, tuple[str, bytes] | tuple[str, bytes, str]] | None = None,
                json: Any = None, headers: dict[str, str] | None = None, timeout: float = 60) -> Response:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        sent = {**self.headers, **(headers or {})}
        body: bytes | None = None
        if files is not None:
            fields: list[tuple[str, Any]] = [(k, str(v)) for k, v in (data or {}).items()]
            fields += list(files.items())
            body, sent["Content-Type"] = encode_multipart_formdata(fields)
        elif json is not None:
            body, sent["Content-Type"] = jsonlib.dumps(json).encode(), "application/json"
        elif data is not None:
            body = urlencode(data, doseq=True).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        elif method in ("POST", "PUT"):
            body = b""
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        host = (parts.hostname or "127.0.0.1", parts.port or 80)
        for attempt in (0, 1):
            conn = self._connection(host, timeout)
            reused = self._served  # False on a connection just opened
            try:
                conn.request(method, path, body=body, headers=sent)
                raw = conn.getresponse()
                content = raw.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                # a kept-alive connection the server closed: a GET once more on a new one; any
                # other request may have been carried out, so it is never sent twice
                if attempt or not reused or method != "GET":
                    raise
        self._served = True
        self._last = time.monotonic()
        if raw.getheader("Connection", "").lower() == "close":
            self.close()
        for header in raw.msg.get_all("Set-Cookie") or []:
            self._keep_cookie(header)
        return Response(raw.status, raw.msg, content, url)

    # --- the connection and the cookies ------------------------------------------------------
    def _connection(self, host: tuple[str, int], timeout: float) -> http.client.HTTPConnection:
        stale = time.monotonic() - self._last > IDLE_SECONDS or self._closed_by_server()
        if self._conn is None or self._host != host or stale:
            self.close()
            self._conn, self._host = http.client.HTTPConnection(host[0], host[1], timeout=timeout), host
            self._served = False
        return self._conn

    def _closed_by_server(self) -> bool:
        """The kept-alive connection was closed by the server (its socket reads as ready: end of
        stream), checked before a request is sent on it (as urllib3 does)."""
        sock = self._conn.sock if self._conn is not None else None
        if sock is None:
            return False
        readable, _w, _x = select.select([sock], [], [], 0)
        return bool(readable)

    def _keep_cookie(self, header: str) -> None:
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            gone = morsel["max-age"] in ("0", "-1") or (
                morsel["expires"] and "1970" in morsel["expires"]) or morsel.value == ""
            if gone:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None


def post(url: str, **kw: Any) -> Response:
    """One call on a connection of its own (``requests.post``)."""
    s = Session()
    try:
        return s.post(url, **kw)
    finally:
        s.close()
