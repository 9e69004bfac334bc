"""Intake through the real API: every channel, tracking, Idempotency-Key, bad input,
duplicates and merging, and the public rate limit (SPEC §3 "Intake channels", §6)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import translation
from PIL import Image

from gridlink.cases.models import Case, CaseEvent, CasePhoto
from gridlink.outbox.models import OutboxEntry
from tests.cases_support import A11, act, build_world, ok, post_json, report, upload
from tests.factories import BuildingFactory

URL = "/api/v1/cases"
# About 30 m and 500 m north of A11 (1° of latitude ≈ 111.3 km).
NEAR = {"lat": A11["lat"] + 30 / 111_320, "lon": A11["lon"]}
FAR = {"lat": A11["lat"] + 500 / 111_320, "lon": A11["lon"]}
SIMILAR = "小区门口垃圾堆放好几天无人清理，气味很大"
DISSIMILAR = "人行道上的树枝被风刮断挡住通行"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def world(tree, personas):
    return build_world(tree, personas)


def counts() -> dict[str, int]:
    return {
        "cases": Case.objects.count(),
        "events": CaseEvent.objects.count(),
        "photos": CasePhoto.objects.count(),
        "outbox": OutboxEntry.objects.count(),
    }


def refused(response: Any, status: int, field: str | None = None, code: str | None = None):
    assert response.status_code == status, (response.status_code, response.content[:600])
    body = response.json()
    assert "detail" in body
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    if code is not None:
        assert code in [e["code"] for e in body["errors"]], body
    return body


# --- Channels and location -------------------------------------------------------------------


@pytest.mark.django_db
def test_anonymous_resident_with_contact(world):
    created = ok(report(Client()), 201)
    case = Case.objects.get(pk=created["id"])
    assert case.channel == "resident_web"
    assert case.reporter is None
    assert not case.anonymous
    assert case.reporter_phone == "13800138000"
    assert created["grid_id"] == world.tree.grids[0].pk


@pytest.mark.django_db
def test_anonymous_flag_needs_no_contact(world):
    created = ok(report(Client(), reporter_phone="", anonymous=True), 201)
    case = Case.objects.get(pk=created["id"])
    assert case.anonymous
    assert case.reporter is None
    assert case.reporter_phone == ""


@pytest.mark.django_db
def test_anonymous_without_flag_or_contact_is_refused(world):
    before = counts()
    refused(report(Client(), reporter_phone=""), 400, field="reporter_phone", code="required")
    assert counts() == before


@pytest.mark.django_db
def test_signed_in_resident_reports_as_themselves(world):
    resident = world.client("resident")
    created = ok(report(resident, reporter_phone=""), 201)
    case = Case.objects.get(pk=created["id"])
    assert case.reporter == world.personas.resident
    assert case.grid == world.tree.grids[0]
    event = CaseEvent.objects.get(case=case)
    assert (event.kind, event.actor_role) == ("reported", "resident")


@pytest.mark.django_db
def test_grid_patrol_by_the_grid_worker(world):
    created = ok(report(world.client("grid_worker"), channel="grid_patrol"), 201)
    case = Case.objects.get(pk=created["id"])
    assert case.channel == "grid_patrol"
    assert case.reporter == world.personas.grid_worker
    assert "file_directly" in created["allowed_actions"]


@pytest.mark.django_db
def test_grid_patrol_is_refused_to_a_resident(world):
    before = counts()
    response = report(world.client("resident"), channel="grid_patrol")
    refused(response, 403, field="channel", code="channel_not_permitted")
    assert counts() == before


@pytest.mark.django_db
def test_hotline_order_with_its_external_number(world):
    created = ok(report(world.client("hotline"), channel="hotline", external_number="12345-0001"),
                 201)  # fmt: skip
    assert created["channel"] == "hotline"
    assert created["external_number"] == "12345-0001"


@pytest.mark.django_db
def test_hotline_order_without_external_number(world):
    before = counts()
    refused(report(world.client("hotline"), channel="hotline"), 400, field="external_number",
            code="required")  # fmt: skip
    assert counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize("channel", ["higher_authority", "sensor"])
def test_dispatcher_channels(world, channel):
    created = ok(report(world.client("district_disp"), channel=channel, external_number="X-9"),
                 201)  # fmt: skip
    assert created["channel"] == channel
    assert Case.objects.get(pk=created["id"]).channel == channel


@pytest.mark.django_db
@pytest.mark.parametrize("channel", ["hotline", "higher_authority", "sensor"])
def test_staff_channels_are_refused_to_the_public(world, channel):
    before = counts()
    refused(report(Client(), channel=channel, external_number="X-1"), 403, field="channel")
    assert counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize("by", ["building_code", "address"])
def test_location_by_standard_address(world, by):
    grid = world.tree.grids[3]  # A2-2: lon 120.1–120.2, lat 35.9–36.0
    building = BuildingFactory(grid=grid, lat=35.95, lon=120.15)
    where = (
        {"building_code": building.address_code}
        if by == "building_code"
        else {"address": building.address}
    )
    created = ok(report(Client(), lat=None, lon=None, **where), 201)
    assert created["grid_id"] == grid.pk
    case = Case.objects.get(pk=created["id"])
    assert (case.lat, case.lon) == (35.95, 120.15)
    assert case.building == building
    assert case.address == building.address


@pytest.mark.django_db
def test_unknown_standard_address(world):
    before = counts()
    refused(report(Client(), lat=None, lon=None, building_code="NOPE"), 400, field="address")
    assert counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize(("lat", "lon", "index"), [(35.85, 120.15, 1), (35.95, 120.35, 7)])
def test_location_by_point_finds_the_grid(world, lat, lon, index):
    created = ok(report(Client(), lat=lat, lon=lon), 201)
    assert created["grid_id"] == world.tree.grids[index].pk


# --- Tracking --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_tracking_code_shows_only_the_public_timeline(world):
    anon = Client()
    created = ok(report(anon), 201)
    code = created["tracking_code"]
    assert len(code) == 12
    assert code.isalnum() and code.upper() == code

    disp = world.client("district_disp")
    case = ok(act(disp, created, "accept"))
    case = ok(act(disp, case, "file"))
    case = ok(act(disp, case, "dispatch", unit_id=f"department:{world.departments['UM'].pk}"))
    um = world.client("h_UM")
    case = ok(act(um, case, "return_not_our_duty", reason="不属于本局职责，内部说明"))
    assert case["state"] == "returned"
    assert "return_not_our_duty" in [e["kind"] for e in case["events"]]

    public = ok(Client().get(f"/api/v1/track/{code}"))
    kinds = [e["kind"] for e in public["timeline"]]
    assert kinds[:4] == ["reported", "accept", "file", "dispatch"]
    assert "return_not_our_duty" not in kinds
    assert "不属于本局职责" not in json.dumps(public, ensure_ascii=False)
    assert public["tracking_code"] == code
    assert "reporter_phone" not in public


@pytest.mark.django_db
def test_unknown_tracking_code_is_404(world):
    assert Client().get("/api/v1/track/ZZZZZZZZZZZZ").status_code == 404


# --- Idempotency-Key -------------------------------------------------------------------------


@pytest.mark.django_db
def test_same_key_same_body_replays(world):
    anon = Client()
    body = {"channel": "resident_web", "category_code": "E0102", "description": SIMILAR,
            **A11, "reporter_phone": "13800138000"}  # fmt: skip
    one = post_json(anon, URL, body, HTTP_IDEMPOTENCY_KEY="retry-1")
    created = ok(one, 201)
    assert "Idempotent-Replayed" not in one
    after_first = counts()
    two = post_json(anon, URL, body, HTTP_IDEMPOTENCY_KEY="retry-1")
    again = ok(two, 201)
    assert two["Idempotent-Replayed"] == "true"
    assert again["id"] == created["id"]
    assert again["tracking_code"] == created["tracking_code"]
    assert counts() == after_first
    assert Case.objects.count() == 1
    assert CaseEvent.objects.filter(case_id=created["id"]).count() == 1


@pytest.mark.django_db
def test_same_key_different_body_is_refused(world):
    anon = Client()
    body = {"channel": "resident_web", "category_code": "E0102", "description": SIMILAR,
            **A11, "reporter_phone": "13800138000"}  # fmt: skip
    ok(post_json(anon, URL, body, HTTP_IDEMPOTENCY_KEY="retry-2"), 201)
    before = counts()
    changed = {**body, "description": "另一件事：路灯不亮"}
    response = post_json(anon, URL, changed, HTTP_IDEMPOTENCY_KEY="retry-2")
    assert 400 <= response.status_code < 500
    assert "Idempotency-Key" in [e["field"] for e in response.json()["errors"]]
    assert counts() == before


@pytest.mark.django_db
def test_same_key_from_different_callers_does_not_collide(world):
    body = {"channel": "resident_web", "category_code": "E0102", "description": SIMILAR,
            **A11, "reporter_phone": "13800138000"}  # fmt: skip
    anon = ok(post_json(Client(), URL, body, HTTP_IDEMPOTENCY_KEY="k"), 201)
    signed = post_json(world.client("resident"), URL, body, HTTP_IDEMPOTENCY_KEY="k")
    mine = ok(signed, 201)
    assert "Idempotent-Replayed" not in signed
    assert mine["id"] != anon["id"]
    other_ip = post_json(Client(REMOTE_ADDR="10.1.2.3"), URL, body, HTTP_IDEMPOTENCY_KEY="k")
    assert ok(other_ip, 201)["id"] not in (anon["id"], mine["id"])
    assert Case.objects.count() == 3


# --- Bad input: 4xx naming the field, nothing written ------------------------------------------


def _png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, format="PNG")
    return buffer.getvalue()


BAD_REPORTS = {
    "unknown category": ({"category_code": "Z9999"}, "category_code"),
    "missing required attribute": (
        {"category_code": "C0101", "attributes": {"damage": "missing"}},
        "attributes.cover_type",
    ),
    "wrong attribute value": (
        {"category_code": "C0101", "attributes": {"cover_type": "plastic", "damage": "missing"}},
        "attributes.cover_type",
    ),
    "wrong attribute type": ({"attributes": {"found_at": "yesterday"}}, "attributes.found_at"),
    "unknown attribute": ({"attributes": {"colour": "red"}}, "attributes.colour"),
    "point outside the district": ({"lat": 10.0, "lon": 10.0}, "lat"),
    "no location": ({"lat": None, "lon": None}, "lat"),
    "description too long": ({"description": "垃" * 5000}, "description"),
    "empty description": ({"description": "   "}, "description"),
    "bad phone": ({"reporter_phone": "12345"}, "reporter_phone"),
    "bad e-mail": ({"reporter_email": "not-an-address"}, "reporter_email"),
    "unknown channel": ({"channel": "pigeon"}, "channel"),
    "title too long": ({"title": "标" * 101}, "title"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(BAD_REPORTS))
def test_bad_report_is_refused_and_nothing_is_written(world, name):
    overrides, field = BAD_REPORTS[name]
    before = counts()
    response = report(Client(), **overrides)
    refused(response, 400, field=field)
    assert counts() == before


@pytest.mark.django_db
def test_several_bad_fields_are_all_named(world):
    response = report(Client(), category_code="Z9999", lat=10.0, lon=10.0, description="")
    fields = {e["field"] for e in refused(response, 400)["errors"]}
    assert {"category_code", "lat", "description"} <= fields


@pytest.mark.django_db
def test_text_file_renamed_jpg_is_not_an_image(world):
    before = counts()
    fake = SimpleUploadedFile("photo.jpg", b"just some text, not a JPEG\n" * 20, "image/jpeg")
    refused(Client().post("/api/v1/uploads", {"file": fake}), 400, code="not_an_image")
    assert counts() == before


@pytest.mark.django_db
def test_fifty_megapixel_png_is_too_many_pixels(world):
    data = _png((10_000, 5_000), mode="1")
    assert len(data) < 1_000_000  # tiny on disk: the pixel count, not the size, refuses it
    before = counts()
    big = SimpleUploadedFile("big.png", data, "image/png")
    refused(Client().post("/api/v1/uploads", {"file": big}), 400, code="too_many_pixels")
    assert counts() == before


@pytest.mark.django_db
def test_a_photo_key_is_used_once(world):
    anon = Client()
    key = upload(anon)
    first = ok(report(anon, photo_keys=[key]), 201)
    assert [p["key"] for p in first["photos"]] == [key]
    before = counts()
    response = report(anon, photo_keys=[key], description="同一张照片再报一次")
    refused(response, 400, field="photo_keys")
    assert counts() == before
    assert CasePhoto.objects.get(key=key).case_id == first["id"]


@pytest.mark.django_db
def test_unknown_photo_key(world):
    before = counts()
    refused(report(Client(), photo_keys=["0" * 32]), 400, field="photo_keys")
    assert counts() == before


@pytest.mark.django_db
def test_malformed_json_is_a_client_error(world):
    before = counts()
    response = Client().post(
        URL, data='{"channel": "resident_web", ', content_type="application/json"
    )
    assert 400 <= response.status_code < 500, response.status_code
    assert counts() == before


@pytest.mark.django_db
def test_wrong_json_types_are_a_client_error(world):
    before = counts()
    response = report(Client(), lat="north", attributes=["not", "an", "object"])
    assert 400 <= response.status_code < 500, response.status_code
    assert counts() == before


# --- Bad input on transitions ----------------------------------------------------------------


@pytest.fixture
def reported(world):
    """A reported case as the district dispatcher sees it, and that dispatcher's client."""
    created = ok(report(Client()), 201)
    disp = world.client("district_disp")
    return ok(disp.get(f"{URL}/{created['id']}")), disp


def _action(client: Client, case: dict[str, Any], action: str, body: Any, **headers: str):
    url = f"{URL}/{case['id']}/actions/{action}"
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(url, data=data, content_type="application/json", **headers)


@pytest.mark.django_db
def test_stale_version_is_409_with_the_current_case(reported):
    case, disp = reported
    accepted = ok(act(disp, case, "accept"))
    before = counts()
    body = refused(act(disp, case, "invalidate", reason="重复"), 409, field="version",
                   code="stale_version")  # fmt: skip
    assert body["current"]["version"] == accepted["version"] == case["version"] + 1
    assert body["current"]["state"] == "accepted"
    assert counts() == before


@pytest.mark.django_db
def test_stale_if_match_is_412(reported):
    case, disp = reported
    etag = disp.get(f"{URL}/{case['id']}")["ETag"]
    ok(act(disp, case, "accept"))
    before = counts()
    response = _action(disp, case, "file", {}, HTTP_IF_MATCH=etag)
    body = refused(response, 412, code="stale_version")
    assert body["current"]["version"] == case["version"] + 1
    assert response["ETag"] != etag
    assert counts() == before


@pytest.mark.django_db
def test_if_match_current_etag_succeeds(reported):
    case, disp = reported
    etag = disp.get(f"{URL}/{case['id']}")["ETag"]
    response = _action(disp, case, "accept", {}, HTTP_IF_MATCH=etag)
    assert ok(response)["state"] == "accepted"


@pytest.mark.django_db
def test_no_version_is_428(reported):
    case, disp = reported
    before = counts()
    refused(_action(disp, case, "accept", {}), 428, field="version", code="version_required")
    assert counts() == before
    assert Case.objects.get(pk=case["id"]).state == "reported"


@pytest.mark.django_db
def test_action_not_allowed_in_this_state_is_409(reported):
    case, disp = reported
    before = counts()
    refused(act(disp, case, "close"), 409, field="action", code="action_not_allowed")
    assert counts() == before


@pytest.mark.django_db
def test_unknown_action_is_400(reported):
    case, disp = reported
    before = counts()
    refused(act(disp, case, "teleport"), 400, field="action")
    assert counts() == before


@pytest.mark.django_db
def test_missing_required_input_is_400(reported):
    case, disp = reported
    before = counts()
    refused(act(disp, case, "invalidate"), 400, field="reason", code="required")
    refused(act(disp, case, "invalidate", reason="   "), 400, field="reason", code="required")
    assert counts() == before
    assert Case.objects.get(pk=case["id"]).version == case["version"]


@pytest.mark.django_db
def test_malformed_json_on_a_transition_is_a_client_error(reported):
    case, disp = reported
    before = counts()
    response = _action(disp, case, "accept", '{"version": ')
    assert 400 <= response.status_code < 500, response.status_code
    assert counts() == before


@pytest.mark.django_db
def test_bad_if_match_is_400(reported):
    case, disp = reported
    before = counts()
    refused(_action(disp, case, "accept", {}, HTTP_IF_MATCH="garbage"), 400, field="If-Match")
    assert counts() == before


# --- Duplicates and merging ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_near_similar_report_is_offered_as_a_duplicate(world):
    first = ok(report(Client()), 201)
    assert first["possible_duplicates"] == []
    second = ok(report(Client(), description=SIMILAR, **NEAR), 201)
    offered = {d["id"]: d for d in second["possible_duplicates"]}
    assert first["id"] in offered
    assert 20 <= offered[first["id"]]["distance_m"] <= 40


@pytest.mark.django_db
@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"description": SIMILAR, **FAR}, id="500m-away"),
        pytest.param(
            {"description": SIMILAR, "category_code": "E0103", **NEAR}, id="other-category"
        ),
        pytest.param({"description": DISSIMILAR, **NEAR}, id="dissimilar-text"),
    ],
)
def test_not_a_duplicate(world, overrides):
    first = ok(report(Client()), 201)
    second = ok(report(Client(), **overrides), 201)
    assert first["id"] not in [d["id"] for d in second["possible_duplicates"]]


@pytest.mark.django_db
def test_dispatcher_merges_and_the_child_follows_the_parent(world):
    anon = Client()
    parent = ok(report(anon), 201)
    child = ok(report(anon, description=SIMILAR, **NEAR), 201)
    assert parent["id"] in [d["id"] for d in child["possible_duplicates"]]

    disp = world.client("district_disp")
    parent_case = ok(disp.get(f"{URL}/{parent['id']}"))
    ok(act(disp, parent_case, "accept"))
    child_case = ok(disp.get(f"{URL}/{child['id']}"))
    assert "merge" in child_case["allowed_actions"]
    merged = ok(act(disp, child_case, "merge", parent_case_id=parent["id"]))
    assert merged["state"] == "merged"

    public = ok(Client().get(f"/api/v1/track/{child['tracking_code']}"))
    assert public["merged_into"] == str(parent["id"])  # the case number, not its code
    assert public["state"] == "accepted"  # the parent's state
    parent_events = [e for e in public["timeline"] if e["merged_case"]]
    assert [e["kind"] for e in parent_events] == ["reported", "accept"]
    assert not public["can_rate"]
    # The parent's own tracking page does not show the child.
    parent_public = ok(Client().get(f"/api/v1/track/{parent['tracking_code']}"))
    assert parent_public["merged_into"] is None


@pytest.mark.django_db
def test_merge_needs_an_open_parent(reported):
    case, disp = reported
    before = counts()
    refused(act(disp, case, "merge", parent_case_id=case["id"]), 400, field="parent_case_id")
    refused(act(disp, case, "merge", parent_case_id=999_999), 400, field="parent_case_id")
    assert counts() == before


# --- Rate limit ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_public_intake_is_rate_limited_per_client(world, settings):
    settings.GRIDLINK_INTAKE_RATE_PER_HOUR = 2
    anon = Client()
    ok(report(anon), 201)
    ok(report(anon, description="第二次上报"), 201)
    before = counts()
    third = report(anon, description="第三次上报")
    refused(third, 429, code="rate_limited")
    assert int(third["Retry-After"]) > 0
    assert int(third["Retry-After"]) <= 3600
    assert counts() == before
    elsewhere = report(Client(REMOTE_ADDR="10.9.8.7"), description="另一个地址的上报")
    ok(elsewhere, 201)
