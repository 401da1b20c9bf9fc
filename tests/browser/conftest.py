"""Browser fixtures: the session app served on a local port of its own, and headless Chromium.

The server runs the very same ``app`` object as the other tests (same database), so rows
made with the factories are visible to the browser."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser
from playwright.sync_api import BrowserContext
from playwright.sync_api import Page
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
TIMEOUT_MS = 15_000


@pytest.fixture()
def live_server(app: Flask, clean_db: None) -> Iterator[str]:
    """The session app on http://127.0.0.1:<port>, for the duration of one test.

    Depends on ``clean_db`` so the server is stopped before the database is emptied."""
    # Bound and listening on return (connections wait in the backlog until the thread serves
    # them), on a port the system chose: nothing to wait for, no port to race for.
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"Chromium not found at {CHROMIUM}: install the Debian package 'chromium'",
                    pytrace=False)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def new_page(browser: Browser, live_server: str) -> Iterator[Callable[[], Page]]:
    """Opens a page in a fresh browser context (own cookies) per call; one per role."""
    contexts: list[BrowserContext] = []

    def make() -> Page:
        ctx = browser.new_context(base_url=live_server, locale="zh-CN",
                                  viewport={"width": 1280, "height": 900})
        ctx.set_default_timeout(TIMEOUT_MS)
        contexts.append(ctx)
        page = ctx.new_page()
        page.on("dialog", lambda d: d.accept())
        return page

    yield make
    for ctx in contexts:
        ctx.close()
