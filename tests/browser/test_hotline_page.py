"""The hotline operator's entry page in a real Chromium: a 12345 order taken down with the
category picker and a map pin, then the case page (never a tracking code)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from gridlink.cases.models import Case
from tests.browser.support import PageLog, shot, sign_in
from tests.cases_support import CATEGORY, build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(tree, personas):
    return build_world(tree, personas)


def test_operator_enters_a_12345_order(live_server, world, page: Page, page_log: PageLog):
    sign_in(page, live_server.url, "hotline")
    page.goto(f"{live_server.url}/cases/")
    page.click("nav.case-tabs a[href='/cases/hotline/']")
    expect(page).to_have_url(re.compile(r"/cases/hotline/$"))
    page.fill("input[name=order_number]", "12345-20261201-0042")
    page.fill("input[name=caller_name]", "李四")
    page.fill("input[name=caller_phone]", "13912345678")
    page.fill("#category-q", "垃圾")
    choice = page.locator(f"#category-results a[data-code='{CATEGORY}']")
    expect(choice).to_be_visible()
    choice.click()
    expect(page.locator("#category-chosen input[name=category_code]")).to_have_value(CATEGORY)
    page.fill("textarea[name=description]", "来电反映：小区门口垃圾堆放三天无人清理")
    # The first grid drawn is A1-1 (lon 120.0–120.1, lat 35.8–35.9): pin its middle.
    page.locator("svg.pin-svg path.map-area").first.click()
    expect(page.locator("svg.pin-svg circle.pin-marker")).to_be_visible()
    shot(page, "case-hotline-entry")
    page.click("form.hotline-form button[type=submit].primary")

    case = Case.objects.get()
    expect(page).to_have_url(re.compile(rf"/cases/{case.pk}/$"))
    expect(page.locator("h1")).to_contain_text(f"#{case.number}")
    expect(page.locator("main")).to_contain_text("12345-20261201-0042")
    expect(page.locator("main")).not_to_contain_text(case.tracking_code)
    expect(page.locator("main")).not_to_contain_text("13912345678")  # masked
    assert (case.channel, case.external_number, case.grid) == (
        "hotline", "12345-20261201-0042", world.tree.grids[0],
    )  # fmt: skip
    page_log.assert_clean()
