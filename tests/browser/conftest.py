"""Fixtures for browser tests: one Debian Chromium per session, a fresh page per test.

Playwright's sync API runs an event loop in the test thread, so Django's async-safety
check must be relaxed for the ORM calls the tests make around it. Every page records the
requests it makes and the console errors it produces (CSP refusals are console errors).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import Browser, ConsoleMessage, Page, Request, sync_playwright

from tests.browser.support import PageLog

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        # Never skip silently: `make test` installs Debian's chromium first (browser-deps).
        pytest.fail(f"{CHROMIUM} is not installed: run `make browser-deps` (apt chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page_log() -> PageLog:
    return PageLog()


def _new_page(chromium: Browser, page_log: PageLog, width: int, height: int) -> Iterator[Page]:
    context = chromium.new_context(
        viewport={"width": width, "height": height}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)

    def on_request(request: Request) -> None:
        page_log.requests.append(request.url)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            page_log.errors.append(message.text)

    page.on("request", on_request)
    page.on("console", on_console)
    page.on("pageerror", lambda exc: page_log.errors.append(f"page error: {exc}"))
    yield page
    context.close()


@pytest.fixture
def page(chromium: Browser, page_log: PageLog) -> Iterator[Page]:
    """A desktop-sized page."""
    yield from _new_page(chromium, page_log, 1280, 900)


@pytest.fixture
def phone(chromium: Browser, page_log: PageLog) -> Iterator[Page]:
    """A phone-sized page: grid workers use phones."""
    yield from _new_page(chromium, page_log, 390, 844)
