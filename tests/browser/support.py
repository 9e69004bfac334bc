"""Helpers shared by the browser tests."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from playwright.sync_api import Page

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
PASSWORD = "pass-word-123"  # the password tests.factories.UserFactory gives every user


@dataclass
class PageLog:
    """What a page did: every request URL and every console error (incl. CSP refusals)."""

    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def foreign_requests(self) -> list[str]:
        """Requests to any host but this machine (data: and blob: URLs have no host)."""
        out = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOCAL_HOSTS:
                out.append(url)
        return out

    def assert_clean(self) -> None:
        assert self.requests, "the page made no request at all"
        assert self.foreign_requests() == []
        assert self.errors == [], self.errors


def shot(page: Page, name: str) -> None:
    """Save a full-page screenshot when GRIDLINK_SCREENSHOT_DIR is set (for reviewing)."""
    directory = os.environ.get("GRIDLINK_SCREENSHOT_DIR", "")
    if directory:
        page.screenshot(path=os.path.join(directory, f"{name}.png"), full_page=True)


def sign_in(page: Page, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Sign in through the real form and wait for the home page."""
    page.goto(f"{base_url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base_url}/")
