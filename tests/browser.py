"""Playwright driving Debian's Chromium (never a downloaded browser)."""

import os
import shutil
from contextlib import contextmanager

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
    ``context_options`` add to the browser context (touch, geolocation, downloads…)."""
    path = require_chromium()
    # Playwright's sync API runs an event loop in this thread; the ORM calls made by
    # fixtures in the same thread are safe here.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "1"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport=PHONE, locale="zh-CN", **context_options)
        page = context.new_page()
        page.set_default_timeout(15000)
        try:
            yield page
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
