"""Playwright driving Debian's Chromium (never a downloaded browser)."""

import os
import re
import shutil
import socket
import threading
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PHONE = {"width": 360, "height": 740}
# What Chromium writes to the console when the Content-Security-Policy refuses something.
CSP_REFUSAL = re.compile(r"Content Security Policy")


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def require_chromium() -> str:
    path = chromium_path()
    if path is None:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail("Debian chromium is required here (apt-get install -y chromium)")
        pytest.skip("Debian chromium is not installed")
    return path


@contextmanager
def phone_page(**context_options):
    """A page in Debian's headless Chromium on a phone-sized screen (Chinese locale);
    ``context_options`` add to the browser context (touch, geolocation, downloads…).

    Every browser test is also a test of the Content-Security-Policy: anything the policy
    refused on any page of the context (an inline script, handler or style, a foreign
    host) fails the test at its end."""
    path = require_chromium()
    # Playwright's sync API runs an event loop in this thread; the ORM calls made by
    # fixtures in the same thread are safe here.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "1"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport=PHONE, locale="zh-CN", **context_options)
        refused = []
        context.on(
            "console",
            lambda m: refused.append(m.text) if CSP_REFUSAL.search(m.text) else None,
        )
        page = context.new_page()
        page.set_default_timeout(15000)
        try:
            yield page
            if refused:
                pytest.fail("Content-Security-Policy refusals:\n" + "\n".join(refused))
        finally:
            context.close()
            browser.close()
            # ORM calls made while Playwright runs use a connection of their own (Playwright's
            # greenlet has its own context); close it before the test database is dropped.
            from django.db import connections

            connections.close_all()


def log_in(page, live_server, username):
    """Log in afresh (any earlier session's cookies dropped) and land on the home page."""
    from tests.factories import PASSWORD

    page.context.clear_cookies()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def fits_a_phone(page) -> bool:
    """Nothing scrolls sideways at the phone's width."""
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


class Line:
    """A TCP relay between the browser and the live server that can lose the signal, and
    counts what the server sends.

    Chromium's offline emulation does not reach a service worker's own requests, so a
    journey "without a connection" also cuts the line itself: while ``down``, new
    connections are closed at once and the open ones are dropped, as on a phone whose
    signal goes. ``url`` is the address the browser uses instead of the live server's.
    ``down_bytes`` and ``by_path`` count the bytes the server sent (headers included), by the
    request they answered, whoever asked: the page or its service worker (``reset()`` starts
    the count again).
    """

    REQUEST_LINE = re.compile(rb"(GET|POST|HEAD|PUT|DELETE) (\S+) HTTP/1\.[01]\r\n")

    def __init__(self, target_url: str):
        target = urlsplit(target_url)
        self.target = (target.hostname, target.port)
        self.down = False
        self.down_bytes = 0
        self.by_path: dict[str, int] = {}
        self._open: set = set()
        self._lock = threading.Lock()
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(64)
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self) -> int:
        """The bytes counted so far; the count starts again."""
        with self._lock:
            count, self.down_bytes = self.down_bytes, 0
            self.by_path = {}
        return count

    def _accept(self):
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if self.down:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=30)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.update({client, upstream})
            # The browser sends one request at a time on a connection: the server's bytes
            # answer the last request line seen on it.
            state = {"path": "?"}
            for args in ((client, upstream, False, state), (upstream, client, True, state)):
                threading.Thread(target=self._pipe, args=args, daemon=True).start()

    def _pipe(self, source, sink, downstream, state):
        try:
            while True:
                data = source.recv(65536)
                if not data or self.down:
                    break
                if downstream:
                    with self._lock:
                        self.down_bytes += len(data)
                        self.by_path[state["path"]] = self.by_path.get(state["path"], 0) + len(data)
                else:
                    for match in self.REQUEST_LINE.finditer(data):
                        state["path"] = match.group(2).decode("latin-1")
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                self._close(sock)

    def _close(self, sock):
        with self._lock:
            self._open.discard(sock)
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()

    def cut(self):
        """The signal goes: no new connection, and the open ones drop."""
        self.down = True
        with self._lock:
            sockets = list(self._open)
        for sock in sockets:
            self._close(sock)

    def restore(self):
        self.down = False

    def close(self):
        self.cut()
        self._server.close()


def screenshot(target, name: str, **options):
    """A screenshot of a page or a locator for the guides, written only when SCREENSHOTS_DIR
    is set (``SCREENSHOTS_DIR=docs/img pytest …``), so a test run leaves the tree as it was."""
    folder = os.environ.get("SCREENSHOTS_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)
        target.screenshot(path=os.path.join(folder, f"{name}.png"), **options)
