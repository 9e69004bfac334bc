"""Intake channels (`CHANNEL_RULES` in cases/services/intake.py): who may report through
each, refusals naming `channel`; anonymous API intake without a CSRF cookie, while a
cookie-authenticated request still needs CSRF; `Cache-Control: no-store` on personal data."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from gridlink.cases.models import Case, Channel
from gridlink.cases.services.intake import CHANNEL_RULES, Caller
from gridlink.open311.services import client_application_create
from tests.cases_support import A11, CATEGORY, build_world, post_json, report
from tests.open311_support import post_request


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def world(tree, personas):
    return build_world(tree, personas)


def _refused(response, status: int) -> dict:
    assert response.status_code == status, response.content[:400]
    body = response.json()
    assert "channel" in [e["field"] for e in body["errors"]], body
    return body


def test_every_channel_has_one_rule():
    assert set(CHANNEL_RULES) == set(Channel.values)
    assert {c for c, r in CHANNEL_RULES.items() if r.caller == Caller.ANYONE} == {
        Channel.RESIDENT_WEB
    }
    for channel, rule in CHANNEL_RULES.items():
        assert (rule.caller == Caller.STAFF) == bool(rule.roles), channel


@pytest.mark.parametrize("channel", sorted(set(Channel.values) - {Channel.RESIDENT_WEB}))
def test_anonymous_callers_may_only_use_the_public_channel(world, channel):
    """The reproduction: `"channel": "open311"` with no key, no contact, no sign-in."""
    body = _refused(report(Client(), channel=channel, reporter_phone="", external_number="X-1"),
                    403)  # fmt: skip
    assert body["errors"][0]["code"] == "channel_not_permitted"
    assert Case.objects.count() == 0


def test_open311_needs_the_open311_interface_even_when_signed_in(world):
    body = _refused(report(world.client("district_disp"), channel="open311"), 403)
    assert "/open311/" in body["detail"]
    api_key = client_application_create(actor=None, name="resident app")[1]
    response = post_request(Client(), "json", api_key)
    assert response.status_code == 201, response.content
    assert Case.objects.get().channel == Channel.OPEN311


def test_a_staff_channel_needs_its_role(world):
    _refused(report(world.client("resident"), channel="hotline", external_number="1"), 403)
    _refused(report(world.client("grid_worker"), channel="sensor", external_number="1"), 403)
    created = report(world.client("hotline"), channel="hotline", external_number="12345-1")
    assert created.status_code == 201, created.content


def test_an_unknown_channel_is_a_400_naming_it(world):
    body = _refused(report(Client(), channel="carrier_pigeon"), 400)
    assert body["errors"][0]["code"] == "unknown"


def test_the_public_channel_needs_contact_or_anonymous(world):
    response = report(Client(), reporter_phone="")
    assert response.status_code == 400
    assert "reporter_phone" in [e["field"] for e in response.json()["errors"]]
    assert report(Client(), reporter_phone="", anonymous=True).status_code == 201


def test_staff_channels_have_their_own_limit_per_account(world, settings):
    settings.GRIDLINK_STAFF_INTAKE_RATE_PER_HOUR = 1
    settings.GRIDLINK_INTAKE_RATE_PER_HOUR = 100
    worker = world.client("grid_worker")
    assert report(worker, channel="grid_patrol").status_code == 201
    refused = report(worker, channel="grid_patrol", description="第二处垃圾")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600
    # Another account, and the public channel, are counted apart.
    assert report(world.client("grid1b"), channel="grid_patrol").status_code == 201
    assert report(Client()).status_code == 201


# --- Authentication order: anonymous without CSRF, CSRF with the cookie ----------------------


def test_a_non_browser_client_reports_anonymously_without_any_cookie(world):
    """The reproduction: a POST with neither session nor CSRF cookie was refused (403)."""
    client = Client(enforce_csrf_checks=True)
    response = report(client)
    assert response.status_code == 201, response.content
    assert Case.objects.get().reporter is None


def test_a_cookie_authenticated_request_still_needs_csrf(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.personas.resident)
    assert report(client).status_code == 403
    assert Case.objects.count() == 0
    client.get("/report/")  # the page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    body = {"channel": "resident_web", "category_code": CATEGORY, "description": "垃圾堆放", **A11}
    response = post_json(client, "/api/v1/cases", body, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201, response.content
    assert Case.objects.get().reporter == world.personas.resident


# --- Cache-Control: no-store -----------------------------------------------------------------


def _no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


def test_responses_with_personal_data_are_not_stored(world):
    created = report(Client()).json()
    assert _no_store(report(Client(), description="另一处"))
    staff = world.client("district_disp")
    assert _no_store(staff.get(f"/api/v1/cases/{created['id']}"))
    assert _no_store(Client().get(f"/api/v1/track/{created['tracking_code']}"))
    assert _no_store(Client().get("/api/v1/cases"))  # a 401 too
    assert _no_store(Client().get("/open311/v2/requests.json"))
    assert _no_store(staff.get("/"))  # a signed-in page
    assert _no_store(staff.get(f"/cases/{created['id']}/"))


def test_public_pages_for_anonymous_visitors_may_be_cached(world):
    assert not _no_store(Client().get("/track/"))
