"""Open311 from the outside: a third-party client (georeport, from PyPI) against a live
server, the round trip through the staff case list, hostile input, keys and the admin."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.test import Client
from georeport import GeoReport

from gridlink.cases.models import Case, CaseEvent
from gridlink.open311.models import ClientApplication
from gridlink.open311.services import client_application_create, client_application_ensure_demo
from tests import open311_schemas as schemas
from tests.cases_support import act, build_world, ok, upload
from tests.open311_support import (
    BASE,
    EN,
    created_id,
    json_of,
    post_request,
    request_body,
    xml_errors,
)


@pytest.fixture
def world(tree, personas):
    return build_world(tree, personas)


@pytest.fixture
def api_key(world) -> str:
    return client_application_create(actor=None, name="resident app")[1]


def _close_through_the_staff_api(world, case_id: int) -> dict:
    disp = world.client("district_disp")
    listed = ok(disp.get("/api/v1/cases"))
    assert case_id in [c["id"] for c in listed["items"]]
    case = ok(disp.get(f"/api/v1/cases/{case_id}"))
    assert case["channel"] == "open311"
    case = ok(act(disp, case, "accept"))
    case = ok(act(disp, case, "file"))
    case = ok(act(disp, case, "dispatch", unit_id=f"department:{world.departments['UM'].pk}"))
    um = world.client("h_UM")
    case = ok(um.get(f"/api/v1/cases/{case_id}"))
    case = ok(act(um, case, "sign_for"))
    case = ok(act(um, case, "start_handling"))
    case = ok(act(um, case, "submit_result", evidence=[upload(um)], result="已清理完毕"))
    verifier = world.personas.grid_worker.pk
    case = ok(act(disp, case, "send_for_verification", verifier_id=verifier))
    gw = world.client("grid_worker")
    case = ok(gw.get(f"/api/v1/cases/{case_id}"))
    case = ok(act(gw, case, "verify_pass"))
    return ok(act(disp, case, "close"))


@pytest.mark.django_db(transaction=True)
def test_georeport_client_reads_everything_from_a_live_server(live_server, tree, personas):
    world = build_world(tree, personas)
    _, api_key = client_application_create(actor=None, name="georeport")
    anon = Client()
    request_id = created_id(anon, api_key)
    created_id(anon, api_key, service_code="C0101", description="井盖缺失",
               **{"attribute[cover_type]": "grate", "attribute[damage]": "missing"})  # fmt: skip
    root = f"{live_server.url}/open311/v2"
    for fmt in ("json", "xml"):
        client = GeoReport(root, output_format=fmt)
        services = client.get_service_list()
        codes = {s["service_code"] for s in services}
        assert {"E0102", "C0101"} <= codes
        definition = client.get_service_definition("C0101")
        attributes = definition["attributes"]
        if fmt == "xml":
            attributes = attributes["attribute"]
        assert "cover_type" in {a["code"] for a in attributes}
        requests_ = client.get_service_requests(status="open")
        assert len(requests_) == 2
        assert {r["service_request_id"] for r in requests_} >= {request_id}
        one = client.get_service_requests(service_request_id=request_id)
        if fmt == "xml":
            assert one["service_request_id"] == request_id  # xmltodict: a single element
        else:
            assert [r["service_request_id"] for r in one] == [request_id]
        single = client.get_service_request(request_id)
        assert single["status"] == "open"
        assert single["service_code"] == "E0102"
    # The round trip: it is in the staff list, dispatched and closed there, and reads back.
    closed = _close_through_the_staff_api(world, int(request_id))
    assert closed["state"] == "closed"
    close_event = CaseEvent.objects.filter(case_id=int(request_id), kind="close").get()
    for fmt in ("json", "xml"):
        single = GeoReport(root, output_format=fmt).get_service_request(request_id)
        assert single["status"] == "closed"
        assert single["status_notes"] == "已清理完毕"
        assert single["agency_responsible"] == "区城管局"
        assert single["updated_datetime"] == close_event.created_at.astimezone(
            single_tz(single["requested_datetime"])
        ).isoformat(timespec="seconds")
        assert not single["expected_datetime"]
    closed_list = GeoReport(root).get_service_requests(status="closed")
    assert [r["service_request_id"] for r in closed_list] == [request_id]


def single_tz(text: str):
    import datetime as dt

    return dt.datetime.fromisoformat(text).tzinfo


HOSTILE = [
    ("missing service_code", {"service_code": ""}, 400),
    ("unknown code", {"service_code": "Z9999"}, 400),
    ("bad api_key", {"api_key": "o311_deadbeef0000_nope"}, 403),
    ("lat without long", {"long": ""}, 400),
    ("HTML in description", {"description": "<script>alert(1)</script>垃圾"}, 400),
    ("HTML in a name", {"first_name": "<b>王</b>"}, 400),
    ("10,000-character description", {"description": "垃" * 10_000}, 400),
    ("10,000-character name", {"first_name": "x" * 10_000}, 400),
    ("10,000-character service_code", {"service_code": "E" * 10_000}, 400),
    ("10,000-character attribute", {"attribute[found_at]": "1" * 10_000}, 400),
    ("10,000-character api_key", {"api_key": "k" * 10_000}, 403),
    ("outside the district", {"lat": "39.9", "long": "116.4"}, 400),
    ("datetime attribute of another service", {"attribute[nope]": "1"}, 400),
    ("not a number", {"lat": "north", "long": "east"}, 400),
    ("bad media_url", {"media_url": "javascript:alert(1)"}, 400),
    ("no location", {"lat": "", "long": ""}, 400),
]


@pytest.mark.parametrize("fmt", ["xml", "json"])
@pytest.mark.parametrize(("name", "fields", "status"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_posts_are_spec_errors_and_write_nothing(world, api_key, fmt, name, fields, status):
    anon = Client()
    before = (Case.objects.count(), CaseEvent.objects.count())
    overrides = {k: (v if v != "" else None) for k, v in fields.items()}
    if "api_key" in overrides:
        body = request_body(overrides.pop("api_key") or "", **overrides)
        response = anon.post(f"{BASE}/requests.{fmt}", body, **EN)
    else:
        response = post_request(anon, fmt, api_key, **overrides)
    assert response.status_code == status, (name, response.content[:400])
    if fmt == "xml":
        assert all(code == str(status) for code, _d in xml_errors(response))
    else:
        json_of(response, schemas.ERRORS)
    assert (Case.objects.count(), CaseEvent.objects.count()) == before


@pytest.mark.parametrize(
    "query",
    [
        "start_date=2026-01-01T00:00:00",
        "start_date=2026-01-01T00:00:00Z&end_date=2026-04-02T00:00:00Z",
        "page=abc",
        "page_size=ten",
        "service_request_id=" + "1," * 5000,
        "lat=1&long=2&radius=" + "9" * 400,
    ],
)
@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_hostile_queries_are_spec_errors(world, fmt, query):
    response = Client().get(f"{BASE}/requests.{fmt}?{query}")
    assert response.status_code == 400
    if fmt == "xml":
        xml_errors(response)
    else:
        json_of(response, schemas.ERRORS)


def test_command_creates_lists_and_revokes_keys(world):
    out = io.StringIO()
    call_command("open311", "create-key", "city portal", stdout=out)
    key = out.getvalue().strip()
    assert key.startswith("o311_")
    anon = Client()
    assert post_request(anon, "json", key).status_code == 201
    app = ClientApplication.objects.get(name="city portal")
    assert app.secret_hash not in key and key.split("_")[1] == app.key_id
    listing = io.StringIO()
    call_command("open311", "list-keys", stdout=listing)
    assert app.key_id in listing.getvalue() and "city portal" in listing.getvalue()
    assert key not in listing.getvalue()
    call_command("open311", "revoke-key", app.key_id, stdout=io.StringIO())
    assert post_request(anon, "json", key, description="又有垃圾").status_code == 403
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("open311", "revoke-key", "nope")
    with pytest.raises(CommandError):
        call_command("open311", "create-key", " ")


def test_admin_adds_an_application_showing_the_key_once_and_revokes(world):
    from tests.factories import UserFactory

    admin = Client()
    admin.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    response = admin.post(
        "/admin/open311/clientapplication/add/", {"name": "街道小程序"}, follow=True
    )
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    found = [re.search(r"o311_[0-9a-f]+_[A-Za-z0-9_-]+", m) for m in messages]
    key = next(m.group(0) for m in found if m is not None)
    assert post_request(Client(), "json", key).status_code == 201
    app = ClientApplication.objects.get(name="街道小程序")
    change = admin.get(f"/admin/open311/clientapplication/{app.pk}/change/")
    assert key not in change.content.decode()
    admin.post(
        "/admin/open311/clientapplication/",
        {"action": "revoke", "_selected_action": [app.pk]},
    )
    app.refresh_from_db()
    assert app.revoked_at is not None
    staff = Client()
    staff.force_login(UserFactory(username="clerk", is_staff=True))
    assert staff.get("/admin/open311/clientapplication/").status_code == 403


def test_demo_application_is_ensured_once_and_its_published_key_works(world):
    app, key = client_application_ensure_demo()
    assert key.startswith("o311_")
    again, same = client_application_ensure_demo()
    assert again.pk == app.pk and same == key
    assert ClientApplication.objects.count() == 1
    key_id, secret = ClientApplication.split_key(key) or ("", "")
    assert ClientApplication.objects.get(key_id=key_id).matches(secret)
