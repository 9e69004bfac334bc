"""The assessment dashboard in a real Chromium: a supervisor opens it from the nav, switches
the period, changes the ranking (htmx) and opens an indicator's drill-down."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from gridlink.cases.models import Case
from gridlink.cases.services.intake import Report, case_create
from gridlink.cases.services.transitions import case_transition
from tests.browser.support import shot, sign_in
from tests.cases_support import A11, CATEGORY, build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(tree, personas):
    w = build_world(tree, personas)
    disp = w.people["district_disp"]
    for text in ("小区门口垃圾堆放三天无人清理", "楼道里堆满杂物影响通行安全"):
        report = Report(channel="resident_web", category_code=CATEGORY, description=text,
                        reporter_phone="13800138000", **A11)  # fmt: skip
        case = case_create(actor=None, report=report).case
        case = case_transition(actor=disp, case_id=case.pk, action="accept", version=case.version)
    return w


def test_supervisor_switches_period_and_drills_down(live_server, world, page: Page, page_log):
    this_month = timezone.localdate().strftime("%Y-%m")
    sign_in(page, live_server.url, "sup1")
    page.click("nav.main-nav a[href='/assessment/']")
    expect(page).to_have_url(re.compile(r"/assessment/area:370211/$"))
    expect(page.locator("#period-shown")).to_have_text(this_month)
    reports = page.locator(".indicator-card[data-key=reports] .value")
    expect(reports).to_have_text("2")
    expect(page.locator("svg.map-svg path.map-area")).to_have_count(2)
    shot(page, "assessment-dashboard")

    # Another month: nothing was reported then.
    page.fill("input[name=period]", "2025-03")
    page.click("form.period-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"period=2025-03"))
    expect(page.locator("#period-shown")).to_have_text("2025-03")
    expect(reports).to_have_text("0")

    # The year shortcut, then back to this month through the month picker.
    page.click(".period-shortcuts a[href^='?period=2025&']")
    expect(page.locator("#period-shown")).to_have_text("2025")
    page.fill("input[name=period]", this_month)
    page.click("form.period-form button[type=submit]")
    expect(reports).to_have_text("2")

    # Rank the streets by another indicator: htmx swaps the ranking in place.
    page.select_option("#id_rank_by", "reports")
    expect(page.locator("#ranking-h")).to_contain_text("上报数")
    expect(page.locator(".rank-table tbody tr").first).to_have_attribute("data-code", "370211001")
    expect(page).to_have_url(re.compile(r"rank_by=reports"))

    # Open the card: the drill-down lists both cases behind the count, linked.
    page.click(".indicator-card[data-key=reports] a")
    expect(page).to_have_url(re.compile(r"/assessment/area:370211/indicator/reports/\?period="))
    expect(page.locator("#drill-value")).to_contain_text("2")
    rows = page.locator("#drill-numerator tbody tr")
    expect(rows).to_have_count(2)
    first = Case.objects.order_by("pk").first()
    assert first is not None
    expect(page.locator(f"#drill-numerator a[href='/cases/{first.pk}/']")).to_be_visible()
    shot(page, "assessment-drill-down")
    page_log.assert_clean()


def test_street_dispatcher_is_refused_another_street(live_server, world, page: Page, page_log):
    sign_in(page, live_server.url, "disp1")
    page.click("nav.main-nav a[href='/assessment/']")
    expect(page).to_have_url(re.compile(r"/assessment/area:370211001/$"))
    response = page.goto(f"{live_server.url}/assessment/area:370211002/")
    assert response is not None and response.status == 403
    page_log.errors.clear()  # the 403 itself is logged by Chromium as a failed resource
    assert page_log.foreign_requests() == []
