"""A rating only the reporter can give (issue 9 §1).

The tracking code follows a case; rating it needs the reporter's rating key (given once, on
the done page / in the create response, stored only hashed) or the reporter's own account.
Staff never rate as the resident; a hotline callback is the operator's own, recorded as one.
Everything goes through HTTP as the person who would do it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import translation

from gridlink.assessment.rollups import contributions_of
from gridlink.cases.models import Case, CaseEvent
from gridlink.open311.services import client_application_create
from gridlink.outbox.models import OutboxEntry
from tests.cases_support import act, build_world, ok, post_json, report, upload
from tests.open311_support import post_request

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
MONDAY_9 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
RATING = {"satisfaction": "satisfied", "solved": True}


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"), time_machine.travel(MONDAY_9, tick=False):
        yield


@pytest.fixture
def world(tree, personas):
    return build_world(tree, personas)


def fetch(client: Client, case: dict[str, Any]) -> dict[str, Any]:
    return ok(client.get(f"/api/v1/cases/{case['id']}"))


def close(world: Any, created: dict[str, Any]) -> dict[str, Any]:
    """Walk a case in grid A1-1 to `closed`: the grid worker handles it on the spot, a second
    grid worker verifies, the district dispatcher closes."""
    gw, disp = world.client("grid_worker"), world.client("district_disp")
    case = ok(act(gw, fetch(gw, created), "file_directly"))
    case = ok(act(gw, case, "handle_on_the_spot", evidence=[upload(gw)], result="已清理"))
    other = world.people["grid1b"]
    case = ok(act(disp, fetch(disp, case), "send_for_verification", verifier_id=other.pk))
    gw_b = world.client("grid1b")
    case = ok(act(gw_b, fetch(gw_b, case), "verify_pass"))
    case = ok(act(disp, fetch(disp, case), "close"))
    assert case["state"] == "closed"
    return case


def feedback(code: str, **body: Any) -> Any:
    return post_json(Client(), f"/api/v1/track/{code}/feedback", {**RATING, **body})


def error_code(response: Any) -> tuple[int, str, str]:
    first = response.json()["errors"][0]
    return response.status_code, first["code"], first["field"]


def test_the_reporter_gets_a_rating_key_once_and_only_its_hash_is_kept(world):
    created = ok(report(Client(), reporter_email="a@example.com"), 201)
    key, code = created["rating_key"], created["tracking_code"]
    assert key and code and key != code and len(key) == 16
    case = Case.objects.get(pk=created["id"])
    assert case.rating_key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in {str(v) for v in Case.objects.filter(pk=case.pk).values().get().values()}
    for entry in OutboxEntry.objects.all():  # neither webhooks nor the e-mail carry the key
        assert key not in f"{entry.payload} {entry.email_subject} {entry.email_body}"
    # Reading the case again never shows the key, not even to the signed-in world.
    assert "rating_key" not in str(fetch(world.client("district_disp"), created).get("events"))
    assert fetch(world.client("district_disp"), created).get("rating_key") is None

    anon = Client()
    body = {"category_code": "E0102", "description": "楼下垃圾没人清理已经好几天了",
            "lat": 35.85, "lon": 120.05, "reporter_phone": "13800138000"}  # fmt: skip
    first = ok(post_json(anon, "/api/v1/cases", body, HTTP_IDEMPOTENCY_KEY="k1"), 201)
    again = ok(post_json(anon, "/api/v1/cases", body, HTTP_IDEMPOTENCY_KEY="k1"), 201)
    assert again["id"] == first["id"] and again["tracking_code"] == first["tracking_code"]
    # The first answer may never have arrived: the replay gives a new key, the old one dies.
    assert (
        first["rating_key"] and again["rating_key"] and first["rating_key"] != again["rating_key"]
    )
    replayed = Case.objects.get(pk=first["id"])
    assert replayed.rating_key_matches(again["rating_key"])
    assert not replayed.rating_key_matches(first["rating_key"])


def test_knowing_the_tracking_code_is_not_enough_to_rate(world):
    created = ok(report(Client()), 201)
    code, key = created["tracking_code"], created["rating_key"]
    close(world, created)

    assert error_code(feedback(code)) == (400, "required", "rating_key")
    assert error_code(feedback(code, rating_key=code)) == (403, "rating_key_wrong", "rating_key")
    wrong = "23456789ABCDEFGH"
    assert error_code(feedback(code, rating_key=wrong)) == (403, "rating_key_wrong", "rating_key")
    # Another case's key does not rate this one.
    other = ok(report(Client(), description="另一处垃圾堆放，请尽快清理干净"), 201)
    refused = feedback(code, rating_key=other["rating_key"])
    assert error_code(refused) == (403, "rating_key_wrong", "rating_key")
    assert Case.objects.get(pk=created["id"]).state == "closed"
    assert not CaseEvent.objects.filter(case_id=created["id"], kind="rate").exists()

    public = ok(feedback(code, rating_key=key.lower()))  # typed in lower case: still the key
    assert public["state"] == "evaluated" and public["satisfaction"] == "satisfied"
    event = CaseEvent.objects.get(case_id=created["id"], kind="rate")
    assert (event.actor_id, event.actor_role) == (None, "resident")


@pytest.mark.parametrize(
    "person",
    ["grid_worker", "grid1b", "district_disp", "h_UM", "head_UM", "hotline", "comm_staff"],
)
def test_no_staff_member_can_rate_a_residents_case(world, person):
    created = ok(report(Client()), 201)
    close(world, created)
    # The closed case is the urban-management department's (its handler and head see it).
    Case.objects.filter(pk=created["id"]).update(
        unit_area=None, unit_department=world.departments["UM"]
    )
    client = world.client(person)
    case = fetch(client, created)
    assert "rate" not in case["allowed_actions"]
    response = act(client, case, "rate", **RATING)
    assert response.status_code == 403, response.content
    assert Case.objects.get(pk=created["id"]).state == "closed"


def test_a_staff_member_who_reported_on_duty_cannot_rate_their_own_case(world):
    gw = world.client("grid_worker")
    created = ok(report(gw, channel="grid_patrol", reporter_phone=""), 201)
    assert created["tracking_code"] is None and created["rating_key"] is None
    case = close(world, created)
    case = fetch(gw, case)
    assert "rate" not in case["allowed_actions"]
    assert act(gw, case, "rate", **RATING).status_code == 403


def test_the_signed_in_reporter_rates_with_their_account(world):
    resident = world.client("resident")
    created = ok(report(resident, reporter_phone=""), 201)
    close(world, created)
    case = fetch(resident, created)
    assert case["allowed_actions"] == ["rate"]
    assert case["tracking_code"] == created["tracking_code"]  # their own case: they see it
    case = ok(act(resident, case, "rate", **RATING))
    assert case["state"] == "evaluated"
    event = CaseEvent.objects.get(case_id=created["id"], kind="rate")
    assert (event.actor_id, event.actor_role) == (world.personas.resident.pk, "resident")


def test_a_hotline_callback_is_the_operators_and_counts_as_a_rating(world):
    hotline = world.client("hotline")
    created = ok(
        report(hotline, channel="hotline", external_number="12345-00000001",
               reporter_name="王小明"),
        201,
    )  # fmt: skip
    assert created["tracking_code"] is None and created["rating_key"] is None
    code = Case.objects.get(pk=created["id"]).tracking_code
    close(world, created)
    # No key exists for a hotline case: nobody rates it "as the resident".
    assert feedback(code, rating_key="23456789ABCDEFGH").status_code == 403
    case = fetch(hotline, created)
    assert "rate" in case["allowed_actions"]
    case = ok(act(hotline, case, "rate", satisfaction="dissatisfied", solved=False))
    event = CaseEvent.objects.get(case_id=created["id"], kind="rate")
    assert event.actor_id == world.people["hotline"].pk
    assert event.actor_role == "hotline_operator"
    assert event.data["callback"] is True and event.data["satisfaction"] == "dissatisfied"
    # The indicators read it as a rating of the case (rated, not satisfied, not solved).
    metrics = {key[3] for key in contributions_of(Case.objects.get(pk=created["id"]))}
    assert "rated" in metrics and "satisfied" not in metrics and "solved" not in metrics


def test_the_hotline_operator_cannot_call_back_on_a_residents_own_case(world):
    created = ok(report(Client()), 201)
    close(world, created)
    hotline = world.client("hotline")
    case = fetch(hotline, created)
    assert "rate" not in case["allowed_actions"]
    assert act(hotline, case, "rate", **RATING).status_code == 403


def test_the_tracking_page_asks_for_the_rating_key(world):
    anon = Client()
    response = anon.post(
        "/report/",
        {"category_code": "E0102", "description": "路边垃圾桶满了很久没人清运",
         "lat": 35.85, "lon": 120.05, "reporter_phone": "13800138000"},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    done = anon.get("/report/done/").content.decode()
    case = Case.objects.get()
    key = done.split('id="rating-key">')[1].split("<")[0].strip()
    assert case.rating_key_matches(key) and case.tracking_code in done
    close(world, {"id": case.pk})

    page = anon.get(f"/track/{case.tracking_code}/")
    assert 'name="rating_key"' in page.content.decode()
    form = {"satisfaction": "satisfied", "solved": "yes", "comment": ""}
    wrong = anon.post(f"/track/{case.tracking_code}/", {**form, "rating_key": case.tracking_code})
    assert wrong.status_code == 403
    case.refresh_from_db()
    assert case.state == "closed"
    right = anon.post(f"/track/{case.tracking_code}/", {**form, "rating_key": key})
    assert right.status_code == 302
    case.refresh_from_db()
    assert case.state == "evaluated"


def test_an_open311_application_gets_the_rating_key_once_for_its_reporter(world):
    api_key = client_application_create(actor=None, name="resident app")[1]
    response = post_request(Client(), "json", api_key)
    assert response.status_code == 201, response.content
    [body] = response.json()
    case = Case.objects.get(pk=int(body["service_request_id"]))
    assert body["token"] == case.tracking_code
    key = body["service_notice"].split("Rating key ")[1].split(":")[0]
    assert case.rating_key_matches(key) and key != case.tracking_code
    # The token lookup and the request itself never give the key out again.
    for url in (f"/open311/v2/tokens/{case.tracking_code}.json",
                f"/open311/v2/requests/{case.pk}.json"):  # fmt: skip
        assert key not in Client().get(url).content.decode()
    close(world, {"id": case.pk})
    assert feedback(case.tracking_code).status_code == 400
    assert ok(feedback(case.tracking_code, rating_key=key))["state"] == "evaluated"
