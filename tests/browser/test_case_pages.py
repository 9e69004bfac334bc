"""The case pages in a real Chromium: a resident reports with a photo and a map pin, a
dispatcher takes the case through accept, file and dispatch with the page's buttons."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from gridlink.cases.models import Case, CasePhoto
from gridlink.cases.services.intake import Report, case_create
from tests.browser.support import PageLog, shot, sign_in
from tests.cases_support import A11, CATEGORY, build_world, png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(tree, personas):
    return build_world(tree, personas)


def test_resident_reports_with_a_photo_and_a_pin(live_server, world, page: Page, page_log):
    page.goto(f"{live_server.url}/report/")
    page.fill("#category-q", "垃圾")
    choice = page.locator(f"#category-results a[data-code='{CATEGORY}']")
    expect(choice).to_be_visible()
    choice.click()
    expect(page.locator("#category-chosen input[name=category_code]")).to_have_value(CATEGORY)
    expect(page.locator("#category-results a")).to_have_count(0)
    page.fill("textarea[name=description]", "小区门口垃圾堆放三天无人清理，气味很大")
    page.set_input_files(
        "input[name=photos]",
        files=[{"name": "rubbish.png", "mimeType": "image/png", "buffer": png_bytes()}],
    )
    # The first grid drawn is A1-1 (lon 120.0–120.1, lat 35.8–35.9): pin its middle.
    page.locator("svg.pin-svg path.map-area").first.click()
    expect(page.locator("svg.pin-svg circle.pin-marker")).to_be_visible()
    lat = float(page.input_value("input[name=lat]"))
    lon = float(page.input_value("input[name=lon]"))
    assert 35.8 < lat < 35.9 and 120.0 < lon < 120.1, (lat, lon)
    page.fill("input[name=reporter_phone]", "13800138000")
    shot(page, "case-report-form")
    page.click("form.case-form button[type=submit].primary")
    expect(page).to_have_url(re.compile(r"/report/done/$"))
    case = Case.objects.get()
    expect(page.locator("#tracking-code")).to_have_text(case.tracking_code)
    expect(page.locator("#rating-key")).to_have_count(1)  # the rating key, shown once here
    assert case.grid == world.tree.grids[0]
    assert CasePhoto.objects.filter(case=case).count() == 1
    shot(page, "case-report-done")
    page.click(f"a[href='/track/{case.tracking_code}/']")
    expect(page.locator(".timeline-item")).to_have_count(1)
    page_log.assert_clean()


def _open_action(page: Page, action: str) -> None:
    panel = page.locator(f"#action-{action}")
    if panel.get_attribute("open") is None:
        panel.locator("summary").click()


def test_dispatcher_accepts_files_and_dispatches(live_server, world, page: Page, page_log):
    case = case_create(
        actor=None,
        report=Report(
            channel="resident_web",
            category_code=CATEGORY,
            description="小区门口垃圾堆放三天无人清理",
            reporter_phone="13800138000",
            **A11,
        ),
    ).case
    sign_in(page, live_server.url, "district_disp")
    page.click("nav.main-nav a[href='/cases/']")
    expect(page.locator("table.case-table")).to_contain_text(f"#{case.pk}")
    expect(page.locator("table.case-table")).not_to_contain_text(case.tracking_code)
    page.click(f"a[href='/cases/{case.pk}/'] >> text=#{case.pk}")
    expect(page).to_have_url(re.compile(rf"/cases/{case.pk}/$"))
    expect(page.locator("svg.map-svg circle.map-marker")).to_have_count(1)

    _open_action(page, "accept")
    page.click("form[data-action=accept] button[type=submit]")
    expect(page.locator("#case-state")).to_have_text(re.compile("已受理|Accepted"))
    _open_action(page, "file")
    page.click("form[data-action=file] button[type=submit]")
    expect(page.locator("#case-state")).to_have_text(re.compile("已立案|Filed"))

    _open_action(page, "dispatch")
    expect(page.locator("#action-dispatch .routing-suggestion")).to_be_visible()
    um = world.departments["UM"]
    page.select_option("#id_dispatch_unit_id", f"department:{um.pk}")
    shot(page, "case-dispatch")
    page.click("form[data-action=dispatch] button[type=submit]")
    expect(page.locator("#case-state")).to_have_text(re.compile("已派遣|Dispatched"))
    case.refresh_from_db()
    assert case.state == "dispatched" and case.unit_department == um
    page_log.assert_clean()


def test_patrol_page_on_a_phone(live_server, world, phone: Page, page_log: PageLog):
    sign_in(phone, live_server.url, "grid1")
    phone.goto(f"{live_server.url}/cases/patrol/")
    expect(phone.locator("form.patrol-form")).to_be_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width  # one column, nothing wider than the phone
    shot(phone, "case-patrol-phone")
    page_log.assert_clean()
