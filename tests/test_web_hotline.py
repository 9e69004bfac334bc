"""The hotline operator's pages (12345): entering a work order, dispatching it where the
district lets the operator (`GRIDLINK_HOTLINE_DISPATCH`), and the callbacks (回访)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from gridlink.accounts.roles import Role
from gridlink.cases.models import Case, CaseEvent
from gridlink.cases.services.hotline import HotlineOrder, hotline_order_enter
from gridlink.cases.services.intake import photo_upload
from gridlink.cases.services.transitions import case_allowed_actions, case_transition
from gridlink.core.errors import NotPermitted
from gridlink.core.models import AccessRecord
from tests.cases_support import A11, CATEGORY, build_world, png_bytes
from tests.factories import RoleAssignmentFactory, UserFactory

pytestmark = pytest.mark.django_db

PHONE = "13912345678"
HOTLINE_CATEGORY = "E0601"  # 热线投诉: has the `hotline_order_no` attribute (required)


@pytest.fixture
def world(tree, personas):
    return build_world(tree, personas)


def english(user: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def order_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "order_number": "12345-20261201-0001",
        "caller_name": "李四",
        "caller_phone": PHONE,
        "category_code": CATEGORY,
        "description": "来电反映：小区门口垃圾堆放三天无人清理",
        "lat": A11["lat"],
        "lon": A11["lon"],
    }
    data.update(overrides)
    return data


def enter(client: Client, **overrides: Any) -> Case:
    response = client.post("/cases/hotline/", order_data(**overrides))
    assert response.status_code == 302, response.content.decode()[:3000]
    case = Case.objects.order_by("-id").first()
    assert case is not None and response["Location"] == f"/cases/{case.pk}/"
    return case


def written() -> tuple[int, int]:
    return Case.objects.count(), CaseEvent.objects.count()


# --- Entry -------------------------------------------------------------------------------------


def test_operator_enters_an_order_and_sees_the_case_page_without_a_tracking_code(world):
    operator = world.people["hotline"]
    client = english(operator)
    form = client.get("/cases/hotline/")
    assert form.status_code == 200
    body = form.content.decode()
    for name in ("order_number", "caller_name", "caller_phone", "category_q", "description",
                 "lat", "lon", "address"):  # fmt: skip
        assert f'name="{name}"' in body
    assert "data-pin-kx" in body  # the map to pin the place on
    case = enter(client)
    assert (case.channel, case.state, case.external_number) == (
        "hotline", "reported", "12345-20261201-0001",
    )  # fmt: skip
    assert (case.reporter_name, case.reporter_phone) == ("李四", PHONE)
    assert case.grid == world.tree.grids[0]
    page = client.get(f"/cases/{case.pk}/", follow=True).content.decode()
    assert f"#{case.number}" in page
    assert case.tracking_code not in page
    assert PHONE not in page  # masked on the case page
    # Listed under the operator's own orders, without the code either.
    again = client.get("/cases/hotline/").content.decode()
    assert f"/cases/{case.pk}/" in again and case.tracking_code not in again


def test_the_order_number_is_entered_once_and_fills_the_attribute(world):
    client = english(world.people["hotline"])
    page = client.get("/cases/hotline/", {"category": HOTLINE_CATEGORY}).content.decode()
    assert f'value="{HOTLINE_CATEGORY}"' in page
    assert 'name="attr_hotline_order_no"' not in page  # not asked for twice
    chosen = client.get(f"/cases/hotline/categories/{HOTLINE_CATEGORY}/").content.decode()
    assert 'name="attr_hotline_order_no"' not in chosen and 'name="attr_remarks"' in chosen
    case = enter(client, category_code=HOTLINE_CATEGORY, order_number="12345-77")
    assert case.external_number == "12345-77"
    assert case.attributes["hotline_order_no"] == "12345-77"


def test_category_search_offers_links_back_to_the_entry_page(world):
    client = english(world.people["hotline"])
    found = client.get("/cases/hotline/categories/", {"category_q": "垃圾"}).content.decode()
    assert f'data-code="{CATEGORY}"' in found
    assert f'hx-get="/cases/hotline/categories/{CATEGORY}/"' in found
    assert client.get("/cases/hotline/categories/ZZ999/").status_code == 404


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"order_number": ""}, "order_number"),
        ({"order_number": "x" * 65}, "order_number"),
        ({"caller_phone": ""}, "caller_phone"),
        ({"caller_phone": "12345"}, "caller_phone"),
        ({"category_code": "E9999"}, "category_code"),
        ({"description": ""}, "description"),
        ({"lat": "", "lon": ""}, "lat"),
        ({"lat": "1.0", "lon": "1.0"}, "lat"),  # outside every grid
        ({"lat": "abc"}, "lat"),
        ({"lat": "", "lon": "", "address": "没有这个地址1号"}, "address"),
        ({"category_code": HOTLINE_CATEGORY, "attr_remarks": "a\x00b"}, None),
    ],
)
def test_bad_input_gets_field_errors_and_writes_nothing(world, overrides, field):
    client = english(world.people["hotline"])
    before = written()
    response = client.post("/cases/hotline/", order_data(**overrides))
    assert response.status_code in (200, 400), response.status_code
    if response.status_code == 200:
        form = response.context["form"]
        assert form.errors, overrides
        if field is not None:
            assert field in form.errors, (overrides, form.errors)
    assert written() == before


def test_a_duplicate_order_number_is_refused_on_its_field(world):
    client = english(world.people["hotline"])
    enter(client, order_number="12345-DUP")
    before = written()
    response = client.post("/cases/hotline/", order_data(order_number=" 12345-DUP "))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "order_number" in errors and "already" in errors["order_number"][0]
    assert written() == before
    # Through the API (the same intake) too, with the field named.
    api = Client()
    api.force_login(world.people["hotline"])
    body = {"channel": "hotline", "category_code": CATEGORY, "description": "重复工单",
            "external_number": "12345-DUP", **A11}  # fmt: skip
    refused = api.post("/api/v1/cases", body, content_type="application/json")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "external_number"
    assert written() == before


def test_a_mismatching_order_attribute_is_refused_through_the_api(world):
    api = Client()
    api.force_login(world.people["hotline"])
    body = {"channel": "hotline", "category_code": HOTLINE_CATEGORY, "description": "工单",
            "external_number": "12345-A", "attributes": {"hotline_order_no": "12345-B"},
            **A11}  # fmt: skip
    refused = api.post("/api/v1/cases", body, content_type="application/json")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "attributes.hotline_order_no"
    assert not Case.objects.exists()


@pytest.mark.parametrize("who", ["dispatcher", "grid_worker", "dept_handler", "resident"])
def test_other_roles_may_not_open_the_hotline_pages(world, who):
    client = english(getattr(world.personas, who))
    for url in ("/cases/hotline/", "/cases/hotline/callbacks/",
                f"/cases/hotline/categories/{CATEGORY}/"):  # fmt: skip
        assert client.get(url).status_code == 403, url
    before = written()
    assert client.post("/cases/hotline/", order_data()).status_code == 403
    assert written() == before
    assert Client().get("/cases/hotline/").status_code == 302  # to the sign-in page


def test_an_operator_of_another_area_cannot_enter_an_order_there(world):
    outsider = UserFactory(username="hotline_b")
    RoleAssignmentFactory(user=outsider, role=Role.HOTLINE_OPERATOR, area=world.tree.streets[1])
    before = written()
    response = english(outsider).post("/cases/hotline/", order_data())
    assert response.status_code == 403
    assert response.context["form"].non_field_errors()
    assert written() == before


# --- Dispatch or hand-over (GRIDLINK_HOTLINE_DISPATCH) -----------------------------------------


def test_by_default_the_order_waits_for_the_dispatcher(world, settings):
    settings.GRIDLINK_HOTLINE_DISPATCH = "dispatcher"
    operator = world.people["hotline"]
    case = enter(english(operator))
    assert case.state == "reported"
    assert case_allowed_actions(operator, case) == []
    board = english(world.people["district_disp"]).get("/cases/board/").content.decode()
    assert f"/cases/{case.pk}/" in board  # in the dispatcher's intake queue


def test_the_operator_dispatches_their_order_when_the_district_says_so(world, settings):
    settings.GRIDLINK_HOTLINE_DISPATCH = "operator"
    operator = world.people["hotline"]
    client = english(operator)
    response = client.post("/cases/hotline/", order_data(), follow=True)
    case = Case.objects.get()
    assert case.state == "reported"
    assert 'data-action="accept"' in response.content.decode()
    for action, data in (
        ("accept", {}),
        ("file", {}),
        ("dispatch", {"unit_id": f"department:{world.departments['UM'].pk}"}),
    ):
        case.refresh_from_db()
        page = client.get(f"/cases/{case.pk}/").content.decode()
        assert f'data-action="{action}"' in page and case.tracking_code not in page
        done = client.post(f"/cases/{case.pk}/act/{action}/", {"version": case.version, **data})
        assert done.status_code == 302, (action, done.content.decode()[:2000])
    case.refresh_from_db()
    assert (case.state, case.unit_department) == ("dispatched", world.departments["UM"])
    kinds = list(case.events.order_by("id").values_list("kind", "actor_role"))
    assert kinds == [("reported", "hotline_operator"), ("accept", "hotline_operator"),
                     ("file", "hotline_operator"), ("dispatch", "hotline_operator")]  # fmt: skip


@pytest.mark.parametrize("action", ["accept", "file", "dispatch"])
def test_in_dispatcher_mode_the_operator_page_offers_no_intake_step(world, settings, action):
    settings.GRIDLINK_HOTLINE_DISPATCH = "dispatcher"
    operator = world.people["hotline"]
    client = english(operator)
    case = enter(client)
    disp = world.people["district_disp"]
    for earlier in ("accept", "file")[: ("accept", "file", "dispatch").index(action)]:
        case = case_transition(actor=disp, case_id=case.pk, action=earlier,
                               version=case.version)  # fmt: skip
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert f'data-action="{action}"' not in page
    refused = client.post(f"/cases/{case.pk}/act/{action}/",
                          {"version": case.version, "unit_id": "auto"})  # fmt: skip
    assert refused.status_code == 403
    assert Case.objects.get(pk=case.pk).version == case.version


INTAKE_STEPS = ("accept", "file", "dispatch")  # each from the state the one before leads to


def _at(world: Any, channel: str, action: str) -> Case:
    """A case where `action` comes next: a 12345 order or a resident's report, taken
    through the earlier intake steps by the dispatcher."""
    if channel == "hotline":
        order = HotlineOrder(order_number=f"12345-{Case.objects.count()}", category_code=CATEGORY,
                             description="来电反映垃圾", caller_phone=PHONE, **A11)  # fmt: skip
        case = hotline_order_enter(actor=world.people["hotline"], order=order)
    else:
        from gridlink.cases.services.intake import Report, case_create

        report = Report(channel="resident_web", category_code=CATEGORY, description="垃圾",
                        reporter_phone=PHONE, **A11)  # fmt: skip
        case = case_create(actor=None, report=report).case
    for earlier in INTAKE_STEPS[: INTAKE_STEPS.index(action)]:
        case = case_transition(actor=world.people["district_disp"], case_id=case.pk,
                               action=earlier, version=case.version)  # fmt: skip
    return case


def _filed(world: Any, channel: str) -> Case:
    return _at(world, channel, "dispatch")


ROLE_USERS = {
    Role.HOTLINE_OPERATOR: lambda w: w.people["hotline"],
    Role.DISPATCHER: lambda w: w.people["district_disp"],
    Role.GRID_WORKER: lambda w: w.personas.grid_worker,
    Role.COMMUNITY_STAFF: lambda w: w.personas.community_staff,
    Role.SUPERVISOR: lambda w: w.personas.supervisor,
    Role.DEPT_HANDLER: lambda w: w.people["h_UM"],
    Role.ADMIN: lambda w: w.personas.admin,
}


@pytest.mark.parametrize("mode", ["dispatcher", "operator"])
@pytest.mark.parametrize("channel", ["hotline", "resident_web"])
@pytest.mark.parametrize("role", sorted(ROLE_USERS))
@pytest.mark.parametrize("action", INTAKE_STEPS)
def test_who_takes_the_intake_steps_role_by_setting(world, settings, mode, channel, role, action):
    """Offered exactly when taken: the dispatcher always; the hotline operator only on a
    12345 order with `operator`; no other role ever."""
    settings.GRIDLINK_HOTLINE_DISPATCH = mode
    case = _at(world, channel, action)
    user = ROLE_USERS[role](world)
    expected = role == Role.DISPATCHER or (
        role == Role.HOTLINE_OPERATOR and mode == "operator" and channel == "hotline"
    )
    assert (action in case_allowed_actions(user, case)) is expected
    inputs = {"unit_id": f"department:{world.departments['UM'].pk}"} if action == "dispatch" else {}
    if expected:
        done = case_transition(actor=user, case_id=case.pk, action=action,
                               version=case.version, inputs=inputs)  # fmt: skip
        assert done.state == {"accept": "accepted", "file": "filed",
                              "dispatch": "dispatched"}[action]  # fmt: skip
        assert done.events.latest("id").actor_role == role
    else:
        with pytest.raises(NotPermitted):
            case_transition(actor=user, case_id=case.pk, action=action,
                            version=case.version, inputs=inputs)  # fmt: skip
        assert Case.objects.get(pk=case.pk).version == case.version


def test_operator_dispatch_stays_within_the_operators_area(world, settings):
    settings.GRIDLINK_HOTLINE_DISPATCH = "operator"
    case = _filed(world, "hotline")
    outsider = UserFactory(username="hotline_b")
    RoleAssignmentFactory(user=outsider, role=Role.HOTLINE_OPERATOR, area=world.tree.streets[1])
    assert case_allowed_actions(outsider, case) == []
    with pytest.raises(NotPermitted):
        case_transition(actor=outsider, case_id=case.pk, action="dispatch",
                        version=case.version, inputs={"unit_id": "auto"})  # fmt: skip
    page = english(outsider).post(f"/cases/{case.pk}/act/dispatch/",
                                  {"version": case.version, "unit_id": "auto"})  # fmt: skip
    assert page.status_code == 404  # outside their scope: not found
    case.refresh_from_db()
    assert case.state == "filed"


# --- Callbacks (回访) ---------------------------------------------------------------------------


def _closed_hotline_case(world: Any) -> Case:
    case = _filed(world, "hotline")
    disp, handler = world.people["district_disp"], world.people["h_UM"]
    key = photo_upload(actor=handler, upload=png_bytes()).key
    steps = [
        (disp, "dispatch", {"unit_id": f"department:{world.departments['UM'].pk}"}),
        (handler, "sign_for", {}),
        (handler, "start_handling", {}),
        (handler, "submit_result", {"evidence": [key], "result": "已清运"}),
        (disp, "send_for_verification", {"verifier_id": world.people["grid1b"].pk}),
        (world.people["grid1b"], "verify_pass", {}),
        (disp, "close", {}),
    ]
    for actor, action, inputs in steps:
        case = case_transition(actor=actor, case_id=case.pk, action=action,
                               version=case.version, inputs=inputs)  # fmt: skip
    assert case.state == "closed" and case.callback_due_at is not None
    return case


def test_callback_queue_unmask_logged_and_callback_rating(world):
    case = _closed_hotline_case(world)
    operator = world.people["hotline"]
    client = english(operator)
    queue = client.get("/cases/hotline/callbacks/").content.decode()
    assert f"/cases/hotline/callbacks/{case.pk}/" in queue
    assert case.external_number in queue and case.tracking_code not in queue

    url = f"/cases/hotline/callbacks/{case.pk}/"
    page = client.get(url).content.decode()
    assert PHONE not in page and case.tracking_code not in page  # masked until unmasked
    # A purpose too short: refused on its field, nothing logged.
    short = client.post(url, {"step": "unmask", "purpose": "x"})
    assert short.status_code == 200 and "purpose" in short.context["unmask_form"].errors
    assert PHONE not in short.content.decode()
    assert not AccessRecord.objects.filter(subject_type="case_reporter").exists()
    shown = client.post(url, {"step": "unmask", "purpose": f"回访 case {case.pk}"})
    assert shown.status_code == 200 and PHONE in shown.content.decode()
    record = AccessRecord.objects.get(subject_type="case_reporter")
    assert (record.actor_username, record.subject_ids, record.outcome) == (
        "hotline", [case.pk], "success",
    )  # fmt: skip

    # Bad callback input: field errors, nothing written.
    events = case.events.count()
    bad = client.post(url, {"step": "rate", "version": case.version, "satisfaction": "meh"})
    assert bad.status_code == 400
    assert {"satisfaction", "solved"} <= set(bad.context["rate_form"].errors)
    assert case.events.count() == events
    done = client.post(url, {"step": "rate", "version": case.version,
                             "satisfaction": "satisfied", "solved": "yes",
                             "comment": "居民表示满意"})  # fmt: skip
    assert done.status_code == 302 and done["Location"] == "/cases/hotline/callbacks/"
    case.refresh_from_db()
    assert (case.state, case.satisfaction, case.solved, case.callback_due_at) == (
        "evaluated", "satisfied", True, None,
    )  # fmt: skip
    event = case.events.get(kind="rate")
    assert (event.actor_id, event.actor_role, event.data["callback"]) == (
        operator.pk, "hotline_operator", True,
    )  # fmt: skip
    # Done: off the queue, and its callback page is gone.
    assert (
        f"/cases/hotline/callbacks/{case.pk}/"
        not in client.get("/cases/hotline/callbacks/").content.decode()
    )
    assert client.get(url).status_code == 404


def test_a_stale_callback_is_refused_and_writes_nothing(world):
    case = _closed_hotline_case(world)
    client = english(world.people["hotline"])
    url = f"/cases/hotline/callbacks/{case.pk}/"
    stale = client.post(url, {"step": "rate", "version": case.version - 1,
                              "satisfaction": "satisfied", "solved": "yes"})  # fmt: skip
    assert stale.status_code == 302 and stale["Location"] == url
    case.refresh_from_db()
    assert case.state == "closed" and not case.events.filter(kind="rate").exists()


def test_others_may_not_call_back(world):
    case = _closed_hotline_case(world)
    url = f"/cases/hotline/callbacks/{case.pk}/"
    for user in (world.people["district_disp"], world.people["h_UM"], world.personas.supervisor):
        client = english(user)
        assert client.get(url).status_code == 403
        assert client.post(url, {"step": "rate", "version": case.version,
                                 "satisfaction": "satisfied", "solved": "yes"}
                           ).status_code == 403  # fmt: skip
    outsider = UserFactory(username="hotline_b")
    RoleAssignmentFactory(user=outsider, role=Role.HOTLINE_OPERATOR, area=world.tree.streets[1])
    assert english(outsider).get(url).status_code == 404  # outside their area
    assert (
        f"/cases/hotline/callbacks/{case.pk}/"
        not in english(outsider).get("/cases/hotline/callbacks/").content.decode()
    )
    case.refresh_from_db()
    assert case.state == "closed"
    assert not AccessRecord.objects.filter(subject_type="case_reporter").exists()


def test_the_nav_links_the_operator_pages(world):
    body = english(world.people["hotline"]).get("/cases/").content.decode()
    assert 'href="/cases/hotline/"' in body and 'href="/cases/hotline/callbacks/"' in body
    other = english(world.people["district_disp"]).get("/cases/").content.decode()
    assert 'href="/cases/hotline/"' not in other
