"""The web pages in a real Chromium, against a live server.

Each test signs in through the real form, and checks that the page fetched nothing from
outside this machine and logged no console error (a CSP refusal would be one).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from gridlink.core.models import AccessRecord
from gridlink.registry.masking import mask_id_number
from tests.browser.support import PageLog, shot, sign_in
from tests.factories import HouseholdFactory, ResidentFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_shows_the_home_page_of_the_role(live_server, personas, page: Page, page_log):
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    page.fill("input[name=username]", "grid1")
    page.fill("input[name=password]", "not-the-password")
    page.click("main form button[type=submit]")
    expect(page.locator(".form-error")).to_be_visible()
    shot(page, "login-error")

    sign_in(page, live_server.url, "grid1")
    expect(page.locator(".role-panel")).to_have_count(1)
    expect(page.locator(".role-badge")).to_have_text("网格员")
    expect(page.locator(".role-panel")).to_contain_text("370211001001001")
    expect(page.locator("header .who-roles")).to_have_text("网格员")
    shot(page, "home-grid-worker")
    page_log.assert_clean()


def test_area_map_links_and_hover_details(live_server, personas, page: Page, page_log):
    sign_in(page, live_server.url, "sup1")
    expect(page.locator(".role-badge")).to_have_text("督查考核人员")
    shot(page, "home-supervisor")
    page.click("nav.main-nav >> text=区域")
    expect(page).to_have_url(re.compile(r"/areas/370211/$"))
    shapes = page.locator("svg.map-svg a.map-link path.map-area")
    expect(shapes).to_have_count(2)  # the two streets

    # Hovering a street loads its details into the side card through htmx.
    page.locator("svg.map-svg a.map-link[data-code='370211002']").hover()
    expect(page.locator("#area-card")).to_contain_text("370211002")
    expect(page.locator("#area-card")).to_contain_text("街道B")
    shot(page, "area-district")

    # Clicking a street opens its page; its map draws its two communities.
    page.locator("svg.map-svg a.map-link[data-code='370211001']").click()
    expect(page).to_have_url(re.compile(r"/areas/370211001/$"))
    expect(page.locator("nav.breadcrumb")).to_contain_text("黄岛区")
    page.locator("svg.map-svg a.map-link[data-code='370211001001']").click()
    expect(page).to_have_url(re.compile(r"/areas/370211001001/$"))
    grids = page.locator("svg.map-svg path.map-area.grid-urban")
    expect(grids).to_have_count(2)
    page.locator("svg.map-svg a.map-link[data-code='370211001001002']").click()
    expect(page).to_have_url(re.compile(r"/areas/370211001001002/$"))
    expect(page.locator("svg.map-svg path.map-area.highlighted")).to_have_count(1)
    shot(page, "area-grid")
    page_log.assert_clean()


def test_locate_form_through_htmx(live_server, personas, page: Page, page_log):
    sign_in(page, live_server.url, "disp1")
    page.goto(f"{live_server.url}/areas/370211001/")
    page.fill("#locate input[name=lat]", "35.95")
    page.fill("#locate input[name=lon]", "120.15")
    page.click("#locate button[type=submit]")
    expect(page.locator("#locate .locate-result")).to_contain_text("370211001002002")
    expect(page.locator("#locate circle.map-marker")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"/areas/370211001/$"))  # swapped in place
    shot(page, "locate-found")

    page.fill("#locate input[name=lat]", "30")
    page.click("#locate button[type=submit]")
    expect(page.locator("#locate .form-error")).to_contain_text("没有网格包含")
    page_log.assert_clean()


def test_registry_masks_and_unmask_reveals_with_purpose(
    live_server, personas, tree, page: Page, page_log: PageLog
):
    household = HouseholdFactory(grid=tree.grids[0], number="H10000001")
    resident = ResidentFactory(grid=tree.grids[0], name="王小明", household=household)
    masked = mask_id_number(resident.id_number)

    sign_in(page, live_server.url, "grid1")
    page.click("nav.main-nav >> text=基础信息")
    page.fill("input[name=q]", "王小明")
    page.click("form.search button[type=submit]")
    row = page.locator("table.records tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(masked)
    assert resident.id_number not in page.content()
    shot(page, "registry-residents")

    row.locator("a").first.click()
    expect(page.locator("[data-field=id_number]")).to_have_text(masked)
    # Without a purpose: the form error shows and the value stays masked.
    page.check("input[name=reveal][value=id_number]")
    page.click("#sensitive button[type=submit]")
    expect(page.locator("#sensitive .errorlist")).to_contain_text("用途")
    expect(page.locator("[data-field=id_number]")).to_have_text(masked)
    shot(page, "resident-unmask-error")

    page.check("input[name=reveal][value=id_number]")
    page.fill("input[name=purpose]", "案件 2025-000123 入户核查")
    page.click("#sensitive button[type=submit]")
    expect(page.locator("[data-field=id_number].revealed")).to_have_text(resident.id_number)
    expect(page.locator("#sensitive .notice")).to_contain_text("2025-000123")
    expect(page).to_have_url(re.compile(rf"/registry/residents/{resident.pk}/$"))
    shot(page, "resident-unmasked")

    record = AccessRecord.objects.get(kind="unmask", outcome="success")
    assert record.purpose == "案件 2025-000123 入户核查"
    assert record.subject_ids == [resident.pk]
    assert record.fields == ["id_number"]
    assert record.actor_username == "grid1"
    page_log.assert_clean()


def test_lookup_by_id_number_through_htmx_keeps_it_out_of_urls(
    live_server, personas, tree, page: Page, page_log: PageLog
):
    resident = ResidentFactory(grid=tree.grids[0], name="王小明")
    masked = mask_id_number(resident.id_number)

    sign_in(page, live_server.url, "grid1")
    page.goto(f"{live_server.url}/registry/residents/")
    panel = page.locator("details#lookup")
    expect(panel.locator("input[name=id_number]")).to_be_hidden()  # closed until opened
    panel.locator("summary").click()
    page.fill("#lookup input[name=id_number]", resident.id_number)
    page.click("#lookup button[type=submit]")
    # Without a purpose: the error sits on the purpose field and nothing is shown.
    expect(page.locator("#lookup #id_purpose_error")).to_contain_text("用途")
    expect(page.locator("#lookup .lookup-result")).to_have_count(0)
    shot(page, "lookup-error")

    page.fill("#lookup input[name=purpose]", "案件 2025-000123 入户核查")
    page.click("#lookup button[type=submit]")
    row = page.locator("#lookup table.records tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(masked)
    expect(page.locator("#lookup .notice")).to_contain_text("2025-000123")
    expect(page).to_have_url(re.compile(r"/registry/residents/$"))  # swapped in place
    shot(page, "lookup-found")

    row.locator("a").click()
    expect(page).to_have_url(re.compile(rf"/registry/residents/{resident.pk}/$"))
    expect(page.locator("[data-field=id_number]")).to_have_text(masked)

    record = AccessRecord.objects.get(kind="lookup")
    assert (record.outcome, record.subject_ids) == ("success", [resident.pk])
    assert record.purpose == "案件 2025-000123 入户核查"
    assert [url for url in page_log.requests if resident.id_number in url] == []
    page_log.assert_clean()


def test_language_switch_changes_the_interface(live_server, personas, page: Page, page_log):
    sign_in(page, live_server.url, "comm1")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("nav.main-nav")).to_contain_text("退出登录")
    page.click(".lang-switch button[value=en]")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("nav.main-nav")).to_contain_text("Sign out")
    expect(page.locator(".role-badge")).to_have_text("Community staff")
    shot(page, "home-community-en")
    page.click(".lang-switch button[value=zh-hans]")
    expect(page.locator("nav.main-nav")).to_contain_text("退出登录")
    page_log.assert_clean()


def test_phone_layout_of_home_and_grid(live_server, personas, phone: Page, page_log):
    sign_in(phone, live_server.url, "grid1")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the home page must not scroll sideways on a phone"
    shot(phone, "phone-home")
    phone.goto(f"{live_server.url}/areas/370211001001001/")
    expect(phone.locator("svg.map-svg")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "phone-grid")
    page_log.assert_clean()
