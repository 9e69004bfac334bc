"""Reporter privacy (issue 9 §1 and §5): the tracking code never reaches staff, the reporter's
contact details are masked everywhere and unmasked only with the permission and a purpose
(logged), and birth years only reach those who may see the minor-under-14 tag.

The sweeping test creates cases through HTTP, keeps their tracking codes, then reads every
staff API response, staff page and outbox payload and looks for any of the codes.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.utils import translation

from gridlink.accounts.roles import Role
from gridlink.cases.models import Case
from gridlink.core.models import AccessRecord
from gridlink.outbox.models import OutboxEntry
from gridlink.registry.masking import mask_phone
from gridlink.registry.present import age_band
from tests.cases_support import act, build_world, ok, post_json, report
from tests.factories import ResidentFactory, TagFactory, UserFactory

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
MONDAY_9 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
PHONE = "13912345678"
EMAIL = "wang.xiaoming@example.com"
STAFF = ["grid_worker", "grid1b", "district_disp", "hotline", "comm_staff", "h_UM", "supervisor"]


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"), time_machine.travel(MONDAY_9, tick=False):
        yield


@pytest.fixture
def world(tree, personas):
    return build_world(tree, personas)


def test_no_staff_response_page_or_webhook_carries_a_tracking_code(world):
    anon = Client()
    first = ok(
        report(anon, reporter_name="王小明", reporter_phone=PHONE, reporter_email=EMAIL), 201
    )
    # A second report of the same problem nearby: the duplicate offer names no code.
    second = ok(report(anon, description="小区门口垃圾堆放三天无人清理，气味很大！"), 201)
    assert first["id"] in [d["id"] for d in second["possible_duplicates"]]
    assert first["tracking_code"] not in str(second)
    mine = ok(report(world.client("resident"), reporter_phone=""), 201)
    hotline = ok(report(world.client("hotline"), channel="hotline", external_number="12345-1"), 201)
    patrol = ok(report(world.client("grid_worker"), channel="grid_patrol", reporter_phone=""), 201)
    codes = set(Case.objects.values_list("tracking_code", flat=True))
    assert len(codes) == 5
    assert hotline["tracking_code"] is None and patrol["tracking_code"] is None

    # Staff steps: merge the duplicate (a merged-case link), a supervision order on a case.
    disp = world.client("district_disp")
    parent = ok(act(disp, ok(disp.get(f"/api/v1/cases/{first['id']}")), "accept"))
    child = ok(disp.get(f"/api/v1/cases/{second['id']}"))
    ok(act(disp, child, "merge", parent_case_id=parent["id"]))
    supervisor = world.client("supervisor")
    order = post_json(supervisor, "/api/v1/supervision/orders",
                      {"case_id": first["id"], "instructions": "请三日内处理完毕并回复",
                       "deadline_days": 3})  # fmt: skip
    assert order.status_code == 201, order.content

    ids = [first["id"], second["id"], mine["id"], hotline["id"], patrol["id"]]
    bodies: list[tuple[str, str]] = []
    for person in STAFF:
        client = world.client(person)
        urls = ["/api/v1/cases", "/api/v1/supervision/orders", "/cases/", "/cases/board/",
                "/cases/inbox/", "/cases/patrol/"]  # fmt: skip
        for pk in ids:
            urls += [f"/api/v1/cases/{pk}", f"/api/v1/cases/{pk}/duplicates", f"/cases/{pk}/"]
        for url in urls:
            response = client.get(url)
            if response.status_code == 200:
                bodies.append((f"{person} {url}", response.content.decode()))
    assert len(bodies) > 40  # the sweep read real pages, not only refusals
    root = Client()
    root.force_login(UserFactory(username="root2", is_staff=True, is_superuser=True))
    for url in ["/admin/cases/case/", f"/admin/cases/case/{first['id']}/change/"]:
        response = root.get(url)
        assert response.status_code == 200
        bodies.append((url, response.content.decode()))
    for entry in OutboxEntry.objects.all():
        bodies.append((f"outbox payload {entry.topic}", str(entry.payload)))
        if EMAIL not in entry.emails:  # only the reporter's own e-mail may name their code
            bodies.append((f"outbox e-mail {entry.topic}", entry.email_subject + entry.email_body))
    for where, body in bodies:
        for code in codes:
            assert code not in body, (where, code)

    # The reporter still sees their own code: their case through the API, the tracking page.
    own = ok(world.client("resident").get(f"/api/v1/cases/{mine['id']}"))
    assert own["tracking_code"] == mine["tracking_code"]
    listed = ok(world.client("resident").get("/api/v1/cases"))
    assert [c["tracking_code"] for c in listed["items"]] == [mine["tracking_code"]]
    tracked = ok(Client().get(f"/api/v1/track/{second['tracking_code']}"))
    assert tracked["merged_into"] == str(first["id"])  # the parent's number, not its code
    assert first["tracking_code"] not in str(tracked)
    mails = [e for e in OutboxEntry.objects.all() if EMAIL in e.emails]
    assert mails and all(first["tracking_code"] in e.email_subject for e in mails)


def test_the_staff_case_page_and_api_show_the_reporter_masked(world):
    created = ok(report(Client(), reporter_name="王小明", reporter_phone=PHONE,
                        reporter_email=EMAIL), 201)  # fmt: skip
    for person in ("district_disp", "grid_worker", "hotline"):
        client = world.client(person)
        page = client.get(f"/cases/{created['id']}/").content.decode()
        api = client.get(f"/api/v1/cases/{created['id']}")
        for body in (page, api.content.decode()):
            assert PHONE not in body and EMAIL not in body and "王小明" not in body
        assert mask_phone(PHONE) in page and "w***@example.com" in page and "王**" in page
        assert ok(api)["reporter"] == {
            "anonymous": False,
            "name": "王**",
            "has_email": True,
            "phone": "139****5678",
            "email": "w***@example.com",
        }
    assert mask_phone(PHONE) == "139****5678"  # the one rule the registry uses too


def test_unmasking_the_reporter_needs_the_permission_and_a_purpose_and_is_logged(world):
    created = ok(report(Client(), reporter_name="王小明", reporter_phone=PHONE), 201)
    url = f"/api/v1/cases/{created['id']}/reporter/unmask"
    disp = world.client("district_disp")

    short = post_json(disp, url, {"purpose": "x"})
    assert short.status_code == 400 and short.json()["errors"][0]["field"] == "purpose"
    assert not AccessRecord.objects.exists()  # nothing written for a refused input

    revealed = ok(post_json(disp, url, {"purpose": f"callback on case {created['id']}"}))
    assert revealed == {"name": "王小明", "phone": PHONE, "email": ""}
    record = AccessRecord.objects.get()
    assert (record.kind, record.subject_type, record.subject_ids, record.outcome) == (
        "unmask", "case_reporter", [created["id"]], "success",
    )  # fmt: skip
    assert record.actor_username == "district_disp"

    # A department handler (no unmask permission) is refused, and the attempt is logged.
    Case.objects.filter(pk=created["id"]).update(
        unit_area=None, unit_department=world.departments["UM"]
    )
    handler = world.client("h_UM")
    denied = post_json(handler, url, {"purpose": "want to call them"})
    assert denied.status_code == 403 and PHONE not in denied.content.decode()
    assert AccessRecord.objects.filter(outcome="denied", actor_username="h_UM").count() == 1
    page = handler.get(f"/cases/{created['id']}/").content.decode()
    assert "Show the contact details" not in page

    # The button on the staff case page, with a purpose.
    form = disp.post(f"/cases/{created['id']}/reporter/unmask/", {"purpose": "回访核实处理结果"})
    assert form.status_code == 200 and PHONE in form.content.decode()
    assert AccessRecord.objects.filter(kind="unmask", purpose="回访核实处理结果").count() == 1
    empty = disp.post(f"/cases/{created['id']}/reporter/unmask/", {"purpose": ""})
    assert empty.status_code == 400 and PHONE not in empty.content.decode()


def test_birth_years_only_for_those_who_may_see_the_minor_tag(world):
    TagFactory(code="minor_under_14", name_zh="未成年人(14岁以下)", sensitive=True,
               granted_roles=[Role.COMMUNITY_STAFF])  # fmt: skip
    born = dt.date(2015, 6, 1)
    resident = ResidentFactory(grid=world.tree.grids[0], birth_date=born, phone="")
    band = age_band(born, dt.date(2026, 3, 2))
    assert band == "0-17"
    url = f"/api/v1/registry/residents/{resident.pk}"
    seen = ok(world.client("comm_staff").get(url))
    assert seen["birth_year"] == 2015 and seen["age_band"] == band
    for person in ("grid_worker", "district_disp"):
        row = ok(world.client(person).get(url))
        assert row["birth_year"] is None and row["age_band"] == band, person
        listed = world.client(person).get("/api/v1/registry/residents").content.decode()
        assert "2015" not in listed
        page = world.client(person).get(f"/registry/residents/{resident.pk}/").content.decode()
        assert "2015" not in page and band in page
